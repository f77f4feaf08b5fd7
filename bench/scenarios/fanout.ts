import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from '../lib/bench-context.js';
import { loginCookie } from '../lib/http-sampler.js';
import { sleep, startBaseline, startSwitchboard, type ServerProcess } from '../lib/processes.js';
import type { Row, Section } from '../lib/report.js';
import { SseLoad } from '../lib/sse-load.js';
import { median, summarize, type Summary } from '../lib/stats.js';
import { postWebhook } from '../lib/webhooks.js';

const RATE_PER_S = 50;
const LOAD_PROCESSES = 2;
const EVENTS_ROUTE = fileURLToPath(new URL('../../src/http/routes/events.routes.ts', import.meta.url));

interface FanoutResult {
  /** From the webhook's 200 arriving at the sender to the event arriving at a client. */
  fromAccepted: Summary;
  /** From the webhook being sent to the event arriving at a client. */
  fromSent: Summary;
  sent: number;
  accepted: number;
  delivered: number;
  expected: number;
  clients: number;
  connectMs: number;
  closedByServer: number;
  /** Event-loop delay of the server during the run. */
  loopP99Ms: number;
  loopMaxMs: number;
}

function sizes(ctx: BenchContext) {
  return ctx.quick ? { clients: 100, seconds: 3, warmupS: 1 } : { clients: 1000, seconds: 10, warmupS: 2 };
}

/** `count` signed webhooks at RATE_PER_S, each from one of 100 senders; resolves with every answer. */
async function paced(
  url: string,
  tag: string,
  count: number,
): Promise<{ id: string; status: number; sentAt: number; answeredAt: number }[]> {
  const started = performance.now();
  const sends: Promise<{ id: string; status: number; sentAt: number; answeredAt: number }>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / RATE_PER_S - performance.now();
    if (wait > 0) await sleep(wait);
    const id = `wamid.fan${tag}${i.toString(36).padStart(6, '0')}`;
    sends.push(postWebhook(url, id, `9715${String(i % 100).padStart(7, '0')}`).then((r) => ({ id, ...r })));
  }
  return Promise.all(sends);
}

/** Connects the clients, sends webhooks at RATE_PER_S for `seconds`, joins send and receive times by message id. */
async function measure(
  ctx: BenchContext,
  server: ServerProcess,
  path: string,
  headers: Record<string, string>,
  tag: string,
): Promise<FanoutResult> {
  const { clients, seconds, warmupS } = sizes(ctx);
  const load = await SseLoad.start(LOAD_PROCESSES);
  try {
    const connected = await load.connect(`${server.url}${path}`, headers, clients, { batch: 100, timeoutMs: 30_000, deadlineMs: 120_000 });
    if (connected.connected !== clients)
      throw new Error(
        `${server.name}: only ${connected.connected} of ${clients} SSE clients connected (${JSON.stringify(connected.status)})`,
      );
    // Warm-up at the same rate (not counted): both servers meet the measured events with hot code.
    await paced(server.url, `${tag}w`, RATE_PER_S * warmupS);
    await sleep(500);
    await server.resetLoop();
    const count = RATE_PER_S * seconds;
    const answers = await paced(server.url, tag, count);
    const accepted = answers.filter((a) => a.status === 200);
    // Stragglers: wait until every accepted message reached every client, or 10 s.
    const expected = accepted.length * clients;
    let collected = await load.collect();
    for (let i = 0; i < 100; i++) {
      const delivered = accepted.reduce((s, a) => s + (collected.received.get(a.id)?.length ?? 0), 0);
      if (delivered >= expected) break;
      await sleep(100);
      collected = await load.collect();
    }
    const loop = await server.stats();
    const fromAccepted: number[] = [];
    const fromSent: number[] = [];
    for (const a of accepted) {
      for (const t of collected.received.get(a.id) ?? []) {
        fromAccepted.push(t - a.answeredAt);
        fromSent.push(t - a.sentAt);
      }
    }
    return {
      fromAccepted: summarize(fromAccepted),
      fromSent: summarize(fromSent),
      sent: count,
      accepted: accepted.length,
      delivered: fromSent.length,
      expected,
      clients,
      connectMs: connected.ms,
      closedByServer: collected.closedByServer,
      loopP99Ms: loop.loop.p99Ms,
      loopMaxMs: loop.loop.maxMs,
    };
  } finally {
    await load.close();
  }
}

function fmt(s: Summary): string {
  return `p50 ${s.p50.toFixed(1)} / p99 ${s.p99.toFixed(1)} / max ${s.max.toFixed(1)} ms`;
}

function describe(name: string, r: FanoutResult): string {
  return (
    `${name}: ${r.clients} clients connected in ${(r.connectMs / 1000).toFixed(1)} s; ${r.accepted}/${r.sent} webhooks accepted; ` +
    `${r.delivered.toLocaleString('en-US')}/${r.expected.toLocaleString('en-US')} new_message deliveries; streams closed by the server ${r.closedByServer}. ` +
    `Accepted → received ${fmt(r.fromAccepted)}; sent → received ${fmt(r.fromSent)}. Server event-loop delay p99 ${r.loopP99Ms.toFixed(1)} ms, max ${r.loopMaxMs.toFixed(1)} ms.`
  );
}

/** The figures of the table, each read from one round's result. */
const FIGURES: { figure: string; of: (r: FanoutResult) => number; target: Row['target'] }[] = [
  { figure: 'accepted → new_message p50', of: (r) => r.fromAccepted.p50, target: null },
  { figure: 'accepted → new_message p99', of: (r) => r.fromAccepted.p99, target: { on: 'ratio', op: '<=', limit: 1.2 } },
  { figure: 'accepted → new_message max', of: (r) => r.fromAccepted.max, target: null },
  { figure: 'sent → new_message p99', of: (r) => r.fromSent.p99, target: null },
];

/** Item 3: webhook accepted → `new_message` at 1,000 SSE clients, beside a bare node:http broadcaster, alternating in rounds. */
export async function runFanout(ctx: BenchContext): Promise<Section> {
  const { clients, seconds, warmupS } = sizes(ctx);
  if (!existsSync(EVENTS_ROUTE)) {
    return {
      name: 'fanout',
      title: '3. Fan-out',
      rows: [],
      notes: ['PENDING: GET /api/events is not in this checkout; the harness (bench/scenarios/fanout.ts) is ready.'],
    };
  }
  // One run of each beside the other swings from 0.7× to 2.3× on this shared machine (steal time):
  // the servers alternate, and each figure is the median over the rounds.
  const rounds = ctx.quick ? 1 : 3;
  const started = performance.now();
  const bareRuns: FanoutResult[] = [];
  const ourRuns: FanoutResult[] = [];
  for (let round = 1; round <= rounds; round++) {
    ctx.log(`fanout: round ${round}/${rounds}, bare SSE broadcaster`);
    const bare = await startBaseline('bare-sse');
    try {
      bareRuns.push(await measure(ctx, bare, '/events', {}, `b${round}`));
    } finally {
      await bare.stop();
    }
    ctx.log(`fanout: round ${round}/${rounds}, bare p99 ${bareRuns.at(-1)!.fromAccepted.p99.toFixed(1)} ms; Switchboard`);
    // A fresh database per round: every round starts from the same state.
    const dir = ctx.scratch('fanout');
    const server = await startSwitchboard({ databaseUrl: `sqlite:${dir}/switchboard.db`, dataDir: dir, profileDir: ctx.profileDir });
    try {
      const cookie = await loginCookie(server.url);
      ourRuns.push(await measure(ctx, server, '/api/events', { cookie }, `s${round}`));
    } finally {
      await server.stop();
    }
    ctx.log(`fanout: round ${round}/${rounds}, Switchboard p99 ${ourRuns.at(-1)!.fromAccepted.p99.toFixed(1)} ms`);
  }
  const wallS = (performance.now() - started) / 1000;
  const scenario = `fan-out ${clients} SSE, median of ${rounds} round${rounds === 1 ? '' : 's'}`;
  const rows: Row[] = FIGURES.map(({ figure, of, target }) => ({
    scenario,
    figure,
    value: median(ourRuns.map(of)),
    unit: 'ms',
    baseline: median(bareRuns.map(of)),
    baselineName: 'bare SSE',
    target,
  }));
  const perRound = FIGURES.map(
    ({ figure, of }) =>
      `${figure}: ` +
      bareRuns
        .map((b, i) => `round ${i + 1} ${of(b).toFixed(1)} / ${of(ourRuns[i]!).toFixed(1)} ms (${(of(ourRuns[i]!) / of(b)).toFixed(2)}×)`)
        .join('; '),
  );
  const sync = process.env.SQLITE_SYNC ?? 'full';
  return {
    name: 'fanout',
    title: '3. Fan-out',
    rows,
    notes: [
      `${clients} SSE clients in ${LOAD_PROCESSES} load processes (Switchboard: GET /api/events with the admin's session cookie; bare: any GET), ` +
        `then ${RATE_PER_S} signed webhooks/s for ${warmupS} s (warm-up, not counted) and ${seconds} s measured from the bench process, each to its own of 100 conversations. Latency joins the sender's clock and the clients' ` +
        'clocks (CLOCK_MONOTONIC, shared by all processes of the machine) by message id: "accepted" is when the 200 reached the sender (an event can reach a client before ' +
        'that, so small negatives are possible), "sent" is when the POST left it. Every delivery to every client counts.',
      `Rounds: on this shared 2-core machine one run of each server side by side gave ratios from 0.7× to 2.3× for the same code, so the two servers alternate — ` +
        `${Array.from({ length: rounds }, () => 'bare, Switchboard').join(', ')} — each run as above with its own process (Switchboard on a fresh SQLite database, ` +
        `SQLITE_SYNC=${sync}${process.env.SQLITE_SYNC === undefined ? ', the default' : ''}), and each figure in the table is, for each server, the median of its ${rounds} run${rounds === 1 ? '' : 's'}; ` +
        `the ratio is the ratio of the medians. The ${rounds * 2} runs took ${wallS.toFixed(0)} s in all (each: server start, ${clients} connects, ${warmupS + seconds} s of webhooks, ` +
        'at most 10 s for stragglers, stop).',
      `Per round, bare / Switchboard (ratio of the round): ${perRound.join('. ')}.`,
      'The bare broadcaster (bench/servers/bare-sse.ts) answers 200 and writes the same two events Switchboard sends per message (`new_message`, `conversation_updated`, ' +
        'same JSON shapes) to every stream: no auth, no storage, no event log, no per-client buffer bounds — the ceiling. ' +
        'It writes the frames of one event-loop turn with one write per stream (without that, a write per stream per webhook — 50,000 writes/s here — ' +
        'overloads it on this machine and it becomes no ceiling at all).',
      "What limits it (profiled on 2026-11-25 with `npm run bench -- fanout --profile`, 3 rounds of 1,000 clients; shares of the samples of Switchboard's main thread " +
        'over its whole life — start, connects, 12 s of webhooks, stop — in each of the 3 runs): the writes. Socket writes (Socket._writev and below, one writev per ' +
        "stream per published batch; the bare server does the same writes) are 44 %; the hub's own work (publish/offerLive/flush in src/realtime/sse-hub.ts, without " +
        'the writes) 7.5–8.6 %; COMMIT (commitTransaction, its fsync included) 3.3–4.1 %; the event-log read itself 0.6 %; idle 15–21 %; the rest, 22–25 %, ' +
        'is module loading at start (≈ 7 %), HTTP parsing and Fastify (≈ 6 %), the webhook path (≈ 6 %) and GC (≈ 2 %; split from the second run). ' +
        "Storage: with SQLITE_SYNC=full (the default, SPEC §9) each COMMIT's fsync of the WAL still runs on the event loop, so while it lasts no request is parsed and no " +
        'frame is written; WAL checkpoints no longer run inside COMMIT but on a worker thread (PASSIVE, every 100 ms; src/store/wal-checkpointer.ts). With ' +
        "SQLITE_SYNC=offloaded (src/store/wal-sync.ts) the connection commits with synchronous=NORMAL and the WAL fsync runs on libuv's thread pool, off the event loop. " +
        'Either way the event-log tail sends an event to the streams only once it is on disk, so the fsync is inside the latency from "sent" (the bare server has no disk ' +
        "at all); with full, other webhooks' fsyncs on the event loop also hold up the frames of events already accepted, which reaches the accepted → new_message tail. " +
        'And 2 cores are shared by the server, the sender and the two load processes that parse every frame; client-side parsing delay is in both figures alike.',
      ...bareRuns.flatMap((b, i) => [describe(`Round ${i + 1}, bare SSE`, b), describe(`Round ${i + 1}, Switchboard`, ourRuns[i]!)]),
    ],
  };
}
