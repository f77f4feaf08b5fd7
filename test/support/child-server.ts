import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TEST_SECRETS } from './app.js';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));

/** A free TCP port on 127.0.0.1 (asked of the OS, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface ChildServer {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** SIGKILL: no shutdown code runs. */
  kill(): Promise<void>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
}

/**
 * Runs `switchboard start` as a separate OS process (the real bin), waiting until /readyz answers.
 * Env: TEST_SECRETS plus the given values (DATABASE_URL, DATA_DIR …). `wrapper` is a command that
 * execs its arguments (e.g. `nsenter -t <pid> -m --`), so signals still reach the server itself.
 */
export async function startChildServer(env: Record<string, string>, port?: number, wrapper: readonly string[] = []): Promise<ChildServer> {
  const p = port ?? (await freePort());
  const [file, ...prefix] = [...wrapper, process.execPath];
  const child = spawn(file!, [...prefix, BIN, 'start'], {
    env: { ...process.env, ...TEST_SECRETS, HOST: '127.0.0.1', PORT: String(p), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${p}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}):\n${output}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready in 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port: p,
    process: child,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
