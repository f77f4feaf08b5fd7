import { fork } from 'node:child_process';
import { request as httpRequest, Agent } from 'node:http';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { appendOutbound } from '../../src/app/append-outbound.js';
import { receiveWebhook } from '../../src/app/receive-webhook.js';
import { parseMetaWebhook } from '../../src/providers/meta/meta.webhook.js';
import { openStore } from '../../src/store/database.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { metaTextPayload } from '../../test/support/app.js';
import { bareLoop as benchBareLoop, FakeGraph } from '../scenarios/outbound.js';

/*
 * `tsx bench/probe/outbox-ceiling.ts [messages] [concurrency] [prefetch]`: how fast THIS machine can
 * deliver durable outbound messages at all, with the outbox's two commits per message written as
 * well as SQL allows — the ceiling the outbox's 0.6× goal (issue 11) is measured against.
 *
 * The same database as the server (migrations, real conversations opened by Meta webhooks, the
 * messages written by appendOutbound), then a loop on better-sqlite3 directly, no Kysely, no
 * group committer, no job runner: each cycle is ONE transaction (synchronous=FULL) that records
 * every outcome that came back since the last cycle — the messages `sent` in one UPDATE … FROM
 * json_each, their jobs done in one statement, their `message_updated` events in one INSERT … SELECT
 * — and claims the next jobs for the free slots (one statement), reads their messages, windows and
 * recipients with the order check (one statement) and writes the start markers (one statement).
 * Then the calls, at most `concurrency` at once, to a fake of Meta's send endpoint in a child
 * process (the bench's FakeGraph) answering at once; `prefetch` jobs more are claimed ahead.
 * Beside it, in the same run, the bare loop (the same calls, nothing stored): against the same fake
 * process, and the bench's own bareLoop against a FakeGraph in this process, as
 * bench/scenarios/outbound.ts runs its baseline.
 *
 * What it leaves out and the server does: the window and attempt checks in JS, the full presented
 * message in each event, metrics, per-call timeouts and abort signals, holds and retries, the
 * checkpoint thread (the probe's WAL just grows). So it is an upper bound, not a design.
 */

const FAKE_FLAG = '--fake';

if (process.argv.includes(FAKE_FLAG)) {
  // The bench's fake provider in its own process, for the pump and the first bare loop.
  const fake = await FakeGraph.start();
  process.send!({ port: fake.port });
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 4000);
  const concurrency = Number(process.argv[3] ?? 8);
  const prefetch = Number(process.argv[4] ?? 0);
  const conversations = 200;
  const dir = mkdtempSync(join(tmpdir(), 'sb-ceiling-'));
  const dbPath = join(dir, 'ceiling.db');

  // 1. The server's schema and data: conversations opened by webhooks, the outbox filled by appendOutbound.
  const store = await openStore(`sqlite:${dbPath}`);
  const committer = new GroupCommitter(store, { maxBatch: 256 });
  for (let n = 0; n < conversations; n++) {
    const raw = JSON.stringify(metaTextPayload(`wamid.ceiling${n}`, String(96170000000 + n), 'hello'));
    await receiveWebhook(committer, 'meta', raw, parseMetaWebhook(JSON.parse(raw), new Date()), { responder: 'faq' });
  }
  const ids = (await store.db.selectFrom('conversations').select('id').orderBy('id').execute()).map((r) => r.id);
  for (let at = 0; at < total; at += 100) {
    await committer.run(async (tx) => {
      for (let n = at; n < Math.min(total, at + 100); n++) {
        await appendOutbound(
          tx,
          ids[n % ids.length]!,
          'meta',
          {
            role: 'assistant',
            type: 'text',
            text: `ceiling ${n}`,
            media: null,
            operator: null,
            reply_to: null,
            metadata: {},
            client_key: null,
          },
          new Date(),
        );
      }
    });
  }
  await committer.idle();
  await store.close();

  const fake = fork(fileURLToPath(import.meta.url), [FAKE_FLAG], { execArgv: process.execArgv });
  const port = await new Promise<number>((resolve) => fake.once('message', (m) => resolve((m as { port: number }).port)));
  try {
    const pump = await runPump(dbPath, port, total, concurrency, prefetch);
    const bare = await bareLoop(port, total, concurrency);
    // The bench's own fake and bare loop, in this process, as bench/scenarios/outbound.ts runs them.
    const local = await FakeGraph.start();
    const bareLocal = (await benchBareLoop(local, total, concurrency)).rate;
    await local.close();
    console.log(
      JSON.stringify({
        messages: total,
        concurrency,
        prefetch,
        ceiling: {
          sendsPerSecond: Math.round(pump.rate),
          commits: pump.commits,
          messagesPerCommit: +(total / pump.commits).toFixed(1),
          cpuMsPerMessage: +pump.cpuMs.toFixed(3),
          walKiBPerMessage: +(pump.walBytes / total / 1024).toFixed(1),
        },
        bare: { callsPerSecond: Math.round(bare), fakeInSameProcessCallsPerSecond: Math.round(bareLocal) },
        ratio: +(pump.rate / bare).toFixed(2),
        ratioToBenchBaseline: +(pump.rate / bareLocal).toFixed(2),
      }),
    );
  } finally {
    fake.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Started {
  id: number;
  jobId: number;
  conversationId: string;
  messageId: string;
  text: string;
  waId: string;
}

async function runPump(
  dbPath: string,
  port: number,
  total: number,
  concurrency: number,
  prefetch: number,
): Promise<{ rate: number; commits: number; cpuMs: number; walBytes: number }> {
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // The WAL only grows during the pump (no checkpoint): its growth is what the commits wrote.
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('wal_autocheckpoint = 0');
  const walSize = () => statSync(`${dbPath}-wal`).size;
  const wal0 = walSize();
  const claim = db.prepare<
    [string, string, string, number]
  >(`update jobs set status = 'running', locked_until = ?, attempts = attempts + 1, updated_at = ?
    where id in (select id from jobs where kind = 'outbox.send' and status = 'queued' and run_at <= ? order by run_at, id limit ?) returning id, payload`);
  const load = db.prepare<[string]>(`select m.id, m.conversation_id, m.message_id, m.text, c.last_inbound_at, ct.wa_id,
      (select 1 from messages e where e.conversation_id = m.conversation_id and e.seq < m.seq and e.status = 'pending' and e.role <> 'user' limit 1) as earlier
    from json_each(?) j join messages m on m.conversation_id = j.value ->> '$.c' and m.message_id = j.value ->> '$.m'
    join conversations c on c.id = m.conversation_id join contacts ct on ct.id = c.contact_id`);
  const mark = db.prepare<[string, string, string]>(`update messages set metadata = json_set(metadata, '$.send_open', json('true'),
      '$.send_attempts', coalesce(metadata ->> '$.send_attempts', 0) + 1, '$.send_started_at', ?), updated_at = ?
    where id in (select value from json_each(?)) and status = 'pending'`);
  const outcome = db.prepare<[string, string, string]>(`update messages set status = 'sent', provider_message_id = j.value ->> '$.p',
      metadata = json_set(metadata, '$.send_open', json('false'), '$.provider_message_id', j.value ->> '$.p', '$.sent_at', ?), updated_at = ?
    from json_each(?) j where messages.id = j.value ->> '$.id' and messages.status = 'pending' returning *`);
  const done = db.prepare<[string, string]>(
    `update jobs set status = 'done', locked_until = null, updated_at = ? where id in (select value from json_each(?))`,
  );
  const events = db.prepare<[string, string]>(`insert into events (type, conversation_id, payload, created_at)
    select 'message_updated', j.value ->> '$.c', j.value ->> '$.p', ? from json_each(?) j`);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

  const results: (Started & { providerId: string })[] = [];
  const ready: Started[] = [];
  let inFlight = 0;
  let sent = 0;
  let commits = 0;
  let scheduled = false;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();

  return new Promise((resolve, reject) => {
    const wake = () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(cycle);
    };
    const fire = (s: Started) => {
      inFlight++;
      call(agent, port, s).then((providerId) => {
        inFlight--;
        results.push({ ...s, providerId });
        if (ready.length > 0 && inFlight < concurrency) fire(ready.shift()!);
        wake();
      }, reject);
    };
    function cycle(): void {
      scheduled = false;
      const now = new Date().toISOString();
      const outs = results.splice(0);
      const started: Started[] = [];
      db.exec('begin immediate');
      if (outs.length > 0) {
        const rows = outcome.all(now, now, JSON.stringify(outs.map((o) => ({ id: o.id, p: o.providerId })))) as {
          conversation_id: string;
          metadata: string;
        }[];
        done.run(now, JSON.stringify(outs.map((o) => o.jobId)));
        events.run(
          now,
          JSON.stringify(rows.map((r) => ({ c: r.conversation_id, p: JSON.stringify({ ...r, metadata: JSON.parse(r.metadata) }) }))),
        );
      }
      const wanted = concurrency + prefetch - inFlight - ready.length;
      if (wanted > 0) {
        const jobs = claim.all(new Date(Date.now() + 300_000).toISOString(), now, now, wanted) as { id: number; payload: string }[];
        if (jobs.length > 0) {
          const payloads = jobs.map((j) => JSON.parse(j.payload) as { conversation_id: string; message_id: string });
          const jobOf = new Map(jobs.map((j, i) => [`${payloads[i]!.conversation_id}:${payloads[i]!.message_id}`, j.id]));
          const rows = load.all(JSON.stringify(payloads.map((p) => ({ c: p.conversation_id, m: p.message_id })))) as {
            id: number;
            conversation_id: string;
            message_id: string;
            text: string;
            wa_id: string;
            earlier: number | null;
          }[];
          const sendable = rows.filter((r) => r.earlier === null);
          mark.run(now, now, JSON.stringify(sendable.map((r) => r.id)));
          for (const r of sendable) {
            started.push({
              id: r.id,
              jobId: jobOf.get(`${r.conversation_id}:${r.message_id}`)!,
              conversationId: r.conversation_id,
              messageId: r.message_id,
              text: r.text,
              waId: r.wa_id,
            });
          }
        }
      }
      db.exec('commit');
      commits++;
      sent += outs.length;
      if (sent >= total) {
        const seconds = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        agent.destroy();
        const walBytes = walSize() - wal0;
        db.close();
        resolve({ rate: total / seconds, commits, cpuMs: (cpu.user + cpu.system) / 1000 / total, walBytes });
        return;
      }
      ready.push(...started);
      while (inFlight < concurrency && ready.length > 0) fire(ready.shift()!);
      if (inFlight === 0 && ready.length === 0) setTimeout(wake, 1);
    }
    cycle();
  });
}

/** One Graph text send; resolves with the provider's id. */
function call(agent: Agent, port: number, s: Started): Promise<string> {
  const body = JSON.stringify({
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: s.waId,
    biz_opaque_callback_data: s.messageId,
    type: 'text',
    text: { preview_url: false, body: s.text },
  });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/v25.0/106540352242922/messages',
        method: 'POST',
        agent,
        headers: { authorization: 'Bearer probe', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: { id: string }[] }).messages[0]!.id),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The bare loop against the fake process: `workers` keep-alive callers, the pump's bodies, nothing stored. */
async function bareLoop(port: number, total: number, workers: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: workers });
  const s: Started = { id: 0, jobId: 0, conversationId: '', messageId: 'msg_20261203000000_00000000', text: 'bare', waId: '96170000000' };
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < total) {
        next++;
        await call(agent, port, s);
      }
    }),
  );
  agent.destroy();
  return total / ((performance.now() - t0) / 1000);
}
