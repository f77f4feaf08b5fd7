import { Worker } from 'node:worker_threads';

export interface WalCheckpointerOptions {
  /** How often the worker checkpoints what the WAL holds. */
  intervalMs?: number;
  /** The worker failed for good: the writer must checkpoint again itself. */
  onFailure(message: string): void;
}

/**
 * Checkpoints a SQLite WAL on a worker thread.
 *
 * By default the connection that commits runs the checkpoint when the WAL passes 1,000 pages —
 * inside COMMIT, on the event loop: copying the pages into the database and two fsyncs, tens of
 * milliseconds every few hundred webhooks, during which no request is parsed and no SSE frame is
 * written. The writer runs with `wal_autocheckpoint = 0` instead, and this worker's own connection
 * runs PASSIVE checkpoints every `intervalMs`: they wait for nobody and block nobody.
 */
export class WalCheckpointer {
  readonly stats = { checkpoints: 0, framesCheckpointed: 0 };
  private readonly worker: Worker;
  private stopped = false;

  constructor(
    databasePath: string,
    private readonly options: WalCheckpointerOptions,
  ) {
    this.worker = new Worker(new URL('./wal-checkpoint.worker.mjs', import.meta.url), {
      workerData: { path: databasePath, intervalMs: options.intervalMs ?? 100 },
    });
    this.worker.unref();
    this.worker.on('message', (m: { type: string; frames?: number; message?: string }) => {
      if (m.type === 'checkpoint') {
        this.stats.checkpoints++;
        this.stats.framesCheckpointed += m.frames ?? 0;
      } else if (m.type === 'failed') {
        this.fail(m.message ?? 'checkpoint failed');
      }
    });
    this.worker.on('error', (err) => this.fail(err.message));
    this.worker.on('exit', (code) => {
      if (!this.stopped) this.fail(`checkpoint worker exited with code ${code}`);
    });
  }

  /** Stops the worker; resolves when its connection is closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('stop');
    const timer = setTimeout(() => void this.worker.terminate(), 2000);
    await exited;
    clearTimeout(timer);
  }

  private fail(message: string): void {
    if (this.stopped) return;
    this.stopped = true;
    void this.worker.terminate();
    this.options.onFailure(message);
  }
}
