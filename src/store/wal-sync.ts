import { open, type FileHandle } from 'node:fs/promises';

/**
 * Makes SQLite commits durable off the event loop.
 *
 * With `synchronous = FULL`, SQLite fsyncs the WAL inside COMMIT, and better-sqlite3 runs COMMIT on
 * the event loop: for the 2–8 ms of every fsync nothing else happens (no request is parsed, no SSE
 * frame is written). Here the connection runs `synchronous = NORMAL` — COMMIT writes the WAL frames
 * to the file without an fsync — and this class fsyncs the WAL file on libuv's thread pool before
 * anybody is told: a write unit resolves (and its webhook gets its 200) only after an fsync that
 * began after its COMMIT has finished. That is the guarantee FULL gives, and one fsync serves every
 * commit made before it began, so batches pipeline: the next batch runs while the last one syncs.
 *
 * Readers of the event log ask `covering(id)` before they show events: what another connection
 * (or process) reads is committed but may not be on disk yet, and an event shown and then lost to a
 * power cut would let its id be handed out again. Event ids commit in id order, so "every id up to N
 * is on disk" is one number.
 *
 * A failed fsync poisons the store: the kernel may have dropped the pages it could not write, so
 * nothing committed afterwards can be called durable either; every later call fails until restart.
 */
export class WalSync {
  /** Every event id up to this one is on disk. */
  private durableId: number;
  private inFlight: { coverage: number; done: Promise<void> } | null = null;
  private next: { coverage: number; done: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;
  private failure: Error | null = null;
  private handle: FileHandle | null = null;
  readonly stats = { fsyncs: 0 };

  /** `walPath`: the database's `-wal` file; `durableId`: the newest event id already on disk. */
  constructor(
    private readonly walPath: string,
    durableId = 0,
  ) {
    this.durableId = durableId;
  }

  /** After a COMMIT that wrote events up to `lastEventId` (0: none): resolves once it is on disk. */
  afterCommit(lastEventId: number): Promise<void> {
    return this.queue(lastEventId);
  }

  /** Before showing events up to `eventId` read from the log: resolves once they are on disk. */
  covering(eventId: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (eventId <= this.durableId) return Promise.resolve();
    // The fsync in flight began after the commit of every id up to its coverage.
    if (this.inFlight && eventId <= this.inFlight.coverage) return this.inFlight.done;
    return this.queue(eventId);
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }

  /** An fsync that begins after this call: the next one, shared by every caller until it begins. */
  private queue(coverage: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.inFlight) return this.begin(coverage);
    if (this.next) {
      this.next.coverage = Math.max(this.next.coverage, coverage);
      return this.next.done;
    }
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.next = { coverage, done, resolve, reject };
    return done;
  }

  private begin(coverage: number): Promise<void> {
    const done = this.fsync()
      .then(
        () => {
          this.durableId = Math.max(this.durableId, coverage);
          this.stats.fsyncs++;
        },
        (err: unknown) => {
          this.failure = new Error(`fsync of the SQLite WAL failed; restart the server: ${(err as Error).message}`, { cause: err });
          throw this.failure;
        },
      )
      .finally(() => {
        this.inFlight = null;
        const waiting = this.next;
        this.next = null;
        if (!waiting) return;
        if (this.failure) waiting.reject(this.failure);
        else this.begin(waiting.coverage).then(waiting.resolve, waiting.reject);
      });
    this.inFlight = { coverage, done };
    return done;
  }

  private async fsync(): Promise<void> {
    // The WAL file stays the same file while the writer connection is open (SQLite removes it only
    // when the last connection closes), so one descriptor serves every fsync.
    this.handle ??= await open(this.walPath, 'r');
    await this.handle.sync();
  }
}
