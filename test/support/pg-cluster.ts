import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync, readFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './child-server.js';

/** Where Debian's postgresql packages put the server binaries, one folder per major version. */
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/**
 * A throwaway PostgreSQL cluster owned by one test: initdb into a temp folder, its own port on
 * 127.0.0.1, its unix socket in that folder, fsync on, trust auth for the `postgres` role. The
 * shared server on :5432 is never touched. When the test runs as root the cluster runs as the
 * `postgres` OS user (the server refuses root).
 */
export interface PgCluster {
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  readonly url: string;
  readonly port: number;
  readonly version: string;
  start(): Promise<void>;
  /** `fast` disconnects clients and shuts down cleanly; `immediate` is a crash (recovery on start). */
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  /** Stops the server if it runs and removes the folder; safe to call more than once. */
  destroy(): Promise<void>;
}

/** The newest PostgreSQL major version installed with initdb and pg_ctl, or a clear error. */
export function findPostgresBin(): { version: string; bin: string } {
  const versions = existsSync(DEBIAN_PG_ROOT)
    ? readdirSync(DEBIAN_PG_ROOT).filter(
        (v) => existsSync(join(DEBIAN_PG_ROOT, v, 'bin', 'initdb')) && existsSync(join(DEBIAN_PG_ROOT, v, 'bin', 'pg_ctl')),
      )
    : [];
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  const version = versions[0];
  if (!version) {
    throw new Error(
      `PostgreSQL server binaries not found: expected ${DEBIAN_PG_ROOT}/<version>/bin/initdb and pg_ctl ` +
        '(Debian layout; install with `apt-get install -y postgresql`). The PostgreSQL fault test needs a cluster of its own.',
    );
  }
  return { version, bin: join(DEBIAN_PG_ROOT, version, 'bin') };
}

export async function createPgCluster(database = 'switchboard'): Promise<PgCluster> {
  const { version, bin } = findPostgresBin();
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'sb-pgc-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  writeFileSync(log, '');
  if (asRoot) {
    const { uid, gid } = await postgresUser();
    chownSync(dir, uid, gid);
    chownSync(log, uid, gid);
  }
  const run = (tool: string, args: string[], timeoutMs: number) => runAs(asRoot, join(bin, tool), args, timeoutMs);
  let running = false;

  const port = await freePort();
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    port,
    version,
    async start() {
      try {
        await run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '30', 'start'], 40_000);
      } catch (err) {
        throw new Error(`${(err as Error).message}\nserver log:\n${readFileSync(log, 'utf8').slice(-4000)}`);
      }
      running = true;
    },
    async stop(mode) {
      await run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop'], 40_000);
      running = false;
    },
    async destroy() {
      if (running && existsSync(data)) {
        await run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 40_000).catch(() => {});
        running = false;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    // --no-sync only skips initdb's own flush of the template files; the server itself runs with fsync=on.
    await run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], 60_000);
    appendFileSync(
      data + '/postgresql.conf',
      [
        '',
        '# throwaway cluster of a fault test',
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        'fsync = on',
        'synchronous_commit = on',
        'max_connections = 50',
        '',
      ].join('\n'),
    );
    await cluster.start();
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await admin.connect();
    try {
      await admin.query(`create database ${database}`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = (flag: string) => exec('id', [flag, 'postgres'], 5000).then((out) => Number.parseInt(out.trim(), 10));
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    throw new Error(
      'running as root, but there is no `postgres` OS user to run the throwaway cluster as (PostgreSQL refuses to run as root)',
    );
  }
}

/** Runs a PostgreSQL tool, as the `postgres` user when we are root (runuser, else su). */
async function runAs(asRoot: boolean, file: string, args: string[], timeoutMs: number): Promise<string> {
  if (!asRoot) return exec(file, args, timeoutMs);
  try {
    return await exec('runuser', ['-u', 'postgres', '--', file, ...args], timeoutMs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const line = [file, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    return exec('su', ['postgres', '-s', '/bin/sh', '-c', line], timeoutMs);
  }
}

function exec(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) {
        const e = new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`) as NodeJS.ErrnoException;
        e.code = (err as NodeJS.ErrnoException).code;
        reject(e);
      } else resolve(stdout);
    });
  });
}
