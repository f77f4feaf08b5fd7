import { cutText, MAX_TEXT_LENGTH } from '../../src/chat/text-limits.js';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { metaTextPayload } from '../support/app.js';
import { captureOutput } from '../support/child-output.js';
import { startChildServer } from '../support/child-server.js';
import { canUsePrivateMounts, mountPrivateExt4, mountPrivateTmpfs } from '../support/private-mount.js';
import { countOutcomes, deliverMeta, sleep, WebhookStream, type Delivery, type WebhookItem } from '../support/webhook-stream.js';

/**
 * The SQLite data dir runs out of space, or turns read-only, under a running server (issue 5).
 * Mechanisms, most real first:
 * - disk full: a tiny tmpfs in a private mount namespace (root); without root, RLIMIT_FSIZE on the
 *   server process (SIGXFSZ ignored, so writes fail with EFBIG instead of killing it).
 * - read-only: an ext4 filesystem on a loop device, mounted errors=remount-ro in a private mount
 *   namespace, turned read-only by a real ext4 error (`trigger_fs_error`) while the server has its
 *   files open. A plain `mount -o remount,ro` is refused (EBUSY) while files are open for writing,
 *   and chmod does not stop root nor already-open files, so neither would be honest. Needs root.
 */
const privileged = canUsePrivateMounts();

const MB = 1024 * 1024;
const SENDER = '16505550199';

describe('fault: SQLite data dir full', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  });

  it('[IN1] a full disk answers 503, never 200 for a message not stored; nothing acknowledged lost, nothing half-written; space freed → 200 again', async () => {
    const work = mkdtempSync(join(tmpdir(), 'sb-fault-full-'));
    cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
    const disk = await smallDisk(work, 48 * MB, 8 * MB);
    cleanups.push(disk.destroy);

    const server = await startChildServer(
      { DATA_DIR: disk.dir, DATABASE_URL: `sqlite:${join(disk.dir, 'switchboard.db')}` },
      undefined,
      disk.wrapper,
    );
    cleanups.push(() => server.kill());
    const log = captureOutput(server);

    // Small texts, ~1 MB texts, and two-message webhooks of ~2.6 MB (the body limit is 3 MB).
    const expected = new Map<string, string>();
    const item = (n: number): WebhookItem => {
      const kind = n % 5 === 4 ? 'large' : n % 2 === 1 ? 'medium' : 'small';
      const ids = kind === 'large' ? [`wamid.FULL.${n}.a`, `wamid.FULL.${n}.b`] : [`wamid.FULL.${n}`];
      const size = kind === 'large' ? 1.3 * MB : kind === 'medium' ? 1 * MB : 200;
      const payload = metaTextPayload(ids[0]!, SENDER, textFor(ids[0]!, size));
      const value = payload.entry[0]!.changes[0]!.value;
      value.messages = ids.map((id) => ({ ...value.messages[0]!, id, text: { body: textFor(id, size) } }));
      // As stored: texts are capped at MAX_TEXT_LENGTH (the journal keeps the whole body).
      for (const id of ids) expected.set(id, cutText(textFor(id, size), MAX_TEXT_LENGTH));
      return { ids, body: JSON.stringify(payload) };
    };
    const isSmall = (d: Delivery) => d.item.body.length < 10_000;
    // Fill until even small webhooks are refused (the disk is really full), within bounds.
    const stream = new WebhookStream({
      baseUrl: server.url,
      workers: 2,
      paceMs: 0,
      maxRequests: 400,
      maxMs: 45_000,
      timeoutMs: 10_000,
      next: item,
      until: (done) => done.filter((d) => isSmall(d) && d.outcome === 503).length >= 4,
    });
    await stream.finished();
    const filled = stream.deliveries;
    const healthz = (await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(10_000) })).status;

    // Free the ballast: the same server process accepts again, without a restart.
    let recovery: { attempts: number; outcomes: Delivery['outcome'][] } | null = null;
    const recovered: Delivery[] = [];
    if (disk.freeSpace) {
      await disk.freeSpace();
      const outcomes: Delivery['outcome'][] = [];
      for (let i = 0; i < 20; i++) {
        const d = await deliverMeta(server.url, item(10_000 + i * 2));
        outcomes.push(d.outcome);
        recovered.push(d);
        if (d.outcome === 200) break;
        await sleep(250);
      }
      recovery = { attempts: outcomes.length, outcomes };
    }

    const all = [...filled, ...recovered];
    console.log(
      '[fault: SQLite disk full]',
      JSON.stringify({
        mechanism: disk.mechanism,
        requests: filled.length,
        outcomes: countOutcomes(filled),
        byKind: {
          small: countOutcomes(filled.filter(isSmall)),
          '1 MB': countOutcomes(filled.filter((d) => !isSmall(d) && d.item.ids.length === 1)),
          '2 × 1.3 MB': countOutcomes(filled.filter((d) => d.item.ids.length === 2)),
        },
        'acknowledged messages': all.filter((d) => d.outcome === 200).flatMap((d) => d.item.ids).length,
        recovery,
      }),
    );
    expect(server.process.exitCode, `the server exited; its output:\n${log()}`).toBeNull();
    expect(healthz).toBe(200);
    expect(
      all.filter((d) => d.outcome !== 200 && d.outcome !== 503).map((d) => d.outcome),
      log(),
    ).toEqual([]);
    // The fault was really reached: the disk filled and writes were refused.
    expect(filled.filter((d) => d.outcome === 503).length).toBeGreaterThan(0);
    expect(filled.filter((d) => d.outcome === 200).length).toBeGreaterThan(0);
    if (recovery) expect(recovery.outcomes.at(-1)).toBe(200);

    // What is on the disk after a crash (SIGKILL) at the full point.
    await server.kill();
    const copy = join(work, 'copy');
    await disk.copyOut(copy);
    verifyDatabase(join(copy, 'switchboard.db'), all, expected, 'wamid.FULL.');
  }, 120_000);
});

for (const sync of ['full', 'offloaded'] as const)
  describe.runIf(privileged)(`fault: SQLite data dir turns read-only (SQLITE_SYNC=${sync})`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const fn of cleanups.reverse()) await fn().catch(() => {});
    });

    it('[IN1] after the filesystem turns read-only under the server every webhook answers 503; nothing acknowledged lost, nothing half-written', async () => {
      const work = mkdtempSync(join(tmpdir(), 'sb-fault-ro-'));
      cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
      const disk = await mountPrivateExt4(64 * MB);
      cleanups.push(disk.destroy);
      const server = await startChildServer(
        { DATA_DIR: disk.dir, DATABASE_URL: `sqlite:${join(disk.dir, 'switchboard.db')}`, SQLITE_SYNC: sync },
        undefined,
        disk.enter,
      );
      cleanups.push(() => server.kill());
      const log = captureOutput(server);

      const expected = new Map<string, string>();
      const item = (n: number): WebhookItem => {
        const id = `wamid.RO.${n}`;
        expected.set(id, textFor(id, 300));
        return { ids: [id], body: JSON.stringify(metaTextPayload(id, SENDER, textFor(id, 300))) };
      };
      const stream = new WebhookStream({
        baseUrl: server.url,
        workers: 3,
        paceMs: 5,
        maxRequests: 5000,
        maxMs: 30_000,
        next: item,
        timeoutMs: 10_000,
      });
      let failedAt = 0;
      try {
        expect(await stream.waitFor((d) => d.outcome === 200, 0, 15_000)).not.toBeNull();
        await sleep(700);
        await disk.failToReadOnly();
        failedAt = Date.now();
        await sleep(2000);
      } finally {
        await stream.stop();
      }
      const deliveries = stream.deliveries;
      const after = deliveries.filter((d) => d.startedAt >= failedAt);
      const healthz = (await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(10_000) })).status;
      console.log(
        '[fault: SQLite read-only]',
        JSON.stringify({
          mechanism: 'ext4 on a loop device, errors=remount-ro, trigger_fs_error (private mount namespace)',
          requests: deliveries.length,
          outcomes: countOutcomes(deliveries),
          'after the filesystem turned read-only': countOutcomes(after),
        }),
      );
      expect(server.process.exitCode, `the server exited; its output:\n${log()}`).toBeNull();
      expect(healthz).toBe(200);
      expect(
        deliveries.filter((d) => d.outcome !== 200 && d.outcome !== 503).map((d) => d.outcome),
        log(),
      ).toEqual([]);
      expect(deliveries.filter((d) => d.endedAt < failedAt && d.outcome === 200).length).toBeGreaterThan(0);
      expect(after.length).toBeGreaterThan(0);
      expect(new Set(after.map((d) => d.outcome))).toEqual(new Set([503]));

      await server.kill();
      const copy = join(work, 'copy');
      await disk.copyOut(copy);
      verifyDatabase(join(copy, 'switchboard.db'), deliveries, expected, 'wamid.RO.');
    }, 120_000);
  });

/**
 * The database file left behind: SQLite's integrity check passes; every acknowledged message is
 * there exactly once with its full text; every stored row of ours is whole (text as sent, JSON
 * columns parse), in the messages, the webhook journal and the event log.
 */
function verifyDatabase(path: string, deliveries: readonly Delivery[], expected: ReadonlyMap<string, string>, prefix: string): void {
  const db = new Database(path);
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const rows = db.prepare('select message_id, text, metadata, media, error from messages where message_id like ?').all(`${prefix}%`) as {
      message_id: string;
      text: string | null;
      metadata: string;
      media: string | null;
      error: string | null;
    }[];
    const acknowledged = deliveries.filter((d) => d.outcome === 200).flatMap((d) => d.item.ids);
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.message_id, (counts.get(r.message_id) ?? 0) + 1);
    expect(
      acknowledged.filter((id) => counts.get(id) !== 1),
      'acknowledged but not stored exactly once',
    ).toEqual([]);
    expect(
      [...counts].filter(([, c]) => c !== 1),
      'stored more than once',
    ).toEqual([]);
    for (const r of rows) {
      expect(r.text === expected.get(r.message_id), `text of ${r.message_id} intact`).toBe(true);
      expect(() => JSON.parse(r.metadata)).not.toThrow();
      if (r.media !== null) expect(() => JSON.parse(r.media!)).not.toThrow();
      if (r.error !== null) expect(() => JSON.parse(r.error!)).not.toThrow();
    }
    for (const { body } of db.prepare('select body from webhook_journal').all() as { body: string }[])
      expect(() => JSON.parse(body)).not.toThrow();
    for (const { payload } of db.prepare('select payload from events').all() as { payload: string }[])
      expect(() => JSON.parse(payload)).not.toThrow();
  } finally {
    db.close();
  }
}

interface SmallDisk {
  readonly mechanism: string;
  readonly dir: string;
  readonly wrapper: readonly string[];
  /** Frees the ballast file (tmpfs only: a file-size limit cannot be lifted from outside). */
  readonly freeSpace: (() => Promise<void>) | null;
  copyOut(to: string): Promise<void>;
  destroy(): Promise<void>;
}

/** A data dir with little room: a tmpfs of `size` holding `ballast` bytes, or else a file-size limit. */
async function smallDisk(work: string, size: number, ballast: number): Promise<SmallDisk> {
  if (privileged) {
    const mount = await mountPrivateTmpfs(size);
    const ballastFile = join(mount.dir, 'ballast');
    await mount.run(['sh', '-c', `head -c ${ballast} /dev/zero > '${ballastFile}'`]);
    return {
      mechanism: `tmpfs of ${size / MB} MiB (${ballast / MB} MiB ballast) in a private mount namespace`,
      dir: mount.dir,
      wrapper: mount.enter,
      freeSpace: async () => void (await mount.run(['rm', ballastFile])),
      copyOut: mount.copyOut,
      destroy: mount.destroy,
    };
  }
  const dir = join(work, 'data');
  mkdirSync(dir);
  const limit = size - ballast;
  return {
    mechanism: `RLIMIT_FSIZE ${limit / MB} MiB per file (no root for a private tmpfs)`,
    dir,
    wrapper: ['sh', '-c', `trap '' XFSZ; exec prlimit --fsize=${limit} -- "$@"`, 'sh'],
    freeSpace: null,
    copyOut: async (to) => {
      mkdirSync(to, { recursive: true });
      for (const f of ['switchboard.db', 'switchboard.db-wal']) {
        if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(to, f));
      }
    },
    destroy: async () => {},
  };
}

/** A deterministic text of `size` characters that starts with its message id. */
function textFor(id: string, size: number): string {
  const unit = `${id} lorem ipsum dolor sit amet ✓ `;
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, Math.floor(size));
}
