import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { receiveWebhook } from '../../src/app/receive-webhook.js';
import { parseMetaWebhook } from '../../src/providers/meta/meta.webhook.js';
import { openStore } from '../../src/store/database.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { metaTextPayload } from '../../test/support/app.js';

/*
 * `tsx bench/probe/store-path.ts [messages] [batch]`: the webhook's storage path alone, in this
 * process, without HTTP — Meta text webhooks from 1,000 senders, parsed and committed through the
 * group committer in batches, on a fresh SQLite file — to see what a change to the schema or the
 * statements does without the noise of a load test. Prints messages/s, CPU and bytes written per
 * message, and which tables and indexes the WAL frames (pages written at COMMIT) belong to.
 *
 * SQLITE_SYNC=offloaded as for the server; PROBE_SQL="stmt; stmt" runs statements after the
 * migrations (an experiment: drop an index, a trigger …).
 */

const total = Number(process.argv[2] ?? 20_000);
const batchSize = Number(process.argv[3] ?? 50);
const SENDERS = 1000;
const dir = mkdtempSync(join(tmpdir(), 'sb-probe-'));
const dbPath = join(dir, 'probe.db');
const store = await openStore(`sqlite:${dbPath}`, { sqliteSync: process.env.SQLITE_SYNC === 'offloaded' ? 'offloaded' : 'full' });
for (const statement of (process.env.PROBE_SQL ?? '')
  .split(';')
  .map((s) => s.trim())
  .filter(Boolean)) {
  await sql.raw(statement).execute(store.db);
}
const committer = new GroupCommitter(store, { maxBatch: 256 });
const bytesWritten = () => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);

function webhook(n: number) {
  const id = `wamid.probe${n.toString(36).padStart(8, '0')}`;
  const raw = JSON.stringify(
    metaTextPayload(id, `1650555${String(n % SENDERS).padStart(4, '0')}`, `Hello, I need help with order ${id.slice(-6)} please`),
  );
  return { raw, batch: parseMetaWebhook(JSON.parse(raw), new Date()) };
}

async function run(from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i += batchSize) {
    const items = [];
    for (let j = i; j < Math.min(i + batchSize, from + count); j++) items.push(webhook(j));
    await Promise.all(items.map((w) => receiveWebhook(committer, 'meta', w.raw, w.batch, { responder: 'faq' })));
  }
}

await run(0, 2_000); // every sender known, every statement prepared
// Without checkpoints the WAL only grows: afterwards it holds every frame the measured commits wrote.
await store.checkpointer?.stop();
const walPath = `${dbPath}-wal`;
const wal0 = statSync(walPath).size;
const batches0 = committer.stats.batches;
const io0 = bytesWritten();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await run(2_000, total);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const commits = committer.stats.batches - batches0;
console.log(
  JSON.stringify({
    messages: total,
    batch: batchSize,
    sync: process.env.SQLITE_SYNC ?? 'full',
    commits,
    perSecond: Math.round(total / (ms / 1000)),
    cpuUsPerMessage: Math.round((cpu.user + cpu.system) / total),
    bytesWrittenPerMessage: Math.round((bytesWritten() - io0) / total),
  }),
);

// Which b-tree each WAL frame of the measured run belongs to (dbstat on the checkpointed file).
const walCopy = join(dir, 'wal-copy');
copyFileSync(walPath, walCopy);
await store.close();
const wal = readFileSync(walCopy);
const pageSize = wal.readUInt32BE(8);
const framesByPage = new Map<number, number>();
let frames = 0;
for (let offset = Math.max(32, wal0 - ((wal0 - 32) % (24 + pageSize))); offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) {
  const page = wal.readUInt32BE(offset);
  framesByPage.set(page, (framesByPage.get(page) ?? 0) + 1);
  frames++;
}
const db = new Database(dbPath, { readonly: true });
const owner = new Map(
  (db.prepare('select pageno, name from dbstat').all() as { pageno: number; name: string }[]).map((r) => [r.pageno, r.name]),
);
db.close();
const byName = new Map<string, number>();
for (const [page, n] of framesByPage) byName.set(owner.get(page) ?? '(freed)', (byName.get(owner.get(page) ?? '(freed)') ?? 0) + n);
console.log(
  `WAL frames: ${frames} in ${commits} commits, ${(frames / commits).toFixed(1)} per commit, ${((frames * pageSize) / total / 1024).toFixed(1)} KiB per message`,
);
for (const [name, n] of [...byName].sort((a, b) => b[1] - a[1]).filter(([, n]) => n / commits >= 0.5)) {
  console.log(`${(n / commits).toFixed(1).padStart(8)} per commit  ${name}`);
}
rmSync(dir, { recursive: true, force: true });
