import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * A small filesystem mounted in a private mount namespace of the test's own (`unshare -m`): the
 * rest of the machine never sees it, and it disappears with the namespace. A holder process keeps
 * the namespace alive; programs run inside it through `nsenter` (which execs them, so signals
 * sent to the spawned pid reach the program itself). Needs root.
 */
export interface PrivateMount {
  /** The mount point: the same path inside the namespace; outside it is an empty folder. */
  readonly dir: string;
  /** Prefix that runs a command inside the namespace (for startChildServer's wrapper). */
  readonly enter: readonly string[];
  /** Runs a command inside the namespace and returns its stdout. */
  run(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Copies everything in the mount into `to` (a folder visible outside), keeping file modes. */
  copyOut(to: string): Promise<void>;
  /** Ends the namespace (the mount goes with it) and removes the temp folder. Safe to repeat. */
  destroy(): Promise<void>;
}

export interface Ext4Mount extends PrivateMount {
  /**
   * Makes the kernel turn the filesystem read-only under the programs using it, as it does on a
   * filesystem error with `errors=remount-ro`: ext4's `trigger_fs_error` raises a real ext4_error.
   * Open files stay open; every later write fails with EROFS/EIO.
   */
  failToReadOnly(): Promise<void>;
}

/** Whether a private mount namespace can be made here (root with unshare and nsenter). */
export function canUsePrivateMounts(): boolean {
  return userInfo().uid === 0 && existsSync('/proc/self/ns/mnt');
}

/** A tmpfs of `sizeBytes` in a private mount namespace. */
export async function mountPrivateTmpfs(sizeBytes: number): Promise<PrivateMount> {
  const root = mkdtempSync(join(tmpdir(), 'sb-tmpfs-'));
  const dir = join(root, 'data');
  mkdirSync(dir);
  return hold(root, dir, `mount -t tmpfs -o size=${sizeBytes},mode=0755 tmpfs "$1"`);
}

/**
 * An ext4 filesystem of `sizeBytes` on a loop device (backed by a sparse file in the temp folder),
 * mounted with errors=remount-ro in a private mount namespace. The loop device is released with
 * the mount (autoclear) when the namespace ends.
 */
export async function mountPrivateExt4(sizeBytes: number): Promise<Ext4Mount> {
  const root = mkdtempSync(join(tmpdir(), 'sb-ext4-'));
  const dir = join(root, 'data');
  const image = join(root, 'fs.img');
  mkdirSync(dir);
  try {
    await exec('truncate', ['-s', String(sizeBytes), image], 10_000);
    await exec('mkfs.ext4', ['-q', '-F', '-m', '0', image], 30_000);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`cannot make an ext4 image for the read-only fault test (needs mkfs.ext4 from e2fsprogs): ${(err as Error).message}`);
  }
  const mount = await hold(root, dir, `mount -o loop,errors=remount-ro "$2" "$1"`, [image]);
  const device = mountSource(mount.holderPid, dir);
  const trigger = device ? `/sys/fs/ext4/${device.replace(/^\/dev\//, '')}/trigger_fs_error` : null;
  if (!trigger || !existsSync(trigger)) {
    await mount.destroy();
    throw new Error(`no ext4 error trigger for ${dir} (${trigger ?? 'mount source not found'}): the kernel needs ext4 with sysfs`);
  }
  return {
    ...mount,
    async failToReadOnly() {
      await exec('sh', ['-c', `printf 'switchboard fault test: data dir turned read-only' > '${trigger}'`], 10_000);
      const options = mountOptions(mount.holderPid, dir);
      if (!/\bemergency_ro\b|(^|,)ro(,|$)/.test(options)) throw new Error(`the filesystem did not turn read-only (options: ${options})`);
    },
  };
}

async function hold(root: string, dir: string, mountScript: string, extra: string[] = []): Promise<PrivateMount & { holderPid: number }> {
  // The holder mounts, says so, then sleeps (bounded) so the namespace outlives the test's steps.
  const holder: ChildProcess = spawn(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', `${mountScript} && echo mounted && exec sleep 900`, 'sh', dir, ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  holder.stdout!.on('data', (d) => (output += d));
  holder.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => holder.once('close', () => resolve()));
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 15_000);
    holder.stdout!.on('data', () => {
      if (output.includes('mounted')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    holder.once('error', () => resolve(false));
    holder.once('close', () => resolve(false));
  });
  const destroy = async () => {
    if (holder.exitCode === null && holder.signalCode === null) {
      holder.kill('SIGKILL');
      await exited;
    }
    rmSync(root, { recursive: true, force: true });
  };
  if (!ready) {
    await destroy();
    throw new Error(`cannot mount in a private mount namespace (unshare -m): ${output.trim() || 'no output'}`);
  }
  const pid = holder.pid!;
  const enter = ['nsenter', '-t', String(pid), '-m', '--'];
  const run = (args: readonly string[], timeoutMs = 30_000) => exec(enter[0]!, [...enter.slice(1), ...args], timeoutMs);
  return {
    dir,
    holderPid: pid,
    enter,
    run,
    copyOut: async (to) => {
      mkdirSync(to, { recursive: true });
      await run(['cp', '-a', `${dir}/.`, to]);
    },
    destroy,
  };
}

function mountLine(pid: number, dir: string): string[] | null {
  const line = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === dir);
  return line ? line.split(' ') : null;
}

/** The device of the mount at `dir` in the namespace of `pid` (e.g. /dev/loop3). */
function mountSource(pid: number, dir: string): string | null {
  const fields = mountLine(pid, dir);
  if (!fields) return null;
  return fields[fields.indexOf('-') + 2] ?? null;
}

/** Mount and superblock options of the mount at `dir` in the namespace of `pid`. */
function mountOptions(pid: number, dir: string): string {
  const fields = mountLine(pid, dir);
  if (!fields) return '';
  return `${fields[5]},${fields[fields.indexOf('-') + 3] ?? ''}`;
}

function exec(file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}
