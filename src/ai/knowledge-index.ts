import MiniSearch from 'minisearch';
import { analyse, type Analysis, type KnowledgeLanguage } from './normalise.js';

/** An entry as the index needs it (a knowledge row with its JSON columns parsed). */
export interface IndexedEntry {
  id: string;
  question: string;
  answer: string;
  language: string | null;
  alternates: string[];
  tags: string[];
}

/** A knowledge entry that matches a query, with its confidence in [0, 1]. */
export interface KnowledgeMatch {
  id: string;
  question: string;
  answer: string;
  language: string | null;
  score: number;
}

interface Prepared {
  entry: IndexedEntry;
  language: KnowledgeLanguage;
  /** Terms of the question, alternates and tags (full credit) and of the answer (half credit). */
  questionTerms: Set<string>;
  answerTerms: Set<string>;
}

/** How many MiniSearch candidates are re-scored by coverage. */
const CANDIDATES = 12;
/** A query word found only in an entry's answer counts this much (one in its question, alternates or tags: 1). */
const ANSWER_CREDIT = 0.5;

const KNOWN: readonly KnowledgeLanguage[] = ['ar', 'en', 'fr'];

function asLanguage(language: string | null): KnowledgeLanguage | null {
  const base = language?.toLowerCase().split('-')[0] ?? null;
  return base !== null && (KNOWN as readonly string[]).includes(base) ? (base as KnowledgeLanguage) : null;
}

/** Edit distance ≤ 1 (one substitution, insertion or deletion), for typos in longer words. */
function withinOneEdit(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (a.length > b.length) i++;
    else if (b.length > a.length) j++;
    else {
      i++;
      j++;
    }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}

/**
 * The search index over the live knowledge entries, rebuilt whenever the table changes.
 *
 * MiniSearch (BM25 with prefix and fuzzy matching) picks the candidates; each is then given a
 * confidence: the IDF-weighted share of the query's meaningful words that the entry covers (a
 * word found in the question, an alternate or a tag counts fully, one found only in the answer
 * half), times a factor from its BM25 score relative to the best candidate. Words the knowledge
 * base has never seen weigh the most, so an off-topic message covers little of itself.
 */
export class KnowledgeIndex {
  private readonly search_: MiniSearch<{ id: string; question: string; alternates: string; tags: string; answer: string }>;
  private readonly prepared = new Map<string, Prepared>();
  private readonly documentFrequency = new Map<string, number>();
  private readonly languages = new Set<KnowledgeLanguage>();

  constructor(entries: readonly IndexedEntry[]) {
    this.search_ = new MiniSearch({
      fields: ['question', 'alternates', 'tags', 'answer'],
      // Fields arrive already analysed (normalise.ts): space-separated terms.
      tokenize: (text) => text.split(' ').filter(Boolean),
      processTerm: (term) => term,
      searchOptions: {
        boost: { question: 3, alternates: 3, tags: 1.5, answer: 1 },
        prefix: (term) => term.length >= 4,
        fuzzy: (term) => (term.length >= 6 ? 0.2 : false),
        combineWith: 'OR',
      },
    });
    const docs = [];
    for (const entry of entries) {
      // An entry without a (known) language is analysed as the language its question reads as.
      const language = asLanguage(entry.language) ?? analyse(entry.question).language;
      const question = [entry.question, ...entry.alternates].map((t) => analyse(t, language));
      const tags = analyse(entry.tags.join(' '), language);
      const answer = analyse(entry.answer, language);
      const questionTerms = new Set([...question.flatMap((a) => a.terms), ...tags.terms]);
      const answerTerms = new Set(answer.terms);
      this.prepared.set(entry.id, { entry, language, questionTerms, answerTerms });
      this.languages.add(language);
      for (const term of new Set([...questionTerms, ...answerTerms]))
        this.documentFrequency.set(term, (this.documentFrequency.get(term) ?? 0) + 1);
      docs.push({
        id: entry.id,
        question: question[0]!.terms.join(' '),
        alternates: question
          .slice(1)
          .flatMap((a) => a.terms)
          .join(' '),
        tags: tags.terms.join(' '),
        answer: answer.terms.join(' '),
      });
    }
    this.search_.addAll(docs);
  }

  get size(): number {
    return this.prepared.size;
  }

  private weight(term: string): number {
    const n = this.prepared.size;
    return Math.log(1 + n / ((this.documentFrequency.get(term) ?? 0) + 1));
  }

  private credit(term: string, prepared: Prepared): number {
    if (prepared.questionTerms.has(term)) return 1;
    if (term.length >= 5) {
      for (const t of prepared.questionTerms) if (t.length >= 5 && withinOneEdit(t, term)) return 0.8;
    }
    if (prepared.answerTerms.has(term)) return ANSWER_CREDIT;
    return 0;
  }

  /** The IDF-weighted share of the query's words that an entry covers. */
  private coverage(analysis: Analysis, prepared: Prepared): number {
    let total = 0;
    let covered = 0;
    for (const unit of analysis.units) {
      const weight = Math.max(...unit.map((t) => this.weight(t)));
      total += weight;
      covered += weight * Math.max(...unit.map((t) => this.credit(t, prepared)));
    }
    return total === 0 ? 0 : covered / total;
  }

  /**
   * The best entries for a text, most confident first. Entries in the text's language are
   * searched (Arabizi counts as Arabic) when the base has any; otherwise all of them.
   */
  search(text: string, limit: number): KnowledgeMatch[] {
    const analysis = analyse(text);
    if (analysis.terms.length === 0 || this.prepared.size === 0) return [];
    const language = this.languages.has(analysis.language) ? analysis.language : null;
    const results = this.search_
      .search(analysis.terms.join(' '), {
        filter:
          language === null
            ? undefined
            : (r) => {
                const l = this.prepared.get(r.id as string)?.language;
                return l === language;
              },
      })
      .slice(0, CANDIDATES);
    if (results.length === 0) return [];
    const top = results[0]!.score;
    const scored = results.map((r) => {
      const prepared = this.prepared.get(r.id as string)!;
      const score = this.coverage(analysis, prepared) * (0.6 + 0.4 * (r.score / top));
      return { prepared, score };
    });
    scored.sort((a, b) => b.score - a.score);
    return scored.slice(0, Math.max(0, limit)).map(({ prepared: { entry }, score }) => ({
      id: entry.id,
      question: entry.question,
      answer: entry.answer,
      language: entry.language,
      score: Math.round(score * 1000) / 1000,
    }));
  }
}
