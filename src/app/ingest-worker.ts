import { parentPort, workerData } from 'node:worker_threads';
import { isDomainError } from '../chat/errors.js';
import { openStore } from '../store/database.js';
import { GroupCommitter } from '../store/group-commit.js';
import { receiveWebhook } from './receive-webhook.js';
import type { IngestReply, IngestRequest, IngestWorkerData } from './ingest-thread.js';

/*
 * The webhook writer thread: its own SQLite writer connection and group committer run every
 * webhook's transaction (SQL, COMMIT and its fsync) here, beside the main thread's HTTP work.
 */
const port = parentPort!;
const data = workerData as IngestWorkerData;
const store = await openStore(data.databaseUrl, { sqliteSync: data.sqliteSync, migrate: false, checkpoints: false });
const committer = new GroupCommitter(store, {
  maxBatch: data.maxBatch,
  onEventsCommitted: (lastEventId) => port.postMessage({ type: 'events', lastEventId } satisfies IngestReply),
});

port.on('message', (m: IngestRequest) => {
  if (m.type === 'close') {
    void committer.idle().then(() => store.close()).then(() => {
      port.postMessage({ type: 'closed' } satisfies IngestReply);
      port.close();
    });
    return;
  }
  receiveWebhook(committer, m.provider, m.rawBody, m.batch, m.options).then(
    (result) => port.postMessage({ type: 'result', id: m.id, result } satisfies IngestReply),
    (err: unknown) => port.postMessage({
      type: 'result',
      id: m.id,
      error: { message: err instanceof Error ? err.message : String(err), code: isDomainError(err) ? err.code : null },
    } satisfies IngestReply),
  );
});
port.postMessage({ type: 'ready' } satisfies IngestReply);
