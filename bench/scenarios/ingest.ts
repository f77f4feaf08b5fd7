import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createPostgresDatabase } from '../../test/support/databases.js';
import type { BenchContext } from '../lib/bench-context.js';
import { startBaseline, startSwitchboard, type ServerProcess } from '../lib/processes.js';
import type { Row, Section } from '../lib/report.js';
import { runIngestLoad, type IngestLoadResult } from '../lib/webhooks.js';

const CONNECTIONS = 50;
/** Distinct senders: webhooks spread over this many conversations. */
const SENDERS = 1000;

export interface Durability {
  accepted: number;
  rows: number;
  distinct: number;
  /** Answered 200 but not in the database: must be 0. */
  missing: number;
}

/** Compares the ids answered 200 with the message ids stored. */
export function durability(accepted: Set<string>, stored: string[]): Durability {
  const set = new Set(stored);
  let missing = 0;
  for (const id of accepted) if (!set.has(id)) missing++;
  return { accepted: accepted.size, rows: stored.length, distinct: set.size, missing };
}

function windows(ctx: BenchContext) {
  return ctx.quick ? { warmupS: 1, durationS: 3 } : { warmupS: 2, durationS: 10 };
}

async function loadBare(ctx: BenchContext, tag: string): Promise<IngestLoadResult> {
  const bare = await startBaseline('bare-http');
  try {
    return await runIngestLoad({ url: bare.url, connections: CONNECTIONS, ...windows(ctx), from: sender, idPrefix: `bare${tag}` });
  } finally {
    await bare.stop();
  }
}

export function sender(n: number): string {
  return `1650555${String(n % SENDERS).padStart(4, '0')}`;
}

/** Stops the server after the load: SIGKILL (nothing from shutdown helps durability), or SIGTERM when profiling. */
async function finish(ctx: BenchContext, server: ServerProcess): Promise<void> {
  if (ctx.profileDir) await server.stop();
  else await server.kill();
}

async function loadSqlite(ctx: BenchContext): Promise<{ load: IngestLoadResult; check: Durability }> {
  const dir = ctx.scratch('ingest-sqlite');
  const dbPath = join(dir, 'switchboard.db');
  const server = await startSwitchboard({ databaseUrl: `sqlite:${dbPath}`, dataDir: dir, profileDir: ctx.profileDir });
  let load: IngestLoadResult;
  try {
    load = await runIngestLoad({ url: server.url, connections: CONNECTIONS, ...windows(ctx), from: sender, idPrefix: 'sq' });
  } finally {
    await finish(ctx, server);
  }
  // Opened only after the server is gone: what is on disk, WAL recovered.
  const db = new Database(dbPath);
  const stored = db.prepare('select message_id from messages').pluck().all() as string[];
  db.close();
  return { load, check: durability(load.acceptedIds, stored) };
}

async function loadPostgres(ctx: BenchContext): Promise<{ load: IngestLoadResult; check: Durability }> {
  const database = await createPostgresDatabase(ctx.postgresUrl);
  try {
    const dir = ctx.scratch('ingest-pg');
    const server = await startSwitchboard({ databaseUrl: database.url, dataDir: dir, profileDir: ctx.profileDir });
    let load: IngestLoadResult;
    try {
      load = await runIngestLoad({ url: server.url, connections: CONNECTIONS, ...windows(ctx), from: sender, idPrefix: 'pg' });
    } finally {
      await finish(ctx, server);
    }
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ message_id: string }>('select message_id from messages');
    await client.end();
    return { load, check: durability(load.acceptedIds, rows.map((r) => r.message_id)) };
  } finally {
    await database.destroy();
  }
}

function rowsFor(db: string, ours: IngestLoadResult, bare: IngestLoadResult, check: Durability, targetRatio: number): Row[] {
  const scenario = `ingest ${db}`;
  return [
    { scenario, figure: 'messages/s (50 conn.)', value: ours.rate, unit: 'msg/s', baseline: bare.rate, baselineName: 'bare node:http', target: { on: 'ratio', op: '>=', limit: targetRatio } },
    { scenario, figure: 'latency p50', value: ours.p50Ms, unit: 'ms', baseline: bare.p50Ms, baselineName: 'bare node:http', target: null },
    { scenario, figure: 'latency p99', value: ours.p99Ms, unit: 'ms', baseline: bare.p99Ms, baselineName: 'bare node:http', target: null },
    { scenario, figure: `200s not in the DB (of ${check.accepted.toLocaleString('en-US')})`, value: check.missing, unit: 'msgs', baseline: null, baselineName: '', target: { on: 'value', op: '<=', limit: 0 } },
  ];
}

function describe(db: string, ours: IngestLoadResult, bare: IngestLoadResult, check: Durability): string {
  return `${db}: ${ours.ok.toLocaleString('en-US')} × 200 in ${ours.durationS.toFixed(1)} s (non-2xx ${ours.non2xx}, errors ${ours.errors}, timeouts ${ours.timeouts}); `
    + `bare node:http ${bare.ok.toLocaleString('en-US')} × 200 in ${bare.durationS.toFixed(1)} s. Durability: ${check.accepted.toLocaleString('en-US')} ids answered 200 `
    + `(warm-up included), ${check.rows.toLocaleString('en-US')} message rows, ${check.distinct.toLocaleString('en-US')} distinct, ${check.missing} answered-but-missing; `
    + `${(check.rows - check.accepted).toLocaleString('en-US')} rows more than 200s = requests in flight when the load stopped (≤ ${CONNECTIONS}).`;
}

/** Item 1: signed Meta webhooks, 50 connections, on SQLite and PostgreSQL, beside bare node:http. */
export async function runIngest(ctx: BenchContext): Promise<Section> {
  // Each Switchboard run sits between two bare runs; its baseline is the faster of the two (the ceiling).
  ctx.log('ingest: bare node:http (1/3)');
  const bareA = await loadBare(ctx, 'a');
  ctx.log(`ingest: Switchboard on SQLite (bare ${bareA.rate.toFixed(0)}/s)`);
  const sqlite = await loadSqlite(ctx);
  ctx.log(`ingest: bare node:http (2/3) (Switchboard SQLite ${sqlite.load.rate.toFixed(0)}/s)`);
  const bareB = await loadBare(ctx, 'b');
  ctx.log(`ingest: Switchboard on PostgreSQL (bare ${bareB.rate.toFixed(0)}/s)`);
  const postgres = await loadPostgres(ctx);
  ctx.log(`ingest: bare node:http (3/3) (Switchboard PostgreSQL ${postgres.load.rate.toFixed(0)}/s)`);
  const bareC = await loadBare(ctx, 'c');
  const faster = (x: IngestLoadResult, y: IngestLoadResult) => (x.rate >= y.rate ? x : y);
  const bareSqlite = faster(bareA, bareB);
  const barePg = faster(bareB, bareC);
  const { warmupS, durationS } = windows(ctx);
  return {
    name: 'ingest',
    title: '1. Ingest',
    rows: [...rowsFor('SQLite', sqlite.load, bareSqlite, sqlite.check, 0.6), ...rowsFor('PostgreSQL', postgres.load, barePg, postgres.check, 0.3)],
    notes: [
      `Signed Meta text webhooks (one message each, unique wamid, signed per request in autocannon's setupRequest), ${CONNECTIONS} keep-alive connections, `
        + `${warmupS} s warm-up then ${durationS} s measured; senders spread over ${SENDERS} conversations. The bare node:http server reads the same bodies and answers 200; `
        + `it ran before, between and after the two Switchboard runs (${[bareA, bareB, bareC].map((b) => `${b.rate.toFixed(0)}/s`).join(', ')}) and each Switchboard run is set `
        + 'beside the faster of the two bare runs around it. Latencies are autocannon\'s (whole milliseconds).',
      `Switchboard runs as \`node bin/switchboard.js start\` (SQLite WAL, synchronous=FULL; PostgreSQL: a throwaway database on the local server), LOG_LEVEL=warn, `
        + 'AI responder faq (each message also queues an AI job, as in production). After the load the server is SIGKILLed and the database opened: every id answered 200 must be there.',
      'What limits SQLite ingest (profiled with `npm run bench -- ingest --profile` and a per-statement timer, 2026-11-25): the one server thread\'s CPU per message. '
        + 'Each webhook is ~14 SQL statements built and compiled by Kysely (src/app/receive-webhook.ts `ingest`/`receiveMessage`: journal insert, channel, contact and conversation '
        + 'look-ups, duplicate check, last_seq update, message insert with RETURNING *, conversation update, ai.reply job insert, contact and channel re-read for the '
        + '`conversation_updated` event), then Fastify, HMAC and JSON. SQLite itself (src/store/sqlite-driver.ts `executeQuery`) is ~40 % of the CPU: messages insert ≈ 107 µs '
        + '(4 indexes), conversation update ≈ 55 µs, jobs insert ≈ 51 µs, events insert ≈ 30 µs per message; Kysely\'s query building and compiling (visitNode, freeze, '
        + 'compileQuery) ≈ 10–15 %. And every group commit\'s COMMIT is a WAL fsync of 4–8 ms on this disk that better-sqlite3 runs on the event loop: nothing else (parsing '
        + 'the next requests) happens meanwhile. With ≤ 50 requests in flight a batch holds ~20 messages, so ~20 × per-message CPU + one fsync per batch bounds the rate. '
        + 'Reaching 60 % of bare node:http would need a per-message cost near bare HTTP\'s own (~0.1 ms): fewer statements (cache channel/contact per batch, one conversation '
        + 'update, no RETURNING *), prepared statements without the query builder on this path, and the writer (with its fsync) off the event loop (a worker thread).',
      'Fixed from these measurements: src/store/group-commit.ts started a batch synchronously at the first queued unit, and on SQLite a batch never yields to I/O, so '
        + 'every batch held ONE webhook (584 batches for 584 messages): a fsync per message. Batches now start on the next event-loop turn (setImmediate), so all webhooks '
        + 'parsed in a turn share one commit (~20 per batch). Same machine, same load, A/B alternated: 91–169 msg/s before, 394–1,284 msg/s after.',
      'What limits PostgreSQL ingest: round trips, not CPU — the server thread idles ~30 % waiting. The same ~14 statements per message are each one round trip inside the '
        + 'batch\'s transaction (plus savepoint/release per unit), batches run 4 at a time (src/store/group-commit.ts concurrency) with ~4–5 messages each and serialise on '
        + 'the event-log advisory lock until COMMIT, and PostgreSQL shares the 2 cores with the server and the load generator. Raising the concurrency to 8 was slower '
        + '(102–149 vs 217–277 msg/s). Fewer round trips per message (one statement per table, or a pipeline) is what would move it.',
      describe('SQLite', sqlite.load, bareSqlite, sqlite.check),
      describe('PostgreSQL', postgres.load, barePg, postgres.check),
    ],
  };
}
