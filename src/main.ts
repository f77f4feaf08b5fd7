import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { AppContext } from './app/context.js';
import { openStore } from './store/database.js';
import { GroupCommitter } from './store/group-commit.js';
import { buildServer } from './http/server.js';
import { createMetrics } from './http/metrics.js';
import { bootstrapAdmin } from './app/bootstrap-admin.js';
import { startMediaDownloads } from './app/download-media.js';
import type { JobRunner } from './app/job-runner.js';
import { startOutbox } from './app/deliver-outbox.js';
import { mediaFetchers, messageSenders } from './providers/registry.js';
import { Realtime } from './realtime/realtime.js';

export interface Running {
  readonly app: FastifyInstance;
  readonly ctx: AppContext;
  /** The base URL the server listens on (with the real port when PORT=0). */
  readonly url: string;
  /** Background job runners of this process (tests wait on them with idle()). */
  readonly jobs: { readonly media: JobRunner; readonly outbox: JobRunner };
  /** Graceful stop: refuse new requests, finish in-flight ones, drain writes, close the database. */
  close(): Promise<void>;
}

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    // Secrets never reach the logs (SPEC §10).
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-webhook-token"]', 'req.headers["x-hub-signature-256"]', '*.password', '*.password_hash', '*.token'],
      censor: '[redacted]',
    },
  });
}

/** The composition root: the one place that knows every concrete piece. */
export async function startServer(config: Config, logger: Logger = createLogger(config)): Promise<Running> {
  const store = await openStore(config.databaseUrl, { sqliteSync: config.sqliteSync, pgPreparedStatements: config.pgPreparedStatements });
  const committer = new GroupCommitter(store, {
    maxBatch: config.groupCommit.maxBatch,
    // Commits of this process wake the event tail at once; other processes' come by NOTIFY or the poll.
    // A commit with events may also have queued jobs (media, AI): poke the runners rather than wait for their poll.
    onEventsCommitted: (lastEventId) => {
      realtime.wake(lastEventId);
      wakeJobs();
    },
  });
  let wakeJobs = () => {};
  const metrics = createMetrics(store);
  const realtime = new Realtime({
    store, committer, logger, retentionDays: config.eventRetentionDays, pingIntervalMs: config.ssePingIntervalMs,
    observer: {
      clientOpened: () => metrics.sseClients.inc(),
      clientClosed: () => metrics.sseClients.dec(),
      eventsDelivered: (count) => metrics.sseEventsDelivered.inc(count),
    },
  });
  await realtime.start();
  const ctx: AppContext = { config, store, committer, logger, metrics, realtime };
  const admin = await bootstrapAdmin(ctx);
  if (admin.generatedPassword !== null) {
    // Printed once, to stdout only: never logged (SPEC §10).
    process.stdout.write(`First admin created: ${admin.createdEmail} with password ${admin.generatedPassword} (shown only now)\n`);
  } else if (admin.createdEmail !== null) {
    logger.info({ email: admin.createdEmail }, 'first admin created from ADMIN_EMAIL');
  }
  const app = await buildServer(ctx);
  await app.listen({ port: config.port, host: config.host });
  const jobs = { media: startMediaDownloads(ctx, mediaFetchers(config)), outbox: startOutbox(ctx, messageSenders(config)) };
  wakeJobs = () => Object.values(jobs).forEach((runner) => runner.wake());
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  let closing: Promise<void> | null = null;
  return {
    app,
    ctx,
    url: `http://${shownHost}:${port}`,
    jobs,
    close: () => (closing ??= (async () => {
      await app.close();
      await realtime.stop();
      await Promise.all(Object.values(jobs).map((runner) => runner.stop()));
      await committer.idle();
      await store.close();
    })()),
  };
}
