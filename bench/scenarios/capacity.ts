import type { BenchContext } from '../lib/bench-context.js';
import { loginCookie } from '../lib/http-sampler.js';
import { FD_LIMIT, sleep, startBaseline, startSwitchboard, type ProbeStats, type ServerProcess } from '../lib/processes.js';
import type { Row, Section } from '../lib/report.js';
import { SseLoad } from '../lib/sse-load.js';

const LOAD_PROCESSES = 4;

interface CapacityResult {
  clients: number;
  connected: number;
  connectMs: number;
  before: ProbeStats;
  after: ProbeStats;
  /** Event-loop delay while the clients sat idle (pings included). */
  idle: ProbeStats['loop'];
  stillOpen: number;
  serverCount: number | null;
}

function sizes(ctx: BenchContext) {
  // The window covers at least one ping round to every client.
  return ctx.quick ? { clients: 1_000, windowMs: 4_000, pingMs: 2_000 } : { clients: 10_000, windowMs: 16_000, pingMs: 15_000 };
}

async function sseClientGauge(url: string): Promise<number | null> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const match = /^switchboard_sse_clients (\d+)/m.exec(text);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

async function measure(
  ctx: BenchContext,
  server: ServerProcess,
  path: string,
  headers: Record<string, string>,
  countOnServer: boolean,
): Promise<CapacityResult> {
  const { clients, windowMs } = sizes(ctx);
  const load = await SseLoad.start(LOAD_PROCESSES);
  try {
    await sleep(500);
    const before = await server.stats({ gc: true });
    const connected = await load.connect(`${server.url}${path}`, headers, clients, { batch: 250, timeoutMs: 60_000, deadlineMs: 300_000 });
    await sleep(2_000);
    const after = await server.stats({ gc: true });
    await server.resetLoop();
    await sleep(windowMs);
    const idle = (await server.stats()).loop;
    const collected = await load.collect();
    const serverCount = countOnServer ? await sseClientGauge(server.url) : null;
    return {
      clients,
      connected: connected.connected,
      connectMs: connected.ms,
      before,
      after,
      idle,
      stillOpen: collected.open,
      serverCount,
    };
  } finally {
    await load.close();
  }
}

function perConnectionKb(r: CapacityResult): number {
  return (r.after.rss - r.before.rss) / Math.max(1, r.connected) / 1024;
}

function describe(name: string, r: CapacityResult): string {
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  return (
    `${name}: ${r.connected.toLocaleString('en-US')}/${r.clients.toLocaleString('en-US')} connected in ${(r.connectMs / 1000).toFixed(1)} s, ${r.stillOpen.toLocaleString('en-US')} still open after the idle window` +
    `${r.serverCount !== null ? ` (server's switchboard_sse_clients: ${r.serverCount.toLocaleString('en-US')})` : ''}; RSS ${mib(r.before.rss)} → ${mib(r.after.rss)} MiB, ` +
    `heap ${mib(r.before.heapUsed)} → ${mib(r.after.heapUsed)} MiB (after a full GC); idle event-loop delay p50 ${r.idle.p50Ms.toFixed(1)} / p99 ${r.idle.p99Ms.toFixed(1)} / max ${r.idle.maxMs.toFixed(1)} ms.`
  );
}

/** Item 4: 10,000 idle SSE clients: RSS per connection and event-loop delay, beside a bare node:http SSE server. */
export async function runCapacity(ctx: BenchContext): Promise<Section> {
  const { clients, windowMs, pingMs } = sizes(ctx);
  ctx.log(`capacity: bare SSE server, ${clients} clients`);
  const bare = await startBaseline('bare-sse', [String(pingMs)]);
  let bareResult: CapacityResult;
  try {
    bareResult = await measure(ctx, bare, '/events', {}, false);
  } finally {
    await bare.stop();
  }
  ctx.log(`capacity: bare ${perConnectionKb(bareResult).toFixed(1)} KB/conn; Switchboard`);
  const dir = ctx.scratch('capacity');
  const server = await startSwitchboard({
    databaseUrl: `sqlite:${dir}/switchboard.db`,
    dataDir: dir,
    profileDir: ctx.profileDir,
    env: { SSE_PING_INTERVAL_MS: String(pingMs) },
  });
  let ours: CapacityResult;
  try {
    const cookie = await loginCookie(server.url);
    ours = await measure(ctx, server, '/api/events', { cookie }, true);
  } finally {
    await server.stop();
  }
  ctx.log(`capacity: Switchboard ${perConnectionKb(ours).toFixed(1)} KB/conn`);
  const scenario = `${clients.toLocaleString('en-US')} idle SSE`;
  const rows: Row[] = [
    {
      scenario,
      figure: 'RSS per connection',
      value: perConnectionKb(ours),
      unit: 'KB',
      baseline: perConnectionKb(bareResult),
      baselineName: 'bare SSE',
      target: { on: 'ratio', op: '<=', limit: 1.1 },
    },
    {
      scenario,
      figure: 'event-loop delay p99 (idle)',
      value: ours.idle.p99Ms,
      unit: 'ms',
      baseline: bareResult.idle.p99Ms,
      baselineName: 'bare SSE',
      target: null,
    },
    {
      scenario,
      figure: 'event-loop delay max (idle)',
      value: ours.idle.maxMs,
      unit: 'ms',
      baseline: bareResult.idle.maxMs,
      baselineName: 'bare SSE',
      target: null,
    },
  ];
  return {
    name: 'capacity',
    title: '4. SSE capacity',
    rows,
    notes: [
      `${clients.toLocaleString('en-US')} SSE streams opened (250 at a time) from ${LOAD_PROCESSES} load processes and then left idle. RSS per connection = (server RSS with the clients − RSS before them) / clients, ` +
        'both read inside the server right after a full GC (bench/probe/loop-probe.mjs, preloaded into both servers). Event-loop delay: perf_hooks monitorEventLoopDelay ' +
        `(10 ms resolution, delay beyond it) over a ${windowMs / 1000} s idle window that includes a \`: ping\` round to every client (ping every ${pingMs / 1000} s in both servers). ` +
        `Servers run with \`ulimit -n ${FD_LIMIT}\`.`,
      "KB = 1,024 bytes. RSS is the kernel's count of the process's resident pages: socket buffers live in kernel memory outside it; what it shows is the JavaScript and native " +
        "objects per stream (Node's socket, HTTP parser and response objects, and in Switchboard the Fastify request/reply, the auth lookup's leftovers and the hub's client record).",
      describe('Switchboard', ours),
      describe('bare SSE', bareResult),
    ],
  };
}
