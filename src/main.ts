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
import { startAiWorker } from './app/reply-with-ai.js';
import { startTranscriptions } from './app/transcribe-media.js';
import { createFaqResponder } from './ai/faq.responder.js';
import { seedKnowledge } from './ai/knowledge-seed.js';
import { chooseResponder, createTranscriber } from './ai/responders.js';
import type { JobRunner } from './app/job-runner.js';
import { showTyping, startOutbox } from './app/deliver-outbox.js';
import { mediaFetchers, messageSenders } from './providers/registry.js';
import { loadMediaLinks } from './app/media-links.js';
import { Realtime } from './realtime/realtime.js';

export interface Running {
  readonly app: FastifyInstance;
  readonly ctx: AppContext;
  /** The base URL the server listens on (with the real port when PORT=0). */
  readonly url: string;
  /**
   * Background job runners of this process (tests wait on them with idle()): media downloads, the
   * outbox, the AI worker (null with AI_RESPONDER=none) and voice transcription (null without
   * AI_TRANSCRIBE_MODEL).
   */
  readonly jobs: {
    readonly media: JobRunner;
    readonly outbox: JobRunner;
    readonly ai: JobRunner | null;
    readonly transcribe: JobRunner | null;
  };
  /** Graceful stop: refuse new requests, finish in-flight ones, drain writes, close the database. */
  close(): Promise<void>;
}

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    // Secrets never reach the logs (SPEC §10).
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-webhook-token"]',
        'req.headers["x-hub-signature-256"]',
        '*.password',
        '*.password_hash',
        '*.token',
      ],
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
    store,
    committer,
    logger,
    retentionDays: config.eventRetentionDays,
    pingIntervalMs: config.ssePingIntervalMs,
    observer: {
      clientOpened: () => metrics.sseClients.inc(),
      clientClosed: () => metrics.sseClients.dec(),
      eventsDelivered: (count) => metrics.sseEventsDelivered.inc(count),
    },
  });
  await realtime.start();
  const ctx: AppContext = { config, store, committer, logger, metrics, realtime };
  let admin: Awaited<ReturnType<typeof bootstrapAdmin>>;
  try {
    admin = await bootstrapAdmin(ctx);
    await seedKnowledge(ctx);
  } catch (err) {
    // A start that cannot finish (a bad knowledge file …) leaves nothing open behind it.
    await realtime.stop();
    await committer.idle();
    await store.close();
    throw err;
  }
  if (admin.generatedPassword !== null) {
    // Printed once, to stdout only: never logged (SPEC §10).
    process.stdout.write(`First admin created: ${admin.createdEmail} with password ${admin.generatedPassword} (shown only now)\n`);
  } else if (admin.createdEmail !== null) {
    logger.info({ email: admin.createdEmail }, 'first admin created from ADMIN_EMAIL');
  }
  const app = await buildServer(ctx);
  await app.listen({ port: config.port, host: config.host });
  const transcriber = createTranscriber(config);
  // The knowledge base answers for `faq` and is the `openai` responder's context [AI7].
  const faq = createFaqResponder(ctx);
  const responder = chooseResponder(config, { faq, knowledge: faq });
  const links = await loadMediaLinks(ctx);
  const senders = messageSenders(config, (mediaId) => links.linkFor(mediaId));
  const jobs = {
    media: startMediaDownloads(ctx, mediaFetchers(config)),
    outbox: startOutbox(ctx, senders),
    // While the AI prepares a reply, the customer sees WhatsApp's typing indicator where the provider
    // has one; best effort, never delaying the reply (showTyping logs its own failures).
    ai: responder
      ? startAiWorker(ctx, {
          responder,
          onGenerating: (conversationId, messageId) => void showTyping(ctx, senders, conversationId, messageId),
        })
      : null,
    transcribe: transcriber ? startTranscriptions(ctx, transcriber) : null,
  };
  const runners = Object.values(jobs).filter((runner): runner is JobRunner => runner !== null);
  wakeJobs = () => runners.forEach((runner) => runner.wake());
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  let closing: Promise<void> | null = null;
  return {
    app,
    ctx,
    url: `http://${shownHost}:${port}`,
    jobs,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await realtime.stop();
        await Promise.all(runners.map((runner) => runner.stop()));
        await committer.idle();
        await store.close();
      })()),
  };
}
