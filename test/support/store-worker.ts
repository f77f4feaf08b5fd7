/**
 * A second OS process for the store's concurrency tests: opens the database named in argv and
 * appends messages on request (IPC), so two processes race on one database for real.
 */
import { openStore } from '../../src/store/database.js';
import { appendMessage } from '../../src/store/message.store.js';
import { sampleMessage } from './store-fixtures.js';

const url = process.argv[2]!;
const store = await openStore(url, { migrate: false });

process.on('message', async (msg: { op: string; conversationId: string; messageIds: string[]; tag: number }) => {
  if (msg.op === 'close') {
    await store.close();
    process.exit(0);
  }
  try {
    const results = [];
    for (const id of msg.messageIds) {
      const r = await store.db.transaction().execute((trx) => appendMessage(trx, msg.conversationId, sampleMessage(id)));
      results.push({ pk: r.row.id, seq: r.row.seq, created: r.created });
    }
    process.send!({ tag: msg.tag, results });
  } catch (err) {
    process.send!({ tag: msg.tag, error: String(err) });
  }
});
process.send!({ ready: true });
