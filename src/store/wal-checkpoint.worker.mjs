// The SQLite WAL checkpointer's thread (see wal-checkpointer.ts). Plain JavaScript: a worker thread
// does not inherit the TypeScript loader of the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs } = workerData;
const db = new Database(path, { fileMustExist: true });
// A checkpoint fsyncs the WAL before copying it into the database, and the database after.
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 0');

let failures = 0;
let lastLog = -1;
const timer = setInterval(() => {
  try {
    // PASSIVE: copies what it can without waiting for readers or the writer; never blocks them.
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    failures = 0;
    // Told only when the WAL moved on since the last round (an idle server posts nothing).
    if (result.log !== lastLog && result.checkpointed > 0) {
      parentPort.postMessage({ type: 'checkpoint', frames: result.checkpointed, log: result.log });
    }
    lastLog = result.log;
  } catch (err) {
    // SQLITE_BUSY: another checkpoint runs; try again next time. Anything persistent is reported.
    if (err?.code !== 'SQLITE_BUSY' && ++failures >= 3) {
      parentPort.postMessage({ type: 'failed', message: String(err?.message ?? err) });
      clearInterval(timer);
    }
  }
}, intervalMs);

parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
