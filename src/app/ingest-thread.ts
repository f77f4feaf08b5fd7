import { Worker } from 'node:worker_threads';
import { DomainError, type ErrorCode } from '../chat/errors.js';
import type { InboundBatch, Provider } from '../chat/types.js';
import type { GroupCommitter } from '../store/group-commit.js';
import { receiveWebhook, type ReceiveOptions, type ReceiveResult } from './receive-webhook.js';

/** Stores one accepted webhook (receive-webhook.ts): in this thread, or on the writer thread. */
export interface Ingestor {
  receive(provider: Provider, rawBody: string, batch: InboundBatch, options: ReceiveOptions): Promise<ReceiveResult>;
  close(): Promise<void>;
}

/** The webhook's transaction runs on this thread's group committer. */
export function inProcessIngestor(committer: GroupCommitter): Ingestor {
  return {
    receive: (provider, rawBody, batch, options) => receiveWebhook(committer, provider, rawBody, batch, options),
    close: async () => {},
  };
}

export interface IngestWorkerData {
  databaseUrl: string;
  sqliteSync: 'full' | 'offloaded';
  maxBatch: number;
}

export type IngestRequest =
  | { type: 'receive'; id: number; provider: Provider; rawBody: string; batch: InboundBatch; options: ReceiveOptions }
  | { type: 'close' };

export type IngestReply =
  | { type: 'ready' }
  | { type: 'result'; id: number; result?: ReceiveResult; error?: { message: string; code: ErrorCode | null } }
  | { type: 'events'; lastEventId: number }
  | { type: 'closed' };

/**
 * SQLite: webhooks are stored by a writer thread of their own (ingest-worker.ts) with its own
 * connection and group committer, so SQL, COMMIT and the fsync run on the second core while this
 * thread parses and answers HTTP. A webhook's promise settles when the writer thread's batch has
 * committed (durably, as in this thread). Other writes (operators, jobs) keep this thread's writer
 * connection; the two take turns on SQLite's write lock.
 */
export class ThreadIngestor implements Ingestor {
  private readonly pending = new Map<number, { resolve(r: ReceiveResult): void; reject(e: unknown): void }>();
  private nextId = 1;
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {}

  static async start(data: IngestWorkerData, onEventsCommitted: (lastEventId: number) => void): Promise<ThreadIngestor> {
    const worker = new Worker(new URL('./ingest.worker.mjs', import.meta.url), { workerData: data });
    const ingestor = new ThreadIngestor(worker);
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (m: IngestReply) => {
        if (m.type === 'ready') resolve();
        else ingestor.onReply(m, onEventsCommitted);
      });
    });
    worker.on('error', (err) => ingestor.fail(err));
    worker.on('exit', (code) => ingestor.fail(new Error(`the webhook writer thread exited (${code})`)));
    return ingestor;
  }

  receive(provider: Provider, rawBody: string, batch: InboundBatch, options: ReceiveOptions): Promise<ReceiveResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'receive', id, provider, rawBody, batch, options } satisfies IngestRequest);
    });
  }

  /** Waits for the writer thread's queued webhooks to commit, then closes its connection. */
  async close(): Promise<void> {
    if (this.failure) return;
    const closed = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' } satisfies IngestRequest);
    await closed;
  }

  private onReply(m: IngestReply, onEventsCommitted: (lastEventId: number) => void): void {
    if (m.type === 'events') {
      onEventsCommitted(m.lastEventId);
    } else if (m.type === 'closed') {
      this.failure = new Error('the webhook writer thread is closed');
    } else if (m.type === 'result') {
      const waiter = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (!waiter) return;
      if (m.result) waiter.resolve(m.result);
      else waiter.reject(m.error?.code ? new DomainError(m.error.code, m.error.message) : new Error(m.error?.message ?? 'ingest failed'));
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.pending.values()) waiter.reject(this.failure);
    this.pending.clear();
  }
}
