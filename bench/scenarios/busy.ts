import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TEST_SECRETS } from '../../test/support/app.js';
import type { BenchContext } from '../lib/bench-context.js';
import { CONTACT_NAME, createSchema, seededRandom, sentence, SqliteFiller, fillJsonBlob } from '../lib/fill.js';
import { startBaseline, startSwitchboard } from '../lib/processes.js';
import type { Row, Section } from '../lib/report.js';
import { runIngestLoad, type IngestLoadResult } from '../lib/webhooks.js';

const CONNECTIONS = 50;
const BUSY_FROM = '96170123456';

interface SizeResult {
  size: number;
  ours: IngestLoadResult;
  anchor: IngestLoadResult;
  ourRowsAfter: number;
  ourConversations: number;
  anchorMessagesAfter: number;
  anchorDocBytesBefore: number;
  anchorDocBytesAfter: number;
  fillMs: number;
}

function sizes(ctx: BenchContext): number[] {
  return ctx.quick ? [100, 1_000, 5_000] : [1_000, 10_000, 100_000];
}

function windows(ctx: BenchContext) {
  return ctx.quick ? { warmupS: 0, durationS: 2 } : { warmupS: 1, durationS: 5 };
}

/** The anchor needs a longer window when a single message costs it a good part of a second. */
function anchorSeconds(ctx: BenchContext, size: number): number {
  return size >= 50_000 ? 4 * windows(ctx).durationS : windows(ctx).durationS;
}

/** A Switchboard database whose one conversation (channel of the bench's webhooks, BUSY_FROM) already holds `size` messages. */
async function fillSwitchboard(path: string, size: number): Promise<void> {
  await createSchema(path);
  const filler = new SqliteFiller(path);
  const random = seededRandom(size);
  const end = Date.now() - 60_000;
  const at = (seq: number) => new Date(end - (size - seq) * 30_000).toISOString();
  const channelId = filler.channel(at(1));
  const contactId = filler.contact(channelId, BUSY_FROM, CONTACT_NAME, at(1));
  const conversationId = `c_${'0'.repeat(15)}1`;
  filler.conversation(conversationId, channelId, contactId, {
    state: 'ai',
    lastSeq: size,
    unread: 0,
    lastActivityAt: at(size),
    createdAt: at(1),
  });
  filler.messages(conversationId, 1, size, {
    text: () => sentence(random),
    timestamp: at,
    role: (seq) => (seq % 2 === 1 ? 'user' : 'assistant'),
  });
  filler.close();
}

async function measureSize(ctx: BenchContext, size: number): Promise<SizeResult> {
  const { warmupS, durationS } = windows(ctx);
  const dir = ctx.scratch(`busy-${size}`);

  const dbPath = join(dir, 'switchboard.db');
  const fillStarted = performance.now();
  await fillSwitchboard(dbPath, size);
  const fillMs = performance.now() - fillStarted;
  // Started after the fill: the server meets the conversation as it would after a restart.
  const server = await startSwitchboard({ databaseUrl: `sqlite:${dbPath}`, dataDir: dir, profileDir: ctx.profileDir });
  let ours: IngestLoadResult;
  try {
    ours = await runIngestLoad({
      url: server.url,
      connections: CONNECTIONS,
      warmupS,
      durationS,
      from: () => BUSY_FROM,
      idPrefix: `busy${size}x`,
    });
  } finally {
    await server.stop();
  }
  const db = new Database(dbPath, { readonly: true });
  const ourRowsAfter = db.prepare('select count(*) from messages').pluck().get() as number;
  const ourConversations = db.prepare('select count(*) from conversations').pluck().get() as number;
  db.close();

  const blobPath = join(dir, 'json-blob.db');
  fillJsonBlob(blobPath, BUSY_FROM, size);
  const docBytes = () => {
    const blob = new Database(blobPath, { readonly: true });
    const row = blob
      .prepare("select length(doc) as bytes, json_array_length(doc, '$.messages') as messages from conversations where id = ?")
      .get(BUSY_FROM) as { bytes: number; messages: number };
    blob.close();
    return row;
  };
  const before = docBytes();
  const anchorServer = await startBaseline('json-blob', [blobPath, TEST_SECRETS.META_APP_SECRET]);
  let anchor: IngestLoadResult;
  try {
    // No warm-up: requests it leaves queued would take the anchor many seconds to drain and eat the measured window.
    anchor = await runIngestLoad({
      url: anchorServer.url,
      connections: CONNECTIONS,
      warmupS: 0,
      durationS: anchorSeconds(ctx, size),
      from: () => BUSY_FROM,
      idPrefix: `blob${size}x`,
      timeoutS: 60,
    });
  } finally {
    await anchorServer.stop();
  }
  const after = docBytes();
  return {
    size,
    ours,
    anchor,
    ourRowsAfter,
    ourConversations,
    fillMs,
    anchorMessagesAfter: after.messages,
    anchorDocBytesBefore: before.bytes,
    anchorDocBytesAfter: after.bytes,
  };
}

const MIB = 1024 * 1024;

/** Item 2: every message into one conversation already holding 1k / 10k / 100k, beside the whole-array-per-row model. */
export async function runBusyConversation(ctx: BenchContext): Promise<Section> {
  const results: SizeResult[] = [];
  for (const size of sizes(ctx)) {
    ctx.log(`busy: conversation of ${size.toLocaleString('en-US')} messages`);
    const r = await measureSize(ctx, size);
    ctx.log(`busy: ${size}: Switchboard ${r.ours.rate.toFixed(0)}/s, JSON array ${r.anchor.rate.toFixed(1)}/s`);
    results.push(r);
  }
  const { warmupS, durationS } = windows(ctx);
  const rows: Row[] = results.map((r) => ({
    scenario: 'one busy conversation',
    figure: `msgs/s with ${r.size.toLocaleString('en-US')} already in it`,
    value: r.ours.rate,
    unit: 'msg/s',
    baseline: r.anchor.rate,
    baselineName: 'JSON array row',
    target: { on: 'value', op: '>=', limit: 1000 },
  }));
  const perSize = results.map(
    (r) =>
      `- ${r.size.toLocaleString('en-US')} messages: Switchboard ${r.ours.ok.toLocaleString('en-US')} × 200 in ${r.ours.durationS.toFixed(1)} s ` +
      `(p50 ${r.ours.p50Ms} ms, p99 ${r.ours.p99Ms} ms, non-2xx ${r.ours.non2xx}, errors ${r.ours.errors}); afterwards ${r.ourRowsAfter.toLocaleString('en-US')} message rows in ` +
      `${r.ourConversations} conversation(s) (fill ${(r.fillMs / 1000).toFixed(1)} s). JSON-array anchor ${r.anchor.ok.toLocaleString('en-US')} × 200 in ${r.anchor.durationS.toFixed(1)} s ` +
      `(p50 ${r.anchor.p50Ms} ms, p99 ${r.anchor.p99Ms} ms, timeouts ${r.anchor.timeouts}); its row grew from ${(r.anchorDocBytesBefore / MIB).toFixed(2)} MiB to ` +
      `${(r.anchorDocBytesAfter / MIB).toFixed(2)} MiB (${r.anchorMessagesAfter.toLocaleString('en-US')} messages).`,
  );
  return {
    name: 'busy',
    title: '2. One busy conversation',
    rows,
    notes: [
      `Every webhook from the same sender, so all go into one conversation that already holds the given number of messages (pre-filled with bulk inserts into the schema, then the server started). ` +
        `${CONNECTIONS} connections, ${warmupS > 0 ? `${warmupS} s warm-up then ` : ''}${durationS} s measured; the conversation grows during the run by what was ingested. ` +
        `The anchor gets no warm-up (what a warm-up leaves queued would take it seconds to drain) and ${anchorSeconds(ctx, 100_000)} s at 50,000 messages and more.`,
      "Anchor: the original system's storage model on the same SQLite (WAL, synchronous=FULL) — one row holding the conversation document with its whole `messages` array as JSON; " +
        'each message verifies the signature like Switchboard, then reads the row, parses it, appends, serialises and rewrites it in one transaction (bench/servers/json-blob.ts). ' +
        "Its cost grows with the conversation; Switchboard's append touches one conversation row and the (conversation_id, message_id) / (conversation_id, seq) index pages only.",
      'The original ran on Firestore, which adds two hard limits this SQLite anchor does not even show: about one sustained write per second per document ' +
        '(a busy conversation is one document, so ~1 message/s whatever the hardware), and a 1 MiB document cap — at a few hundred bytes per message a conversation document ' +
        'is full after roughly 3,000–4,000 messages.',
      'What limits Switchboard here: the same per-message CPU and per-batch fsync as in ingest above, and no term that grows with the conversation — the append touches ' +
        'one conversation row (last_seq, unread_count, last_activity_at) and the index pages at the end of (conversation_id, seq), which stay hot, so one busy conversation ' +
        'is if anything a little faster than 1,000 conversations. The anchor rewrites the whole document per message: its cost grows linearly with the conversation ' +
        '(0.2 MiB → 19 MiB parsed, serialised and written per message).',
      ...perSize,
    ],
  };
}
