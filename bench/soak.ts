import { readdirSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { loginCookie } from './lib/http-sampler.js';
import { sleep, startSwitchboard, type ServerProcess } from './lib/processes.js';
import { SseLoad } from './lib/sse-load.js';
import { postWebhook } from './lib/webhooks.js';

/*
 * `npm run soak [-- --minutes 10 --rate 100 --clients 100]` (not in CI): Switchboard on SQLite under
 * moderate steady load — signed webhooks at `rate`/s from this process, `clients` SSE streams in two
 * load processes — for `minutes`. Every 10 s: RSS and heap after a full GC, open file descriptors
 * (/proc/<pid>/fd), SSE events received. Passes when memory is flat (last fifth of the run within 10 %
 * (RSS) / 20 % (heap) of the second fifth, after warm-up), the descriptor floor does not rise, every accepted
 * message reached every client and every 200 is in the database. Writes bench/SOAK.md.
 */

interface Sample {
  at: number;
  rss: number;
  heap: number;
  fds: number;
  sent: number;
  accepted: number;
  events: number;
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name}: expected a positive number`);
  return value;
}

function openFds(server: ServerProcess): number {
  try {
    return readdirSync(`/proc/${server.child.pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function main(): Promise<void> {
  const minutes = option('minutes', 10);
  const rate = option('rate', 100);
  const clients = option('clients', 100);
  const durationMs = minutes * 60_000;
  const dir = mkdtempSync(join(tmpdir(), 'sb-soak-'));
  const dbPath = join(dir, 'switchboard.db');
  const log = (m: string) => process.stderr.write(`[soak] ${m}\n`);
  const samples: Sample[] = [];
  const accepted = new Set<string>();
  let sent = 0;
  let events = 0;
  let delivered = 0;
  let closedByServer = 0;

  const server = await startSwitchboard({ databaseUrl: `sqlite:${dbPath}`, dataDir: dir });
  const load = await SseLoad.start(2);
  const loadBefore = loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
  try {
    const cookie = await loginCookie(server.url);
    const connected = await load.connect(`${server.url}/api/events`, { cookie }, clients, {
      batch: 100,
      timeoutMs: 30_000,
      deadlineMs: 120_000,
      countOnly: true,
    });
    if (connected.connected !== clients) throw new Error(`only ${connected.connected} of ${clients} SSE clients connected`);
    log(`${clients} SSE clients; ${rate} webhooks/s for ${minutes} min`);

    const started = performance.now();
    const total = Math.floor((rate * durationMs) / 1000);
    const inFlight = new Set<Promise<void>>();
    let nextSample = started;
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const id = `wamid.soak${i.toString(36).padStart(8, '0')}`;
      const p = postWebhook(server.url, id, `9665${String(i % 500).padStart(7, '0')}`).then((r) => {
        if (r.status === 200) accepted.add(id);
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      sent++;
      if (performance.now() >= nextSample) {
        nextSample += 10_000;
        const stats = await server.stats({ gc: true });
        events = (await load.collect()).events;
        samples.push({
          at: (performance.now() - started) / 1000,
          rss: stats.rss,
          heap: stats.heapUsed,
          fds: openFds(server),
          sent,
          accepted: accepted.size,
          events,
        });
        const s = samples.at(-1)!;
        log(
          `${s.at.toFixed(0)} s: rss ${(s.rss / 2 ** 20).toFixed(1)} MiB, heap ${(s.heap / 2 ** 20).toFixed(1)} MiB, fds ${s.fds}, accepted ${s.accepted}, events ${s.events}`,
        );
      }
    }
    await Promise.all(inFlight);
    for (let i = 0; i < 100; i++) {
      const c = await load.collect();
      delivered = c.events;
      closedByServer = c.closedByServer;
      if (delivered >= accepted.size * clients) break;
      await sleep(100);
    }
  } finally {
    await load.close();
    await server.stop();
  }
  const db = new Database(dbPath, { readonly: true });
  const stored = new Set(db.prepare('select message_id from messages').pluck().all() as string[]);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  let missing = 0;
  for (const id of accepted) if (!stored.has(id)) missing++;

  // Compare the second fifth (after warm-up) with the last fifth.
  const fifth = Math.max(1, Math.floor(samples.length / 5));
  const early = samples.slice(fifth, 2 * fifth);
  const late = samples.slice(-fifth);
  const rssGrowth = mean(late.map((s) => s.rss)) / mean(early.map((s) => s.rss)) - 1;
  const heapGrowth = mean(late.map((s) => s.heap)) / mean(early.map((s) => s.heap)) - 1;
  // The floor, not the peak: the sender's keep-alive pool (≤ 64 sockets to the server) widens for a
  // while after any stall and narrows again; a leak raises the floor.
  const fdGrowth = Math.min(...late.map((s) => s.fds)) - Math.min(...early.map((s) => s.fds));
  const checks = [
    { name: 'RSS flat (last fifth vs second fifth)', ok: rssGrowth < 0.1, value: `${(rssGrowth * 100).toFixed(1)} %` },
    { name: 'heap flat (after full GC)', ok: heapGrowth < 0.2, value: `${(heapGrowth * 100).toFixed(1)} %` },
    {
      name: 'no file-descriptor growth (floor, last fifth vs second fifth)',
      ok: fdGrowth <= 2,
      value: `${fdGrowth >= 0 ? '+' : ''}${fdGrowth}`,
    },
    {
      name: 'every accepted message reached every client',
      ok: delivered >= accepted.size * clients,
      value: `${delivered.toLocaleString('en-US')}/${(accepted.size * clients).toLocaleString('en-US')}`,
    },
    { name: 'every 200 in the database', ok: missing === 0, value: `${missing} missing of ${accepted.size.toLocaleString('en-US')}` },
    { name: 'no stream closed by the server', ok: closedByServer === 0, value: String(closedByServer) },
  ];
  const lines = [
    '# Switchboard soak',
    '',
    `\`npm run soak -- --minutes ${minutes} --rate ${rate} --clients ${clients}\` on ${new Date().toISOString()}: SQLite, ${rate} signed webhooks/s over 500 conversations, ` +
      `${clients} SSE clients, ${minutes} min. Load average before ${loadBefore}, after ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' / ')}. ` +
      `${sent.toLocaleString('en-US')} sent, ${accepted.size.toLocaleString('en-US')} accepted.`,
    '',
    '| check | value | ok |',
    '|---|---|---|',
    ...checks.map((c) => `| ${c.name} | ${c.value} | ${c.ok ? 'yes' : 'NO'} |`),
    '',
    '| t (s) | RSS MiB | heap MiB | fds | accepted | events received |',
    '|---|---|---|---|---|---|',
    ...samples.map(
      (s) =>
        `| ${s.at.toFixed(0)} | ${(s.rss / 2 ** 20).toFixed(1)} | ${(s.heap / 2 ** 20).toFixed(1)} | ${s.fds} | ${s.accepted} | ${s.events} |`,
    ),
    '',
  ];
  const out = fileURLToPath(new URL('./SOAK.md', import.meta.url));
  writeFileSync(out, lines.join('\n'));
  process.stdout.write(`${checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.value}`).join('\n')}\nwrote ${out}\n`);
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}

await main();
