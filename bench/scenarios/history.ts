import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { listConversationPage } from '../../src/store/conversation-query.store.js';
import { listMessages } from '../../src/store/message.store.js';
import type { DB } from '../../src/store/schema.js';
import { DEFAULT_MESSAGE_PAGE } from '../../src/app/read-conversations.js';
import type { BenchContext } from '../lib/bench-context.js';
import { createSchema, seededRandom, sentence, SqliteFiller } from '../lib/fill.js';
import { loginCookie, sampleGet, type Sampled } from '../lib/http-sampler.js';
import { startBaseline, startSwitchboard } from '../lib/processes.js';
import type { Row, Section } from '../lib/report.js';
import { median } from '../lib/stats.js';

const RARE_WORD = 'zanzibarite';
const COMMON_WORD = 'refund';
const NAMES = ['Rana', 'Omar', 'Layla', 'Karim', 'Maya', 'Sami', 'Nour', 'Hadi', 'Lina', 'Ziad', 'Yara', 'Fadi'];

interface HistorySpec {
  conversations: number;
  messages: number;
  big: number;
  small: number;
}

export interface HistoryDatabase {
  path: string;
  spec: HistorySpec;
  bigId: string;
  smallId: string;
  fillMs: number;
  bytes: number;
}

function specFor(ctx: BenchContext): HistorySpec {
  return ctx.quick
    ? { conversations: 500, messages: 50_000, big: 5_000, small: 100 }
    : { conversations: 10_000, messages: 1_000_000, big: 100_000, small: 100 };
}

/**
 * Builds the history database: `messages` over `conversations`, one conversation of `big`, one of
 * `small`, the rest spread evenly; one message somewhere holds RARE_WORD. Conversation ids are
 * sorted before the insert so the (conversation_id, …) indexes fill in order.
 */
async function buildHistory(ctx: BenchContext): Promise<HistoryDatabase> {
  const spec = specFor(ctx);
  const dir = ctx.scratch('history');
  const path = join(dir, 'switchboard.db');
  const started = performance.now();
  await createSchema(path);
  const random = seededRandom(42);
  const hex = () =>
    Math.floor(random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  const ids = Array.from({ length: spec.conversations }, () => `c_${hex()}${hex()}`).sort();
  const bigIndex = Math.floor(spec.conversations / 2);
  const smallIndex = Math.floor(spec.conversations / 3);
  const rareIndex = Math.floor(spec.conversations * 0.7);
  const rest = spec.messages - spec.big - spec.small;
  const others = spec.conversations - 2;
  const counts: number[] = [];
  for (let i = 0, other = 0; i < spec.conversations; i++) {
    if (i === bigIndex) counts.push(spec.big);
    else if (i === smallIndex) counts.push(spec.small);
    else counts.push(Math.floor(rest / others) + (other++ < rest % others ? 1 : 0));
  }

  const filler = new SqliteFiller(path);
  const now = Date.now();
  const channelId = filler.channel(new Date(now - 90 * 86_400_000).toISOString());
  for (let i = 0; i < spec.conversations; i++) {
    const count = counts[i]!;
    const lastAt = now - Math.floor(random() * 30 * 86_400_000);
    const at = (seq: number) => new Date(lastAt - (count - seq) * 30_000).toISOString();
    const contactId = filler.contact(channelId, `9617${String(i).padStart(7, '0')}`, `${NAMES[i % NAMES.length]} ${i}`, at(1));
    const state = random() < 0.7 ? 'ai' : random() < 0.85 ? 'resolved' : 'waiting';
    filler.conversation(ids[i]!, channelId, contactId, {
      state,
      lastSeq: count,
      unread: Math.floor(random() * 5),
      lastActivityAt: at(count),
      createdAt: at(1),
    });
    const rareSeq = i === rareIndex ? Math.ceil(count / 2) : -1;
    filler.messages(ids[i]!, 1, count, {
      text: (seq) => (seq === rareSeq ? `Is the ${RARE_WORD} parcel at the branch?` : sentence(random)),
      timestamp: at,
      role: (seq) => (seq % 2 === 1 ? 'user' : 'assistant'),
    });
  }
  const written = filler.rows;
  filler.close();
  const fillMs = performance.now() - started;
  ctx.log(`history: ${written.toLocaleString('en-US')} rows in ${(fillMs / 1000).toFixed(1)} s`);
  return { path, spec, bigId: ids[bigIndex]!, smallId: ids[smallIndex]!, fillMs, bytes: statSync(path).size };
}

const built = new Map<string, Promise<HistoryDatabase>>();

/** The history database of this run, built once for `history` and `coldstart`. */
function historyDatabase(ctx: BenchContext): Promise<HistoryDatabase> {
  let db = built.get(ctx.workDir);
  if (!db) built.set(ctx.workDir, (db = buildHistory(ctx)));
  return db;
}

interface Plan {
  title: string;
  sql: string;
  plan: string;
}

/** What a statement of the search is, from its SQL (the order listConversationPage sends them in). */
function searchStep(sql: string, index: number): string {
  if (/messages_fts/.test(sql) && /count\(\*\)/.test(sql)) return 'the text-index count (FTS5 phrase, at most 1,001 rows)';
  if (/messages_fts/.test(sql))
    return 'the conversations of the matching messages (index candidates fetched by rowid, re-checked with LIKE)';
  if (/^select "ct"\."id" from "contacts"/.test(sql)) return 'the matching contacts (name or number, at most 201)';
  if (/^select "c"\."id" from "conversations"/.test(sql)) return 'the conversations of the matching contacts';
  if (/^select "c"\.\* from "conversations"/.test(sql)) return 'the page';
  return `statement ${index + 1}`;
}

/** EXPLAIN QUERY PLAN of the SQL the store functions really send (captured through Kysely's log). */
async function explainPlans(h: HistoryDatabase): Promise<Plan[]> {
  const database = new Database(h.path, { readonly: true });
  const captured: { sql: string; parameters: readonly unknown[] }[] = [];
  const db = new Kysely<DB>({
    dialect: new SqliteDialect({ database }),
    log: (event) => {
      captured.push(event.query);
    },
  });
  const plans: Plan[] = [];
  const explain = (title: string, q: { sql: string; parameters: readonly unknown[] }) => {
    const rows = database.prepare(`explain query plan ${q.sql}`).all(...(q.parameters as unknown[])) as {
      id: number;
      parent: number;
      detail: string;
    }[];
    const depth = new Map<number, number>([[0, 0]]);
    const lines = rows.map((r) => {
      const d = (depth.get(r.parent) ?? 0) + 1;
      depth.set(r.id, d);
      return `${'  '.repeat(d - 1)}${r.detail}`;
    });
    plans.push({ title, sql: q.sql, plan: lines.join('\n') });
  };
  /** The statements a call sent, up to and including the one that reads the page (the rest read by key what the page names). */
  const sent = (isPage: (sql: string) => boolean) => {
    const page = captured.findIndex((q) => isPage(q.sql));
    const statements = captured.slice(0, page + 1);
    captured.length = 0;
    return statements;
  };
  const isSearchPage = (sql: string) => /^select "c"\.\* from "conversations"/.test(sql);
  try {
    await listMessages(db, h.bigId, { limit: DEFAULT_MESSAGE_PAGE });
    for (const q of sent((sql) => /from "messages"/.test(sql))) {
      explain(`latest page of the ${h.spec.big.toLocaleString('en-US')}-message conversation (listMessages)`, q);
    }
    await listConversationPage(db, 'sqlite', { search: RARE_WORD, limit: 50 });
    const rare = sent(isSearchPage);
    rare.forEach((q, i) =>
      explain(`search ?q=${RARE_WORD} (listConversationPage), statement ${i + 1} of ${rare.length}: ${searchStep(q.sql, i)}`, q),
    );
    await listConversationPage(db, 'sqlite', { search: COMMON_WORD, limit: 50 });
    const common = sent(isSearchPage);
    // The count is the rare word's statement 1 again; the page is the walk.
    const walk = common[common.length - 1];
    if (walk && common.length >= 2)
      explain(
        `search ?q=${COMMON_WORD} (listConversationPage), statement ${common.length} of ${common.length}: the page, after the count found more than 1,000 matches`,
        walk,
      );
  } finally {
    await db.destroy();
  }
  return plans;
}

/**
 * How many messages hold `word` (by the FTS5 phrase the search asks) and how many contacts hold it in
 * name or number: what decides the search's plan. For the notes; counted after the measured requests.
 */
function countMatches(h: HistoryDatabase, word: string): { messages: number; contacts: number } {
  const database = new Database(h.path, { readonly: true });
  try {
    const n = (sql: string, ...params: string[]) => (database.prepare(sql).get(...params) as { n: number }).n;
    return {
      messages: n('select count(*) as n from messages_fts where messages_fts match ?', `"${word}"`),
      contacts: n('select count(*) as n from contacts where name like ? or wa_id like ?', `%${word}%`, `%${word}%`),
    };
  } finally {
    database.close();
  }
}

/** Item 5: p99 of conversation details, the list's first page and search on 1M messages. */
export async function runHistory(ctx: BenchContext): Promise<Section> {
  const h = await historyDatabase(ctx);
  const count = ctx.quick ? 100 : 500;
  const maxMs = ctx.quick ? 10_000 : 30_000;
  const dir = ctx.scratch('history-run');
  const server = await startSwitchboard({ databaseUrl: `sqlite:${h.path}`, dataDir: dir, profileDir: ctx.profileDir });
  const sampled: Record<string, Sampled> = {};
  try {
    const headers = { cookie: await loginCookie(server.url) };
    const paths: Record<string, string> = {
      floor: '/api/auth/me',
      big: `/api/conversations/${h.bigId}`,
      small: `/api/conversations/${h.smallId}`,
      list: '/api/conversations',
      common: `/api/conversations?q=${COMMON_WORD}`,
      rare: `/api/conversations?q=${RARE_WORD}`,
    };
    for (const [key, path] of Object.entries(paths)) {
      ctx.log(`history: GET ${path}`);
      sampled[key] = await sampleGet(server.url, path, headers, count, maxMs);
    }
  } finally {
    await server.stop();
  }
  const plans = await explainPlans(h);
  const rareMatches = countMatches(h, RARE_WORD);
  const commonMatches = countMatches(h, COMMON_WORD);
  const matches = (m: { messages: number; contacts: number }) =>
    `${m.messages.toLocaleString('en-US')} message${m.messages === 1 ? '' : 's'}, ${m.contacts} contacts`;
  const s = (k: string) => sampled[k]!;
  const target = { on: 'value', op: '<=', limit: 10 } as const;
  const scenario = `history ${(h.spec.messages / 1e6).toLocaleString('en-US')}M msgs`;
  const big = h.spec.big.toLocaleString('en-US');
  const rows: Row[] = [
    {
      scenario,
      figure: `details p99, ${big}-msg conversation`,
      value: s('big').p99,
      unit: 'ms',
      baseline: s('small').p99,
      baselineName: `${h.spec.small}-msg conv.`,
      target,
    },
    {
      scenario,
      figure: `details p99, ${h.spec.small}-msg conversation`,
      value: s('small').p99,
      unit: 'ms',
      baseline: s('floor').p99,
      baselineName: 'GET /api/auth/me',
      target,
    },
    {
      scenario,
      figure: 'list first page p99',
      value: s('list').p99,
      unit: 'ms',
      baseline: s('floor').p99,
      baselineName: 'GET /api/auth/me',
      target,
    },
    {
      scenario,
      figure: `search p99, common word (?q=${COMMON_WORD})`,
      value: s('common').p99,
      unit: 'ms',
      baseline: s('floor').p99,
      baselineName: 'GET /api/auth/me',
      target,
    },
    {
      scenario,
      figure: `search p99, rare word (?q=${RARE_WORD})`,
      value: s('rare').p99,
      unit: 'ms',
      baseline: s('floor').p99,
      baselineName: 'GET /api/auth/me',
      target,
    },
  ];
  const line = (name: string, k: string) =>
    `- ${name}: n=${s(k).count}, p50 ${s(k).p50.toFixed(2)} ms, p99 ${s(k).p99.toFixed(2)} ms, max ${s(k).max.toFixed(2)} ms, ` +
    `${s(k).failures} non-200, ${s(k).bytes.toLocaleString('en-US')} bytes per answer`;
  return {
    name: 'history',
    title: '5. History',
    rows,
    notes: [
      `A database of ${h.spec.messages.toLocaleString('en-US')} messages over ${h.spec.conversations.toLocaleString('en-US')} conversations (one of ${big}, one of ${h.spec.small}, ` +
        `the others even), generated with raw better-sqlite3 prepared statements in 100,000-row transactions into the schema made by Switchboard's migrations, indexes kept: ` +
        `${(h.fillMs / 1000).toFixed(1)} s, ${(h.bytes / 2 ** 20).toFixed(0)} MiB. No ANALYZE (a deployed database has none either).`,
      `Each figure: ${count} sequential GETs on one keep-alive connection (at most ${maxMs / 1000} s; 5 unmeasured first) with the admin's session cookie, the server otherwise idle. ` +
        'Details = GET /api/conversations/:id (the conversation plus its latest page of 50 messages); the ratio of the big conversation to the small one shows details read ' +
        'only the latest page (issue 4). List = GET /api/conversations (first page, 50). Search = GET /api/conversations?q=…; the rare word is in exactly one message.',
      'What limits them: details read only the conversation row, its contact, channel and last message, and the latest 50 messages through the (conversation_id, seq) index ' +
        '(plan below), so the size of the conversation does not matter; the cost is Kysely, presenting 50 messages and serialising ~21 KB. The list page is 4 queries ' +
        '(~1.6 ms in-process, measured) plus presenting and serialising ~40 KB.',
      'Search (listConversationPage in src/store/conversation-query.store.ts) asks a text index first: on SQLite the FTS5 trigram table messages_fts of migration 0004, kept ' +
        'in step by triggers (so this fill built it too, inside the fill time above); on PostgreSQL a pg_trgm GIN index on lower(text) (migration 0005, not measured here). ' +
        'Statement 1 is a count of at most 1,001 messages matching the word as an FTS5 phrase, read from the index alone. ' +
        `A rare word (at most 1,000 matching messages, and at most 200 contacts whose name or number holds it — ?q=${RARE_WORD}: ${matches(rareMatches)}) ` +
        'then gets its conversations from the index (each candidate message fetched by rowid and re-checked with the same LIKE), the matching contacts from a LIKE over ' +
        `the contacts table — no index serves \`%word%\` there, so all ${h.spec.conversations.toLocaleString('en-US')} contacts here are read, the one table scan left — ` +
        'and the page reads just those conversations by primary key and sorts them: no walk over conversations or messages (plans below; `SCAN messages_fts VIRTUAL TABLE INDEX 0:M1` ' +
        'there is FTS5 answering the MATCH from its own index, not a scan of messages). ' +
        `A common word (more than 1,000 matches — ?q=${COMMON_WORD}: ${matches(commonMatches)}) keeps the newest-first walk over the ` +
        "(last_activity_at, id) index, each conversation's contact checked by key and an EXISTS running LIKE over its messages, until 50 conversations match: short, " +
        'because the word is common (plan below). Search words of fewer than 3 characters cannot use the trigram index and always walk. better-sqlite3 runs every ' +
        'statement on the event loop, so the whole server, webhooks included, waits while a search runs.',
      'p99 of sequential requests on a shared 2-core machine includes the scheduler: a request that waits for a core shows up there whatever the code does.',
      line(`details, ${big}-message conversation`, 'big'),
      line(`details, ${h.spec.small}-message conversation`, 'small'),
      line('list, first page', 'list'),
      line(`search ?q=${COMMON_WORD}`, 'common'),
      line(`search ?q=${RARE_WORD}`, 'rare'),
      line('floor: GET /api/auth/me (auth + one read)', 'floor'),
      ...plans.map((p) => `EXPLAIN QUERY PLAN — ${p.title}:\n\n\`\`\`sql\n${p.sql}\n\`\`\`\n\n\`\`\`\n${p.plan}\n\`\`\``),
    ],
  };
}

/** Item 6: process start → /readyz 200 on the history database, median of 3, beside a bare node:http process. */
export async function runColdStart(ctx: BenchContext): Promise<Section> {
  const h = await historyDatabase(ctx);
  const dir = ctx.scratch('coldstart');
  const start = () => startSwitchboard({ databaseUrl: `sqlite:${h.path}`, dataDir: dir });
  // Unmeasured first start: creates the admin (a scrypt hash) and warms the page cache, as any restart finds it.
  await (await start()).stop();
  const ours: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 3; i++) {
    const server = await start();
    ours.push(server.readyMs);
    await server.stop();
    const baseline = await startBaseline('bare-http');
    bare.push(baseline.readyMs);
    await baseline.stop();
  }
  ctx.log(`coldstart: ${ours.map((m) => m.toFixed(0)).join(', ')} ms; bare ${bare.map((m) => m.toFixed(0)).join(', ')} ms`);
  return {
    name: 'coldstart',
    title: '6. Cold start',
    rows: [
      {
        scenario: `cold start, ${(h.spec.messages / 1e6).toLocaleString('en-US')}M msgs`,
        figure: 'spawn → /readyz 200 (median of 3)',
        value: median(ours),
        unit: 'ms',
        baseline: median(bare),
        baselineName: 'node+tsx bare http',
        target: null,
      },
    ],
    notes: [
      `From spawning \`node bin/switchboard.js start\` (through \`sh -c 'ulimit …; exec …'\`) to the first 200 from /readyz, polled every 5 ms, on the history database ` +
        `(${(h.bytes / 2 ** 20).toFixed(0)} MiB). Runs: ${ours.map((m) => `${m.toFixed(0)} ms`).join(', ')}. Baseline: the same spawn of bench/servers/bare-http.ts ` +
        `(node with the tsx loader and an empty http server): ${bare.map((m) => `${m.toFixed(0)} ms`).join(', ')}.`,
      'What limits it (profiled with --cpu-prof): module loading. bin/switchboard.js runs the TypeScript sources through tsx, whose loader hooks run on a separate thread; ' +
        'the main thread waits on them ~40 % of the start and spends most of the rest evaluating modules (fastify, kysely, pg — loaded even on SQLite —, zod, pino, ' +
        'prom-client). startServer itself (migrations check, admin look-up, event-log tail start, Fastify routes, listen) is ~75 ms. The database size barely matters: ' +
        'nothing scans it at start. A build step (compiled or bundled JavaScript) is what would cut it.',
    ],
  };
}
