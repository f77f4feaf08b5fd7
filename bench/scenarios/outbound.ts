import { createServer, request as httpRequest, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { appendOutbound } from '../../src/app/append-outbound.js';
import { openStore } from '../../src/store/database.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { loginAdmin } from '../../test/api/api-client.js';
import { createPostgresDatabase, type TestDatabase } from '../../test/support/databases.js';
import { metaTextPayload, postMeta, TEST_SECRETS } from '../../test/support/app.js';
import type { BenchContext } from '../lib/bench-context.js';
import { startSwitchboard, sleep } from '../lib/processes.js';
import type { Row, Section } from '../lib/report.js';
import { summarize } from '../lib/stats.js';

/*
 * Outbound (issue 11): how fast the outbox delivers durable messages to a provider, beside a bare
 * loop making the same HTTP calls, and how long an operator's message takes from the POST to the
 * provider's request on an idle server.
 */

/** Same-run fake of Meta's send endpoint: answers every POST like Graph does, and notes when each text arrived. */
export class FakeGraph {
  readonly arrivals = new Map<string, number>();
  count = 0;
  /** How long each answer takes (0: at once; Graph itself takes tens to hundreds of ms). */
  delayMs = 0;
  first = 0;
  last = 0;
  /** The request count from which `first` is taken: the drain is timed warm, after its first quarter. */
  warmup = 0;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeGraph> {
    let fake: FakeGraph | null = null;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const now = performance.now();
        const f = fake!;
        f.count++;
        if (f.count === f.warmup + 1) f.first = now;
        f.last = now;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: { body?: string } };
          if (body.text?.body) f.arrivals.set(body.text.body, now);
        } catch {
          // counted anyway
        }
        const text = JSON.stringify({
          messaging_product: 'whatsapp',
          contacts: [{ input: '+1', wa_id: '1' }],
          messages: [{ id: `wamid.BENCH${f.count}` }],
        });
        const answer = () => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
          res.end(text);
        };
        if (f.delayMs > 0) setTimeout(answer, f.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake = new FakeGraph(server, (server.address() as AddressInfo).port);
    return fake;
  }

  get graphUrl(): string {
    return `http://127.0.0.1:${this.port}/v25.0`;
  }

  reset(warmup = 0): void {
    this.warmup = warmup;
    this.count = 0;
    this.first = 0;
    this.last = 0;
    this.arrivals.clear();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * The bare loop: `workers` concurrent callers POSTing the same JSON bodies to the same fake,
 * keep-alive, timed after `warmup` untimed calls (a cold first run of 2,000 calls measured a third of
 * a warm one: the baseline would flatter the server, whose drain is also timed warm).
 */
export async function bareLoop(fake: FakeGraph, total: number, workers: number, warmup = 0): Promise<{ rate: number; p50Ms: number }> {
  if (warmup > 0) await bareLoop(fake, warmup, workers);
  const agent = new Agent({ keepAlive: true, maxSockets: workers });
  const body = JSON.stringify({
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: '+96170000000',
    biz_opaque_callback_data: 'msg_20261203000000_00000000',
    type: 'text',
    text: { preview_url: false, body: 'bare' },
  });
  const latencies: number[] = [];
  let next = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: fake.port,
          path: `/v25.0/${TEST_SECRETS.META_PHONE_NUMBER_ID}/messages`,
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${TEST_SECRETS.META_ACCESS_TOKEN}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < total) {
        next++;
        await one();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { rate: total / seconds, p50Ms: summarize(latencies).p50 };
}

/** Untimed calls before the bare loop is timed against the instant fake. */
const BARE_WARMUP = 2_000;

function sizes(ctx: BenchContext) {
  return ctx.quick
    ? { conversations: 50, messages: 500, latencySamples: 50 }
    : { conversations: 200, messages: 2_000, latencySamples: 200 };
}

/**
 * The drains measured: OUTBOX_CONCURRENCY at the default and at a setting for a busy number, with
 * a fake answering at once (the outbox's own cost shows whole); then the default against a fake
 * that takes 50 ms per answer, nearer a real provider.
 */
const DRAINS = [
  { concurrency: 8, delayMs: 0 },
  { concurrency: 32, delayMs: 0 },
  { concurrency: 8, delayMs: 50 },
];

/** Writes `messages` outbound messages through appendOutbound, round-robin over the conversations, while no server runs. */
async function fillOutbox(databaseUrl: string, messages: number, tag: string): Promise<void> {
  const store = await openStore(databaseUrl);
  const committer = new GroupCommitter(store, { maxBatch: 256 });
  const ids = (await store.db.selectFrom('conversations').select('id').orderBy('id').execute()).map((r) => r.id);
  const now = new Date();
  for (let at = 0; at < messages; at += 100) {
    await committer.run(async (tx) => {
      for (let n = at; n < Math.min(messages, at + 100); n++) {
        await appendOutbound(
          tx,
          ids[n % ids.length]!,
          'meta',
          {
            role: 'assistant',
            type: 'text',
            text: `outbound ${tag} ${n}`,
            media: null,
            operator: null,
            reply_to: null,
            metadata: {},
            client_key: null,
          },
          now,
        );
      }
    });
  }
  await committer.idle();
  await store.close();
}

/** How many of the run's messages ended `sent`. */
async function countSent(databaseUrl: string, tag: string): Promise<number> {
  const store = await openStore(databaseUrl);
  try {
    const r = await store.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('status', '=', 'sent')
      .where('text', 'like', `outbound ${tag} %`)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  } finally {
    await store.close();
  }
}

/**
 * OUTBOUND_DATABASE=postgres runs the scenario on a fresh PostgreSQL database (the bench's server);
 * the default is SQLite, with SQLITE_SYNC taken from the environment (full by default).
 */
function storage(): { kind: 'sqlite' | 'postgres'; label: string } {
  if (process.env.OUTBOUND_DATABASE === 'postgres') return { kind: 'postgres', label: 'PostgreSQL' };
  return { kind: 'sqlite', label: `SQLite, SQLITE_SYNC=${process.env.SQLITE_SYNC ?? 'full'}` };
}

export async function runOutbound(ctx: BenchContext): Promise<Section> {
  const { conversations, messages, latencySamples } = sizes(ctx);
  const dir = ctx.scratch('outbound');
  const where = storage();
  const prefetchLabel = process.env.OUTBOX_PREFETCH ? `, OUTBOX_PREFETCH=${process.env.OUTBOX_PREFETCH}` : '';
  const pgDatabase: TestDatabase | null = where.kind === 'postgres' ? await createPostgresDatabase(ctx.postgresUrl) : null;
  const databaseUrl = pgDatabase?.url ?? `sqlite:${join(dir, 'switchboard.db')}`;
  const fake = await FakeGraph.start();
  const env = { META_GRAPH_URL: fake.graphUrl };
  try {
    // 1. Conversations opened by real signed webhooks (so the 24 h window is open), then the server stops.
    ctx.log(`outbound: ${conversations} conversations`);
    let server = await startSwitchboard({ databaseUrl, dataDir: dir, env });
    for (let i = 0; i < conversations; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, conversations - i) }, (_, k) =>
          postMeta(server.url, metaTextPayload(`wamid.OUTB.${i + k}`, String(96170000000 + i + k), 'hello')).then((r) => r.arrayBuffer()),
        ),
      );
    }
    await server.stop();

    // 2–3. For each concurrency: the outbox filled while no server runs, then drained by a fresh server (timed after its first quarter).
    const drains: {
      concurrency: number;
      delayMs: number;
      rate: number;
      seconds: number;
      sentRows: number;
      distinct: number;
      bare: number;
    }[] = [];
    for (const { concurrency, delayMs } of DRAINS) {
      const tag = `c${concurrency}d${delayMs}`;
      ctx.log(`outbound: ${messages} messages into the outbox (concurrency ${concurrency}, provider answering in ${delayMs} ms)`);
      await fillOutbox(databaseUrl, messages, tag);
      // Timed from the fake's request after the first quarter (the server's JIT warm, like the bare loop's).
      const warmup = Math.floor(messages / 4);
      fake.reset(warmup);
      fake.delayMs = delayMs;
      const drainer = await startSwitchboard({
        databaseUrl,
        dataDir: dir,
        env: { ...env, OUTBOX_CONCURRENCY: String(concurrency) },
        profileDir: ctx.profileDir,
      });
      try {
        const deadline = Date.now() + 120_000;
        while (fake.count < messages && Date.now() < deadline) await sleep(20);
        if (fake.count < messages) throw new Error(`only ${fake.count} of ${messages} sends reached the provider`);
      } finally {
        await drainer.stop();
      }
      const seconds = (fake.last - fake.first) / 1000;
      const timed = messages - warmup - 1;
      // A message the fake received twice (a resend after an ambiguous error) shows as fewer distinct texts than requests.
      const distinct = [...fake.arrivals.keys()].filter((text) => text.startsWith(`outbound ${tag} `)).length;
      const sentRows = await countSent(databaseUrl, tag);
      fake.reset();
      const bare = await bareLoop(fake, messages, concurrency, delayMs > 0 ? concurrency * 4 : BARE_WARMUP);
      fake.delayMs = 0;
      drains.push({ concurrency, delayMs, rate: timed / seconds, seconds, sentRows, distinct, bare: bare.rate });
      ctx.log(
        `outbound: concurrency ${concurrency}: Switchboard ${(timed / seconds).toFixed(0)} sends/s, bare loop ${bare.rate.toFixed(0)} calls/s`,
      );
    }

    // 4. Latency on an idle server: one operator message at a time, POST → the provider's request.
    fake.reset();
    server = await startSwitchboard({ databaseUrl, dataDir: dir, env });
    let p50Ms = 0;
    let p99Ms = 0;
    let bareOne = 0;
    try {
      await sleep(500);
      const admin = await loginAdmin(server.url);
      const list = await admin.get('/api/conversations?limit=1');
      const conversationId = list.body.conversations[0].conversation_id as string;
      await admin.post(`/api/conversations/${conversationId}/takeover`);
      const latencies: number[] = [];
      for (let i = 0; i < latencySamples; i++) {
        const text = `latency ${i}`;
        const t0 = performance.now();
        const res = await admin.post(`/api/conversations/${conversationId}/messages`, { text });
        if (res.status !== 201) throw new Error(`operator send answered ${res.status}`);
        const until = Date.now() + 10_000;
        while (!fake.arrivals.has(text) && Date.now() < until) await sleep(1);
        const arrived = fake.arrivals.get(text);
        if (arrived === undefined) throw new Error(`${text} never reached the provider`);
        latencies.push(arrived - t0);
        await sleep(20);
      }
      const s = summarize(latencies);
      p50Ms = s.p50;
      p99Ms = s.p99;
      bareOne = (await bareLoop(fake, latencySamples, 1)).p50Ms;
      ctx.log(`outbound: POST → provider p50 ${p50Ms.toFixed(1)} ms, p99 ${p99Ms.toFixed(1)} ms`);
    } finally {
      await server.stop();
    }

    const rows: Row[] = [
      ...drains.map((d): Row => ({
        scenario: 'outbound',
        figure: `sends/s draining ${messages.toLocaleString('en-US')} durable messages, ${where.label}, OUTBOX_CONCURRENCY=${d.concurrency}${prefetchLabel}${d.delayMs ? `, provider answering in ${d.delayMs} ms` : ''}`,
        value: d.rate,
        unit: 'msg/s',
        baseline: d.bare,
        baselineName: `bare HTTP loop, ${d.concurrency} callers`,
        target: { on: 'ratio', op: '>=', limit: 0.6 },
      })),
      {
        scenario: 'outbound',
        figure: `operator POST → provider request, p50 (idle server, ${where.label})`,
        value: p50Ms,
        unit: 'ms',
        baseline: bareOne,
        baselineName: 'one bare call',
        target: null,
      },
      {
        scenario: 'outbound',
        figure: `operator POST → provider request, p99 (idle server, ${where.label})`,
        value: p99Ms,
        unit: 'ms',
        baseline: null,
        baselineName: '',
        target: null,
      },
    ];
    return {
      name: 'outbound',
      title: 'Outbound: the outbox against a local fake provider',
      rows,
      notes: [
        `Throughput: ${messages.toLocaleString('en-US')} messages written through appendOutbound (status pending, outbox.send job, events) into ${conversations} conversations ` +
          `opened by signed webhooks, round-robin, while no server ran; then a server started with the given OUTBOX_CONCURRENCY drained them into a fake of Meta's ` +
          `send endpoint in the bench process. Timed warm, from the fake's request after the first quarter to its last (the first ${Math.floor(messages / 4).toLocaleString('en-US')} requests untimed, as the bare loop's warm-up): ${drains.map((d) => `${d.seconds.toFixed(2)} s at ${d.concurrency}${d.delayMs ? ` (${d.delayMs} ms answers)` : ''}, ${d.distinct.toLocaleString('en-US')} distinct messages received, afterwards ${d.sentRows.toLocaleString('en-US')} of them \`sent\``).join('; ')}. ` +
          "Each text message costs the server two committed units beside the HTTP call (the runner's claim of the job together with the attempt's start marker; `sent` with the provider id, " +
          `the job's completion and a \`message_updated\` event), on ${where.label}, so every step is durable before the next.`,
        `Baseline: the same POST bodies to the same fake from as many concurrent keep-alive callers in the bench process as the outbox had slots, nothing stored, timed after ${BARE_WARMUP.toLocaleString('en-US')} untimed calls (bench/scenarios/outbound.ts bareLoop).`,
        `Latency: ${latencySamples} operator messages one at a time in one conversation (20 ms apart) on the idle server: from the start of the operator's POST to the fake's receipt of the ` +
          'provider call. The POST commits the message and its job; the commit wakes the outbox, which claims the job, checks order and window and writes the start marker in one commit, then calls.',
      ],
    };
  } finally {
    await fake.close();
    await pgDatabase?.destroy();
  }
}
