import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { NOTICE_KINDS, parseNoticeOverrides, type NoticeKind, type NoticeOverrides } from './chat/notices.js';

/** The whole runtime configuration, parsed once from the environment (SPEC §12). Nothing else reads process.env. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  /** SQLite: `full` fsyncs inside COMMIT (synchronous=FULL); `offloaded` fsyncs the WAL on the thread pool before acknowledging (store/wal-sync.ts). */
  readonly sqliteSync: 'full' | 'offloaded';
  /** PostgreSQL: the webhook path's statements as named prepared statements (off behind a transaction-mode pooler). */
  readonly pgPreparedStatements: boolean;
  readonly dataDir: string;
  readonly mediaStore: 'files' | 'database';
  readonly publicUrl: string | null;
  readonly logLevel: string;
  readonly eventRetentionDays: number;
  /** How often open SSE streams re-check their session (logout, expiry, disabled operator end them). */
  readonly sseSessionCheckMs: number;
  /** SSE `: ping` comment interval (SPEC §8: 15 s; shorter in tests). */
  readonly ssePingIntervalMs: number;
  /** Limits of the HTTP server against slow or numerous clients (docs/SECURITY.md). */
  readonly http: {
    /** A request's headers and body must have arrived within this; a slower one gets 408 and is closed. */
    readonly requestTimeoutMs: number;
    /** The headers alone must have arrived within this (at most requestTimeoutMs). */
    readonly headersTimeoutMs: number;
    /** An idle keep-alive connection is closed after this. */
    readonly keepAliveTimeoutMs: number;
    /** Open connections at most (SSE streams included); further ones are refused at accept. */
    readonly maxConnections: number;
    /** Webhook bodies read at once before their signature could be checked; more get 503 unread. */
    readonly maxUnverifiedBodies: number;
  };
  readonly meta: {
    readonly appSecret: string | null;
    readonly verifyToken: string | null;
    readonly accessToken: string | null;
    readonly phoneNumberId: string | null;
    readonly graphUrl: string;
  };
  readonly montymobile: {
    readonly webhookToken: string | null;
    readonly tenant: string | null;
    readonly apiKey: string | null;
    readonly sourceNumber: string | null;
    readonly apiUrl: string;
    /** How voice notes and audio are sent (REFERENCE §2.3: "AUDIO type doesn't deliver"): as DOCUMENT (default) or AUDIO. */
    readonly audioAs: 'document' | 'audio';
  };
  readonly qiscus: {
    readonly appCode: string | null;
    readonly secretKey: string | null;
    readonly webhookSecret: string | null;
    readonly apiUrl: string;
    readonly botEmail: string | null;
    /** The bot API's attachment body, unknown (REFERENCE §3.9): `payload` ({url, caption}) or `top_level` (attachment_url). */
    readonly attachmentForm: 'payload' | 'top_level';
  };
  readonly ai: {
    readonly responder: 'faq' | 'openai' | 'none';
    readonly knowledgeFile: string | null;
    /** The faq responder's answer rule: the best entry's confidence (0–1) and its lead over the second. */
    readonly faq: { readonly minScore: number; readonly margin: number };
    readonly openaiBaseUrl: string | null;
    readonly openaiApiKey: string | null;
    readonly model: string | null;
    readonly transcribeModel: string | null;
    /** [AI1] customer messages within this window get one reply. */
    readonly debounceMs: number;
    /** A file with the openai responder's system prompt (the built-in one without it). */
    readonly systemPromptFile: string | null;
    /** Whether the model accepts images: photos are sent to it, else it is told a photo was sent [AI2]. */
    readonly vision: boolean;
    /** Most messages of history given to the model. */
    readonly historyLimit: number;
    /** One generation's time limit. */
    readonly timeoutMs: number;
    /** Failed attempts of one reply before the conversation is handed over (`ai_failed`). */
    readonly maxAttempts: number;
    /** Backoff between failed attempts of one reply: base × 2^(attempt−1), capped, with jitter. */
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
    /** How long a reply waits for a voice note's transcript (or a photo's download for a vision model) before answering without it [AI2]. */
    readonly mediaWaitMs: number;
    /** Replies generated at once per process. */
    readonly concurrency: number;
    /** A JSON file overriding the notices' texts per language [AI6]. */
    readonly noticesFile: string | null;
    /** Which notices are sent [AI6] (AI_NOTICES: a comma list of kinds, `all` (default) or `none`). */
    readonly notices: readonly NoticeKind[];
    /** The notices file's texts, read and checked once at start (null without a file). */
    readonly noticeOverrides: NoticeOverrides | null;
  };
  /** The outbound sender [OUT1]. */
  readonly outbox: {
    /** Attempts of one send before the message is marked failed. */
    readonly maxAttempts: number;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
    /** One provider call's time limit. */
    readonly sendTimeoutMs: number;
    /** Sends running at once per process (one conversation's messages still leave in order). */
    readonly concurrency: number;
    /**
     * Text sends started ahead of a free slot: their start marker commits while the slots are busy.
     * After a crash these were never sent but count as started (`unconfirmed` decides), so at most
     * this many more messages than `concurrency` can come back `send_unconfirmed`.
     */
    readonly prefetch: number;
    /**
     * An attempt that started and has no recorded outcome (the process died during the provider
     * call): `fail` marks the message failed with `send_unconfirmed` (never a duplicate; the
     * default), `resend` sends it once more (never lost; may duplicate — Meta has no idempotency key).
     */
    readonly unconfirmed: 'fail' | 'resend';
  };
  readonly admin: { readonly email: string | null; readonly password: string | null };
  readonly media: {
    readonly maxBytes: number;
    /** Attempts of one media download before it is marked failed. */
    readonly downloadMaxAttempts: number;
    /** Downloads running at once per process. */
    readonly downloadConcurrency: number;
    /** One attempt's time limit (lookup plus transfer). */
    readonly downloadTimeoutMs: number;
    /** Backoff between attempts: base × 2^(attempt−1), capped, with jitter. */
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
    /**
     * Host names or IP addresses media may be fetched from although they are (or resolve to) a
     * loopback, private, link-local or otherwise internal address; empty: none.
     */
    readonly fetchAllowHosts: readonly string[];
    /**
     * Key of the signed `/media-links/{media_id}` URLs handed to MontyMobile and Qiscus (they take
     * media by public URL only). Null: a random key kept in the database's `settings` table, so
     * every process on the database signs and checks alike.
     */
    readonly linkSecret: string | null;
    /** How long a signed media link stays valid, in seconds. */
    readonly linkTtlSeconds: number;
  };
  /** Background job runners: how often they look for due jobs, and how long a claim holds. */
  readonly jobs: { readonly pollMs: number; readonly lockMs: number };
  readonly groupCommit: { readonly maxBatch: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

/** Reads and checks AI_NOTICES_FILE [AI6]; a missing, unreadable or invalid file is a configuration problem naming it. */
function noticeOverridesFile(path: string | null, problems: string[]): NoticeOverrides | null {
  if (path === null) return null;
  try {
    return parseNoticeOverrides(JSON.parse(readFileSync(path, 'utf8')) as unknown);
  } catch (err) {
    problems.push(`AI_NOTICES_FILE=${JSON.stringify(path)}: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}

/** Parses the environment; collects every problem and throws one ConfigError naming each variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const str = (name: string): string | null => {
    const v = env[name]?.trim();
    return v ? v : null;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const fraction = (name: string, fallback: number): number => {
    const raw = str(name);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected a number from 0 to 1`);
      return fallback;
    }
    return n;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = str(name);
    if (raw === null) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected one of ${allowed.join(', ')}`);
      return fallback;
    }
    return raw as T;
  };
  const url = (name: string, fallback: string | null): string | null => {
    const raw = str(name);
    if (raw === null) return fallback;
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
      return raw.replace(/\/+$/, '');
    } catch {
      problems.push(`${name}=${JSON.stringify(raw)}: expected an http(s) URL`);
      return fallback;
    }
  };

  const dataDir = resolve(str('DATA_DIR') ?? './data');
  const databaseUrl = str('DATABASE_URL') ?? `sqlite:${resolve(dataDir, 'switchboard.db')}`;
  if (!/^(sqlite:|postgres(ql)?:\/\/|pglite:)/.test(databaseUrl)) {
    problems.push(`DATABASE_URL=${JSON.stringify(databaseUrl)}: expected sqlite:<path>, sqlite::memory:, or postgres://…`);
  }

  const config: Config = {
    port: int('PORT', 3000, 0, 65535),
    host: str('HOST') ?? '0.0.0.0',
    databaseUrl,
    sqliteSync: oneOf('SQLITE_SYNC', ['full', 'offloaded'] as const, 'full'),
    pgPreparedStatements: oneOf('PG_PREPARED_STATEMENTS', ['on', 'off'] as const, 'on') === 'on',
    dataDir,
    mediaStore: oneOf('MEDIA_STORE', ['files', 'database'] as const, 'files'),
    publicUrl: url('PUBLIC_URL', null),
    logLevel: oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    eventRetentionDays: int('EVENT_RETENTION_DAYS', 7, 1, 3650),
    ssePingIntervalMs: int('SSE_PING_INTERVAL_MS', 15_000, 100, 3_600_000),
    sseSessionCheckMs: int('SSE_SESSION_CHECK_MS', 30_000, 50, 3_600_000),
    http: {
      requestTimeoutMs: int('HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000),
      headersTimeoutMs: int('HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 3_600_000),
      keepAliveTimeoutMs: int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, 100, 3_600_000),
      maxConnections: int('HTTP_MAX_CONNECTIONS', 4_096, 1, 1_000_000),
      maxUnverifiedBodies: int('WEBHOOK_MAX_UNVERIFIED_BODIES', 32, 1, 10_000),
    },
    meta: {
      appSecret: str('META_APP_SECRET'),
      verifyToken: str('META_VERIFY_TOKEN'),
      accessToken: str('META_ACCESS_TOKEN'),
      phoneNumberId: str('META_PHONE_NUMBER_ID'),
      graphUrl: url('META_GRAPH_URL', 'https://graph.facebook.com/v25.0')!,
    },
    montymobile: {
      webhookToken: str('MONTYMOBILE_WEBHOOK_TOKEN'),
      tenant: str('MONTYMOBILE_TENANT'),
      apiKey: str('MONTYMOBILE_API_KEY'),
      sourceNumber: str('MONTYMOBILE_SOURCE_NUMBER'),
      apiUrl: url('MONTYMOBILE_API_URL', 'https://whatsapp-notification.montymobile.com')!,
      audioAs: oneOf('MONTYMOBILE_AUDIO_AS', ['document', 'audio'] as const, 'document'),
    },
    qiscus: {
      appCode: str('QISCUS_APP_CODE'),
      secretKey: str('QISCUS_SECRET_KEY'),
      webhookSecret: str('QISCUS_WEBHOOK_SECRET'),
      apiUrl: url('QISCUS_API_URL', 'https://omnichannel.qiscus.com')!,
      botEmail: str('QISCUS_BOT_EMAIL'),
      attachmentForm: oneOf('QISCUS_ATTACHMENT_FORM', ['payload', 'top_level'] as const, 'payload'),
    },
    ai: {
      responder: oneOf('AI_RESPONDER', ['faq', 'openai', 'none'] as const, 'faq'),
      knowledgeFile: str('AI_KNOWLEDGE_FILE'),
      faq: { minScore: fraction('AI_FAQ_MIN_SCORE', 0.35), margin: fraction('AI_FAQ_MARGIN', 0.05) },
      openaiBaseUrl: url('OPENAI_BASE_URL', null),
      openaiApiKey: str('OPENAI_API_KEY'),
      model: str('AI_MODEL'),
      transcribeModel: str('AI_TRANSCRIBE_MODEL'),
      debounceMs: int('AI_DEBOUNCE_MS', 3_000, 0, 600_000),
      systemPromptFile: str('AI_SYSTEM_PROMPT_FILE'),
      vision: oneOf('AI_VISION', ['on', 'off'] as const, 'off') === 'on',
      historyLimit: int('AI_HISTORY_LIMIT', 30, 1, 500),
      timeoutMs: int('AI_TIMEOUT_MS', 60_000, 100, 3_600_000),
      maxAttempts: int('AI_MAX_ATTEMPTS', 3, 1, 100),
      retryBaseMs: int('AI_RETRY_BASE_MS', 2_000, 1, 3_600_000),
      retryMaxMs: int('AI_RETRY_MAX_MS', 60_000, 1, 86_400_000),
      mediaWaitMs: int('AI_MEDIA_WAIT_MS', 120_000, 0, 3_600_000),
      concurrency: int('AI_CONCURRENCY', 4, 1, 256),
      notices: noticeKinds(str('AI_NOTICES'), problems),
      noticesFile: str('AI_NOTICES_FILE'),
      noticeOverrides: noticeOverridesFile(str('AI_NOTICES_FILE'), problems),
    },
    outbox: {
      maxAttempts: int('OUTBOX_MAX_ATTEMPTS', 10, 1, 1000),
      retryBaseMs: int('OUTBOX_RETRY_BASE_MS', 1_000, 1, 3_600_000),
      retryMaxMs: int('OUTBOX_RETRY_MAX_MS', 300_000, 1, 86_400_000),
      sendTimeoutMs: int('OUTBOX_SEND_TIMEOUT_MS', 30_000, 100, 3_600_000),
      concurrency: int('OUTBOX_CONCURRENCY', 8, 1, 256),
      prefetch: int('OUTBOX_PREFETCH', 0, 0, 1024),
      unconfirmed: oneOf('OUTBOX_UNCONFIRMED', ['fail', 'resend'] as const, 'fail'),
    },
    admin: { email: str('ADMIN_EMAIL'), password: str('ADMIN_PASSWORD') },
    media: {
      maxBytes: int('MEDIA_MAX_BYTES', 100 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      downloadMaxAttempts: int('MEDIA_DOWNLOAD_MAX_ATTEMPTS', 6, 1, 100),
      downloadConcurrency: int('MEDIA_DOWNLOAD_CONCURRENCY', 4, 1, 64),
      downloadTimeoutMs: int('MEDIA_DOWNLOAD_TIMEOUT_MS', 120_000, 100, 3_600_000),
      retryBaseMs: int('MEDIA_RETRY_BASE_MS', 2_000, 1, 3_600_000),
      retryMaxMs: int('MEDIA_RETRY_MAX_MS', 300_000, 1, 86_400_000),
      fetchAllowHosts: (str('MEDIA_FETCH_ALLOW_HOSTS') ?? '')
        .split(',')
        .map((h) =>
          h
            .trim()
            .toLowerCase()
            .replace(/^\[(.*)\]$/, '$1'),
        )
        .filter(Boolean),
      linkSecret: str('MEDIA_LINK_SECRET'),
      linkTtlSeconds: int('MEDIA_LINK_TTL_SECONDS', 900, 60, 7 * 86_400),
    },
    jobs: {
      pollMs: int('JOB_POLL_MS', 1_000, 5, 60_000),
      lockMs: int('JOB_LOCK_MS', 300_000, 100, 86_400_000),
    },
    groupCommit: { maxBatch: int('GROUP_COMMIT_MAX_BATCH', 256, 1, 10_000) },
  };

  if (config.media.linkSecret !== null && config.media.linkSecret.length < 32) {
    problems.push('MEDIA_LINK_SECRET must be at least 32 characters');
  }
  if (config.ai.responder === 'openai' && !config.ai.openaiBaseUrl) {
    problems.push('AI_RESPONDER=openai needs OPENAI_BASE_URL');
  }
  // A claim must outlive the work it covers, or a second worker would take a job still running.
  if (config.media.downloadTimeoutMs >= config.jobs.lockMs) problems.push('MEDIA_DOWNLOAD_TIMEOUT_MS must be below JOB_LOCK_MS');
  if (config.outbox.sendTimeoutMs >= config.jobs.lockMs) problems.push('OUTBOX_SEND_TIMEOUT_MS must be below JOB_LOCK_MS');
  if (config.http.headersTimeoutMs > config.http.requestTimeoutMs)
    problems.push('HTTP_HEADERS_TIMEOUT_MS must not be above HTTP_REQUEST_TIMEOUT_MS');
  if (config.ai.timeoutMs >= config.jobs.lockMs) problems.push('AI_TIMEOUT_MS must be below JOB_LOCK_MS');
  const email = config.admin.email;
  if (email !== null && !/^[^@\s]+@[^@\s]+$/.test(email)) problems.push(`ADMIN_EMAIL=${JSON.stringify(email)}: not an email address`);
  if (config.admin.password !== null && config.admin.password.length < 8) problems.push('ADMIN_PASSWORD: must be at least 8 characters');

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** AI_NOTICES: `all` (the default), `none`, or a comma list of notice kinds; an unknown kind is named. */
function noticeKinds(raw: string | null, problems: string[]): readonly NoticeKind[] {
  if (raw === null || raw === 'all') return NOTICE_KINDS;
  if (raw === 'none') return [];
  const kinds = raw
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const unknown = kinds.filter((k) => !(NOTICE_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0 || kinds.length === 0) {
    problems.push(`AI_NOTICES=${JSON.stringify(raw)}: expected all, none or a comma list of ${NOTICE_KINDS.join(', ')}`);
    return NOTICE_KINDS;
  }
  return kinds as NoticeKind[];
}
