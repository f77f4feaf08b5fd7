import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WalSync } from './wal-sync.js';

function walFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'sb-wal-')), 'test.db-wal');
  writeFileSync(path, 'frames');
  return path;
}

describe('WalSync: commits made durable off the event loop', () => {
  it('commits arriving while an fsync runs share the next one; none is told before an fsync begun after it', async () => {
    const sync = new WalSync(walFile());
    const first = sync.afterCommit(1);
    // Three commits during the first fsync: they need a later one, and share it.
    const later = [sync.afterCommit(2), sync.afterCommit(0), sync.afterCommit(5)];
    await first;
    expect(sync.stats.fsyncs).toBe(1);
    await Promise.all(later);
    expect(sync.stats.fsyncs).toBe(2);
    await sync.close();
  });

  it('a reader waits only for events not yet on disk, and for the fsync in flight when it covers them', async () => {
    const sync = new WalSync(walFile());
    await sync.afterCommit(10);
    expect(sync.stats.fsyncs).toBe(1);
    // Events up to 10 are on disk: no fsync.
    await sync.covering(10);
    expect(sync.stats.fsyncs).toBe(1);
    const commit = sync.afterCommit(20);
    // The fsync in flight began after event 20's commit: a reader of 15 or 20 shares it.
    await Promise.all([sync.covering(15), sync.covering(20), commit]);
    expect(sync.stats.fsyncs).toBe(2);
    // Event 30 was written by somebody this process did not hear from: a new fsync covers it.
    await sync.covering(30);
    expect(sync.stats.fsyncs).toBe(3);
    await sync.covering(30);
    expect(sync.stats.fsyncs).toBe(3);
    await sync.close();
  });

  it('a failed fsync fails every later commit and read too: nothing after it can be called durable', async () => {
    const sync = new WalSync(join(tmpdir(), 'sb-wal-missing', 'no.db-wal'));
    await expect(sync.afterCommit(1)).rejects.toThrow(/fsync of the SQLite WAL failed/);
    await expect(sync.afterCommit(2)).rejects.toThrow(/fsync of the SQLite WAL failed/);
    await expect(sync.covering(1)).rejects.toThrow(/fsync of the SQLite WAL failed/);
    expect(sync.stats.fsyncs).toBe(0);
  });
});
