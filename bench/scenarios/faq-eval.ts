import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createFaqResponder, type FaqResponder } from '../../src/ai/faq.responder.js';
import { SAMPLE_KNOWLEDGE_FILE, seedKnowledge } from '../../src/ai/knowledge-seed.js';
import type { ResponderInput } from '../../src/ai/responder.js';
import { loadConfig } from '../../src/config.js';
import { openStore, type Store } from '../../src/store/database.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { findKnowledgeBySeedKey } from '../../src/store/knowledge.store.js';
import type { BenchContext } from '../lib/bench-context.js';
import type { Section } from '../lib/report.js';
import { ASK_ABOUT_TREATMENT, OFF_TOPIC, ON_TOPIC, type EvalQuestion } from './faq-eval.table.js';

/*
 * `npx tsx bench/scenarios/faq-eval.ts` (or `npm run bench -- faq`): the faq responder's accuracy
 * on the shipped knowledge/clinic.md, through the real responder on a real (SQLite) database
 * seeded from the file. Accuracy, not timing: test/ai/faq-eval.test.ts asserts the same goals.
 */

export interface FaqEvalOutcome {
  text: string;
  kind: EvalQuestion['kind'];
  expect: string | null;
  got: string | null;
  score: number | null;
  verdict: 'right' | 'clarify' | 'wrong' | 'handover';
}

export interface FaqEvalReport {
  onTopic: { total: number; right: number; clarify: number; wrong: number };
  offTopic: { total: number; answered: number; clarify: number };
  /** ASK_ABOUT_TREATMENT, apart from the main table (whose goals and per-language counts it does not enter). */
  askAboutTreatment: { total: number; right: number; clarify: number; wrong: number };
  byKind: Record<EvalQuestion['kind'], { total: number; right: number }>;
  outcomes: FaqEvalOutcome[];
}

function inputOf(text: string): ResponderInput {
  const item = {
    message_id: 'wamid.eval',
    role: 'user' as const,
    type: 'text' as const,
    text,
    event: null,
    timestamp: new Date().toISOString(),
    media: null,
  };
  return {
    conversation_id: 'c_eval',
    language: null,
    contact_name: null,
    history: [item],
    pending: [item],
    consecutive_misses: 0,
    signal: new AbortController().signal,
    loadMedia: () => Promise.reject(new Error('no media in the evaluation')),
  };
}

/** Runs the table through a responder; `fileIdOf` maps a row id back to the entry's `Id:` in the file. */
export async function evaluateFaq(responder: FaqResponder, fileIdOf: (rowId: string) => string | null): Promise<FaqEvalReport> {
  const outcomes: FaqEvalOutcome[] = [];
  const byKind = { en: { total: 0, right: 0 }, fr: { total: 0, right: 0 }, ar: { total: 0, right: 0 }, arabizi: { total: 0, right: 0 } };
  const run = async (q: { text: string; kind: EvalQuestion['kind'] }, expect: string | null) => {
    const result = await responder.respond(inputOf(q.text));
    const got = result.origin.knowledge_id ? fileIdOf(result.origin.knowledge_id) : null;
    const answered = result.kind === 'reply' && !result.origin.clarifying && got !== null;
    const verdict: FaqEvalOutcome['verdict'] =
      result.kind === 'handover' ? 'handover' : !answered ? 'clarify' : got === expect ? 'right' : 'wrong';
    outcomes.push({ text: q.text, kind: q.kind, expect, got: answered ? got : null, score: result.origin.score ?? null, verdict });
    return verdict;
  };
  const onTopic = { total: ON_TOPIC.length, right: 0, clarify: 0, wrong: 0 };
  for (const q of ON_TOPIC) {
    const verdict = await run(q, q.expect);
    byKind[q.kind].total++;
    if (verdict === 'right') {
      onTopic.right++;
      byKind[q.kind].right++;
    } else if (verdict === 'clarify') onTopic.clarify++;
    else onTopic.wrong++;
  }
  const offTopic = { total: OFF_TOPIC.length, answered: 0, clarify: 0 };
  for (const q of OFF_TOPIC) {
    const verdict = await run(q, null);
    if (verdict === 'wrong') offTopic.answered++;
    else offTopic.clarify++;
  }
  const askAboutTreatment = { total: ASK_ABOUT_TREATMENT.length, right: 0, clarify: 0, wrong: 0 };
  for (const q of ASK_ABOUT_TREATMENT) {
    const verdict = await run(q, q.expect);
    if (verdict === 'right') askAboutTreatment.right++;
    else if (verdict === 'clarify') askAboutTreatment.clarify++;
    else askAboutTreatment.wrong++;
  }
  return { onTopic, offTopic, byKind, askAboutTreatment, outcomes };
}

/** A fresh SQLite database seeded from the sample knowledge file, with a faq responder on it. */
export async function sampleResponder(
  dir: string,
): Promise<{ responder: FaqResponder; fileIdOf: (rowId: string) => string | null; store: Store; close(): Promise<void> }> {
  const config = loadConfig({
    DATA_DIR: dir,
    DATABASE_URL: `sqlite:${join(dir, 'faq.db')}`,
    LOG_LEVEL: 'silent',
    AI_KNOWLEDGE_FILE: SAMPLE_KNOWLEDGE_FILE,
  });
  const store = await openStore(config.databaseUrl);
  const committer = new GroupCommitter(store, { maxBatch: 64 });
  const logger = pino({ level: 'silent' });
  await seedKnowledge({ store, committer, logger, config });
  const ids = new Map<string, string>();
  for (const q of [...ON_TOPIC, ...ASK_ABOUT_TREATMENT]) {
    const row = await findKnowledgeBySeedKey(store.reader, `id:${q.expect}`);
    if (!row) throw new Error(`the evaluation expects entry ${q.expect}, which knowledge/clinic.md lacks`);
    ids.set(row.id, q.expect);
  }
  // Rows no question expects still map to a name, so a wrong answer is reported as one.
  const all = await store.reader.selectFrom('knowledge').select(['id', 'seed_key']).execute();
  for (const r of all) if (!ids.has(r.id) && r.seed_key) ids.set(r.id, r.seed_key.replace(/^id:/, ''));
  return {
    responder: createFaqResponder({ store, logger, config }),
    fileIdOf: (rowId) => ids.get(rowId) ?? null,
    store,
    close: async () => {
      await committer.idle();
      await store.close();
    },
  };
}

const pct = (n: number, d: number) => (d === 0 ? 0 : (100 * n) / d);

/** The report as Markdown (the section of bench/RESULTS.md). */
export function faqEvalMarkdown(report: FaqEvalReport): string {
  const { onTopic, offTopic, byKind, askAboutTreatment: ask } = report;
  const lines = [
    `| figure | value | goal |`,
    `|---|---|---|`,
    `| on-topic questions answered with the right entry | ${onTopic.right} / ${onTopic.total} (${pct(onTopic.right, onTopic.total).toFixed(1)} %) | ≥ 90 % |`,
    `| on-topic questions answered with a wrong entry | ${onTopic.wrong} / ${onTopic.total} (${pct(onTopic.wrong, onTopic.total).toFixed(1)} %) | — |`,
    `| on-topic questions given a clarifying question | ${onTopic.clarify} / ${onTopic.total} (${pct(onTopic.clarify, onTopic.total).toFixed(1)} %) | — |`,
    `| off-topic questions wrongly answered | ${offTopic.answered} / ${offTopic.total} (${pct(offTopic.answered, offTopic.total).toFixed(1)} %) | ≤ 5 % |`,
    `| off-topic questions given a clarifying question | ${offTopic.clarify} / ${offTopic.total} | — |`,
    ...(['en', 'fr', 'ar', 'arabizi'] as const).map((k) => `| right, ${k} | ${byKind[k].right} / ${byKind[k].total} | — |`),
    `| questions asking about a named treatment (booking, price, cancelling, pain): right / clarify / wrong | ${ask.right} / ${ask.clarify} / ${ask.wrong} of ${ask.total} | — |`,
    '',
    'Not right:',
    '',
    ...report.outcomes
      .filter((o) => o.verdict !== 'right' && o.expect !== null)
      .map((o) => `- ${o.verdict}: "${o.text}" (expected ${o.expect}${o.got ? `, got ${o.got}` : ''}, score ${o.score ?? '—'})`),
    ...report.outcomes
      .filter((o) => o.expect === null && o.verdict === 'wrong')
      .map((o) => `- off-topic answered: "${o.text}" (got ${o.got}, score ${o.score})`),
  ];
  return lines.join('\n');
}

/** `npm run bench -- faq`: the evaluation as a section of the bench report (figures against fixed goals, no baseline). */
export async function runFaqEval(ctx: BenchContext): Promise<Section> {
  const sample = await sampleResponder(ctx.scratch('faq'));
  try {
    const report = await evaluateFaq(sample.responder, sample.fileIdOf);
    ctx.log(
      `faq: ${report.onTopic.right}/${report.onTopic.total} right, ${report.offTopic.answered}/${report.offTopic.total} off-topic answered`,
    );
    return {
      name: 'faq',
      title: 'faq responder accuracy (knowledge/clinic.md)',
      rows: [
        {
          scenario: 'faq',
          figure: `right answers (of ${report.onTopic.total})`,
          value: pct(report.onTopic.right, report.onTopic.total),
          unit: '%',
          baseline: null,
          baselineName: '',
          target: { on: 'value', op: '>=', limit: 90 },
        },
        {
          scenario: 'faq',
          figure: `clarifying questions (of ${report.onTopic.total})`,
          value: pct(report.onTopic.clarify, report.onTopic.total),
          unit: '%',
          baseline: null,
          baselineName: '',
          target: null,
        },
        {
          scenario: 'faq',
          figure: `off-topic wrongly answered (of ${report.offTopic.total})`,
          value: pct(report.offTopic.answered, report.offTopic.total),
          unit: '%',
          baseline: null,
          baselineName: '',
          target: { on: 'value', op: '<=', limit: 5 },
        },
      ],
      notes: report.outcomes
        .filter((o) => o.verdict !== 'right' && (o.expect !== null || o.verdict === 'wrong'))
        .map((o) => `faq ${o.verdict}: "${o.text}" (expected ${o.expect ?? 'no answer'}${o.got ? `, got ${o.got}` : ''})`),
    };
  } finally {
    await sample.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = mkdtempSync(join(tmpdir(), 'sb-faq-eval-'));
  const sample = await sampleResponder(dir);
  try {
    process.stdout.write(`${faqEvalMarkdown(await evaluateFaq(sample.responder, sample.fileIdOf))}\n`);
  } finally {
    await sample.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
