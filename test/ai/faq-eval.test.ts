import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateFaq, sampleResponder, type FaqEvalReport } from '../../bench/scenarios/faq-eval.js';
import { OFF_TOPIC, ON_TOPIC } from '../../bench/scenarios/faq-eval.table.js';
import { parseKnowledgeFile } from '../../src/ai/knowledge-file.js';
import { SAMPLE_KNOWLEDGE_FILE } from '../../src/ai/knowledge-seed.js';
import { foldText } from '../../src/ai/normalise.js';
import { readFileSync } from 'node:fs';

// Accuracy of the faq responder on the shipped sample (the same table as bench/scenarios/faq-eval.ts):
// counts of answers, not timings, so it is a test. Figures are in bench/RESULTS.md.
describe('faq responder accuracy on knowledge/clinic.md', () => {
  let dir: string;
  let report: FaqEvalReport;
  let close: () => Promise<void>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-faq-eval-'));
    const sample = await sampleResponder(dir);
    close = sample.close;
    report = await evaluateFaq(sample.responder, sample.fileIdOf);
  });
  afterAll(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the table holds at least 60 paraphrases in the three languages (Arabizi included) and 20 off-topic questions, none in the stored wording', () => {
    expect(ON_TOPIC.length).toBeGreaterThanOrEqual(60);
    expect(OFF_TOPIC.length).toBeGreaterThanOrEqual(20);
    for (const kind of ['en', 'fr', 'ar', 'arabizi'] as const)
      expect(ON_TOPIC.filter((q) => q.kind === kind).length).toBeGreaterThanOrEqual(8);
    const entries = parseKnowledgeFile(readFileSync(SAMPLE_KNOWLEDGE_FILE, 'utf8'), 'clinic.md');
    const stored = new Set(entries.flatMap((e) => [e.question, ...e.alternates]).map(foldText));
    for (const q of ON_TOPIC) expect(stored.has(foldText(q.text)), q.text).toBe(false);
  });

  it('[AI7] answers at least 90 % of the paraphrased questions with the right entry', () => {
    const misses = report.outcomes.filter((o) => o.expect !== null && o.verdict !== 'right');
    expect(report.onTopic.right / report.onTopic.total, JSON.stringify(misses, null, 1)).toBeGreaterThanOrEqual(0.9);
  });

  it('answers at most 5 % of the off-topic questions (a clarifying question is not an answer)', () => {
    const answered = report.outcomes.filter((o) => o.expect === null && o.verdict === 'wrong');
    expect(report.offTopic.answered / report.offTopic.total, JSON.stringify(answered, null, 1)).toBeLessThanOrEqual(0.05);
  });

  it('Arabizi questions reach the Arabic entries', () => {
    expect(report.byKind.arabizi.right / report.byKind.arabizi.total).toBeGreaterThanOrEqual(0.8);
  });
});
