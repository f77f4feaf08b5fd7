import type { AppContext } from '../app/context.js';
import { knowledgeVersion, listLiveKnowledge } from '../store/knowledge.store.js';
import { parseJson } from '../store/json.js';
import { KnowledgeIndex, type KnowledgeMatch } from './knowledge-index.js';
import { retrievalLanguage, smallTalkOf, type KnowledgeLanguage, type SmallTalk } from './normalise.js';
import type { Responder, ResponderInput, ResponderResult } from './responder.js';

export type { KnowledgeMatch } from './knowledge-index.js';

/** The faq responder: retrieval over the knowledge table, plus `search` for the openai responder's context. */
export interface FaqResponder extends Responder {
  readonly name: 'faq';
  /** The best live entries for a text, most confident first (score in [0, 1]); reads the latest table. */
  search(query: string, limit: number): Promise<KnowledgeMatch[]>;
}

/**
 * When an answer is given. The best entry's confidence must reach `minScore` and lead the next
 * entry by `margin` (two entries equally likely → ask rather than guess). After a clarifying
 * question (`consecutive_misses` ≥ `missesBeforeHandover`), another miss hands over.
 */
export interface FaqSettings {
  readonly minScore: number;
  readonly margin: number;
  readonly missesBeforeHandover: number;
}

/** Defaults (AI_FAQ_MIN_SCORE and AI_FAQ_MARGIN override the first two), tuned on bench/scenarios/faq-eval.ts. */
export const DEFAULT_FAQ_SETTINGS: FaqSettings = { minScore: 0.35, margin: 0.05, missesBeforeHandover: 1 };

export type FaqDecision = { kind: 'answer'; match: KnowledgeMatch } | { kind: 'unsure'; best: KnowledgeMatch | null };

/** The threshold rule on a ranked list of matches (pure; the evaluation uses it too). */
export function decide(matches: readonly KnowledgeMatch[], settings: FaqSettings = DEFAULT_FAQ_SETTINGS): FaqDecision {
  const [best, second] = matches;
  if (!best) return { kind: 'unsure', best: null };
  const lead = best.score - (second?.score ?? 0);
  if (best.score >= settings.minScore && lead >= settings.margin) return { kind: 'answer', match: best };
  return { kind: 'unsure', best };
}

const SMALL_TALK_REPLIES: Record<KnowledgeLanguage, Record<SmallTalk, string>> = {
  en: {
    greeting: 'Hello! How can I help you today?',
    thanks: "You're welcome! Is there anything else I can help you with?",
    farewell: 'Thank you for writing to us. Have a lovely day!',
  },
  fr: {
    greeting: 'Bonjour ! Comment puis-je vous aider ?',
    thanks: 'Avec plaisir ! Puis-je vous aider pour autre chose ?',
    farewell: 'Merci de nous avoir écrit. Belle journée !',
  },
  ar: {
    greeting: 'أهلاً وسهلاً! كيف فينا نساعدك اليوم؟',
    thanks: 'العفو! في شي تاني فينا نساعدك فيه؟',
    farewell: 'شكراً لتواصلك معنا. نهارك سعيد!',
  },
};

const CLARIFY: Record<KnowledgeLanguage, { guess: (question: string) => string; open: string; media: string }> = {
  en: {
    guess: (q) => `I want to be sure I understood: do you mean "${q}"? If not, could you tell me a little more?`,
    open: 'Sorry, I am not sure I understood. Could you tell me a little more, for example which treatment you mean and what you would like to know (price, booking, aftercare …)?',
    media: 'Thank you! I can only read text messages: could you write your question?',
  },
  fr: {
    guess: (q) => `Je veux être sûr d'avoir bien compris : vous voulez dire « ${q} » ? Sinon, pouvez-vous m'en dire un peu plus ?`,
    open: "Désolé, je ne suis pas sûr d'avoir compris. Pouvez-vous préciser, par exemple le soin et ce que vous voulez savoir (prix, rendez-vous, soins après …) ?",
    media: 'Merci ! Je ne lis que les messages écrits : pouvez-vous écrire votre question ?',
  },
  ar: {
    guess: (q) => `بدي اتأكد إني فهمت عليك: قصدك "${q}"؟ إذا لا، فيك توضحلي أكتر؟`,
    open: 'عذراً، ما فهمت عليك تماماً. فيك توضحلي أكتر، مثلاً أي علاج وشو بدك تعرف (السعر، الحجز، العناية بعد الجلسة …)؟',
    media: 'شكراً! أنا بقرأ الرسائل المكتوبة بس: فيك تكتبلي سؤالك؟',
  },
};

function replyLanguage(input: ResponderInput, text: string): KnowledgeLanguage {
  const given = input.language?.toLowerCase().split('-')[0];
  if (given === 'ar' || given === 'en' || given === 'fr') return given;
  if (text.trim().length > 0) return retrievalLanguage(text);
  return 'en';
}

/** A confidence at or above this (but below the answer rule) is shown back as "do you mean …?". */
const GUESS_FLOOR = 0.3;

/**
 * The `faq` responder [AI7]: answers customer messages from the knowledge table by retrieval.
 *
 * - It considers every pending message of the debounce window [AI1]: their concatenation and
 *   each one alone, and answers the most confident of them.
 * - Greetings, thanks and goodbyes get a short friendly reply (not a miss).
 * - Below the confidence rule it asks one clarifying question (origin.clarifying), and when the
 *   previous reply was already a miss (`consecutive_misses` ≥ settings.missesBeforeHandover) it
 *   hands over with `ai_requested`.
 * - Before each reply it compares the table's fingerprint (row count, newest `updated_at`) and
 *   rebuilds the index when any process changed an entry, so the next reply uses the change.
 */
export function createFaqResponder(
  ctx: Pick<AppContext, 'store' | 'logger' | 'config'>,
  settings: FaqSettings = { ...DEFAULT_FAQ_SETTINGS, minScore: ctx.config.ai.faq.minScore, margin: ctx.config.ai.faq.margin },
): FaqResponder {
  let index: KnowledgeIndex | null = null;
  let version: string | null = null;
  let refreshing: Promise<KnowledgeIndex> | null = null;

  async function rebuild(): Promise<KnowledgeIndex> {
    const seen = await knowledgeVersion(ctx.store.reader);
    if (index && seen === version) return index;
    const rows = await listLiveKnowledge(ctx.store.reader);
    const built = new KnowledgeIndex(
      rows.map((row) => ({
        id: row.id,
        question: row.question,
        answer: row.answer,
        language: row.language,
        alternates: parseJson<string[]>(row.alternates) ?? [],
        tags: parseJson<string[]>(row.tags) ?? [],
      })),
    );
    // The fingerprint read before the rows: a change in between makes the next call rebuild again.
    index = built;
    version = seen;
    ctx.logger.debug({ entries: built.size }, 'faq index rebuilt');
    return built;
  }

  /** The current index; concurrent callers share one check (and one rebuild). */
  function current(): Promise<KnowledgeIndex> {
    refreshing ??= rebuild().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  async function search(query: string, limit: number): Promise<KnowledgeMatch[]> {
    return (await current()).search(query, limit);
  }

  async function respond(input: ResponderInput): Promise<ResponderResult> {
    const texts = input.pending.map((m) => m.text?.trim() ?? '').filter((t) => t.length > 0);
    const joined = texts.join('\n');
    const language = replyLanguage(input, joined);

    if (texts.length > 0 && texts.every((t) => smallTalkOf(t) !== null)) {
      const kinds = texts.map((t) => smallTalkOf(t)!);
      const kind = kinds.includes('farewell') ? 'farewell' : kinds.includes('thanks') ? 'thanks' : 'greeting';
      return {
        kind: 'reply',
        text: SMALL_TALK_REPLIES[language][kind],
        origin: { handled_by: 'faq', knowledge_id: null, knowledge_question: null, score: null },
      };
    }

    const idx = await current();
    input.signal.throwIfAborted();
    const candidates = texts.length > 1 ? [joined, ...texts] : texts;
    let best: { decision: FaqDecision; top: KnowledgeMatch | null } | null = null;
    for (const text of candidates) {
      const matches = idx.search(text, 3);
      const decision = decide(matches, settings);
      const top = matches[0] ?? null;
      if (
        !best ||
        (decision.kind === 'answer' && best.decision.kind !== 'answer') ||
        (decision.kind === best.decision.kind && (top?.score ?? 0) > (best.top?.score ?? 0))
      ) {
        best = { decision, top };
      }
    }

    if (best?.decision.kind === 'answer') {
      const { match } = best.decision;
      return {
        kind: 'reply',
        text: match.answer,
        origin: { handled_by: 'faq', knowledge_id: match.id, knowledge_question: match.question, score: match.score },
      };
    }

    const top = best?.top ?? null;
    const origin = {
      handled_by: 'faq' as const,
      knowledge_id: top?.id ?? null,
      knowledge_question: top?.question ?? null,
      score: top?.score ?? null,
    };
    if (input.consecutive_misses >= settings.missesBeforeHandover) {
      return { kind: 'handover', reason: 'ai_requested', note: 'faq: no confident answer after a clarifying question', origin };
    }
    const phrases = CLARIFY[texts.length === 0 ? replyLanguage(input, '') : language];
    const text = texts.length === 0 ? phrases.media : top && top.score >= GUESS_FLOOR ? phrases.guess(top.question) : phrases.open;
    return { kind: 'reply', text, origin: { ...origin, clarifying: true } };
  }

  return { name: 'faq', respond, search };
}
