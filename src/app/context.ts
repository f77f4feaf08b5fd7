import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Store } from '../store/database.js';
import type { GroupCommitter } from '../store/group-commit.js';
import type { Metrics } from '../http/metrics.js';
import type { Realtime } from '../realtime/realtime.js';

/** What the use cases and routes are given: built once by main.ts (or a test). */
export interface AppContext {
  readonly config: Config;
  readonly store: Store;
  readonly committer: GroupCommitter;
  readonly logger: Logger;
  /** Prometheus metrics of this process (GET /metrics). */
  readonly metrics: Metrics;
  /** Event-log tail and SSE fan-out of this process (SPEC §8). */
  readonly realtime: Realtime;
}
