import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_SECRETS } from '../../test/support/app.js';
import { freePort } from '../../test/support/child-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SWITCHBOARD_BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const PROBE = new URL('../probe/loop-probe.mjs', import.meta.url).href;

/** File-descriptor limit asked for every server (10,000 SSE clients need more than the default). */
export const FD_LIMIT = 65_536;

export interface ProbeStats {
  rss: number;
  heapUsed: number;
  external: number;
  loop: { count: number; p50Ms: number; p99Ms: number; maxMs: number };
}

/** A server the bench started as its own OS process, with the loop probe preloaded. */
export interface ServerProcess {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Milliseconds from spawn to the first 200 of the ready path. */
  readonly readyMs: number;
  /** Memory and event-loop delay from inside the process (`gc` first when asked). */
  stats(options?: { gc?: boolean }): Promise<ProbeStats>;
  /** Restarts the event-loop delay histogram. */
  resetLoop(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL: no shutdown code runs. */
  kill(): Promise<void>;
  output(): string;
}

export interface StartOptions {
  name: string;
  /** Node arguments after the probe (script and its arguments). */
  nodeArgs: string[];
  env?: Record<string, string>;
  port: number;
  readyPath: string;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  readyTimeoutMs?: number;
}

/**
 * Spawns `node --expose-gc --import <probe> …` through `sh -c 'ulimit -n …; exec …'`, so the
 * server runs with a raised descriptor limit under its own pid, and waits until the ready path
 * answers 200 (bounded in time and attempts).
 */
export async function startServerProcess(options: StartOptions): Promise<ServerProcess> {
  const started = performance.now();
  const args = ['--expose-gc', '--import', PROBE, ...(options.nodeFlags ?? []), ...options.nodeArgs];
  const child = spawn(
    'sh',
    ['-c', `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, 'sh', process.execPath, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 64_000) output = output.slice(-32_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let readyMs = 0;
  for (let attempt = 0; attempt < 100_000; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${options.name} exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} not ready in time:\n${output}`);
    }
    if (await answers200(`${url}${options.readyPath}`)) {
      readyMs = performance.now() - started;
      break;
    }
    await sleep(5);
  }

  const ask = <T>(message: object, reply: string, timeoutMs = 30_000): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error(`${options.name}: no ${reply} from the probe`));
      }, timeoutMs);
      const onMessage = (m: unknown) => {
        if (m && typeof m === 'object' && (m as { probe?: string }).probe === reply) {
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(m as T);
        }
      };
      child.on('message', onMessage);
      child.send(message);
    });

  const stop = async (graceMs = 15_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  return {
    name: options.name,
    url,
    port: options.port,
    child,
    readyMs,
    stats: (o = {}) => ask<ProbeStats>({ probe: 'stats', gc: o.gc === true }, 'stats'),
    resetLoop: async () => {
      await ask({ probe: 'reset' }, 'reset');
    },
    stop,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    output: () => output,
  };
}

export interface SwitchboardOptions {
  databaseUrl: string;
  dataDir: string;
  env?: Record<string, string>;
  /** Write a CPU profile into this folder when the server exits (`node --cpu-prof`). */
  profileDir?: string | null;
  readyTimeoutMs?: number;
}

/** `node bin/switchboard.js start` with the test secrets, LOG_LEVEL=warn, on 127.0.0.1 and a free port. */
export async function startSwitchboard(options: SwitchboardOptions): Promise<ServerProcess> {
  const port = await freePort();
  return startServerProcess({
    name: 'switchboard',
    nodeArgs: [SWITCHBOARD_BIN, 'start'],
    nodeFlags: options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir] : [],
    env: {
      ...TEST_SECRETS,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_URL: options.databaseUrl,
      DATA_DIR: options.dataDir,
      ...options.env,
    },
    port,
    readyPath: '/readyz',
    readyTimeoutMs: options.readyTimeoutMs,
  });
}

/** A bench/servers/<name>.ts baseline, run through tsx; `args` follow the port. */
export async function startBaseline(name: 'bare-http' | 'bare-sse' | 'json-blob', args: string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  const script = fileURLToPath(new URL(`../servers/${name}.ts`, import.meta.url));
  return startServerProcess({ name, nodeArgs: ['--import', 'tsx', script, String(port), ...args], port, readyPath: '/readyz' });
}

function answers200(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    async (r) => {
      await r.arrayBuffer();
      return r.status === 200;
    },
    () => false,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
