import { DomainError } from './errors.js';

/**
 * Short messages that tell the customer what happens to their conversation [AI6], in their
 * language, stored and sent like any other message. Defaults exist for `en`, `ar` and `fr`; an
 * overrides file (AI_NOTICES_FILE) may change any text and add languages.
 */

export const NOTICE_KINDS = ['handover_requested', 'operator_joined', 'conversation_ended', 'handed_back'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/**
 * What an overrides file may set per language: a text per notice kind, and `operator_fallback`,
 * the words that stand in for `{operator_name}` when the operator has no name.
 */
export const NOTICE_TEXT_KEYS = [...NOTICE_KINDS, 'operator_fallback'] as const;
export type NoticeTextKey = (typeof NOTICE_TEXT_KEYS)[number];

/** Texts by language code (lower case, e.g. `en`, `ar`, `pt-br`), then by key. */
export type NoticeOverrides = Readonly<Record<string, Readonly<Partial<Record<NoticeTextKey, string>>>>>;

/** The language whose texts stand in for a language without its own. */
export const FALLBACK_NOTICE_LANGUAGE = 'en';

/** The one placeholder notice texts may contain. */
const OPERATOR_NAME = '{operator_name}';

/** The longest notice text accepted: notices are a sentence or two, WhatsApp allows 4096 characters. */
export const NOTICE_MAX_LENGTH = 1000;

export const DEFAULT_NOTICES: Readonly<Record<'en' | 'ar' | 'fr', Readonly<Record<NoticeTextKey, string>>>> = {
  en: {
    handover_requested: 'Thank you for your patience. A member of our team will be with you shortly.',
    operator_joined: '{operator_name} has joined the conversation and is happy to help you.',
    conversation_ended: 'This conversation is now closed. Thank you for contacting us; write to us any time if you need anything else.',
    handed_back: 'Thank you! Our assistant will continue with you from here. You can ask to speak to our team at any time.',
    operator_fallback: 'A member of our team',
  },
  ar: {
    handover_requested: 'شكراً لصبرك، سيتواصل معك أحد أعضاء فريقنا بعد قليل.',
    operator_joined: '{operator_name} معك الآن في المحادثة، ويسعدنا مساعدتك.',
    conversation_ended: 'تم إغلاق هذه المحادثة. شكراً لتواصلك معنا، ويسعدنا خدمتك في أي وقت.',
    handed_back: 'شكراً لك! سيتابع معك مساعدنا الآلي من هنا، ويمكنك طلب التحدث مع فريقنا في أي وقت.',
    operator_fallback: 'أحد أعضاء فريقنا',
  },
  fr: {
    handover_requested: 'Merci de votre patience. Un membre de notre équipe va vous répondre très bientôt.',
    operator_joined: '{operator_name} a rejoint la conversation et se fera un plaisir de vous aider.',
    conversation_ended:
      'Cette conversation est terminée. Merci de nous avoir contactés ; écrivez-nous à tout moment si vous avez besoin d’autre chose.',
    handed_back: 'Merci ! Notre assistant reprend la conversation. Vous pouvez demander à parler à notre équipe à tout moment.',
    operator_fallback: 'Un membre de notre équipe',
  },
};

const LANGUAGE_CODE = /^[a-z]{2,3}(?:[-_][a-z0-9]{2,8})*$/i;

/** `ar-LB`, `AR`, `fr_FR` → `ar-lb`, `ar`, `fr-fr`; the languages tried for it, most specific first. */
function languageChain(language: string | null): string[] {
  const chain: string[] = [];
  if (language !== null && LANGUAGE_CODE.test(language.trim())) {
    const code = language.trim().toLowerCase().replace(/_/g, '-');
    chain.push(code);
    const primary = code.split('-')[0] ?? code;
    if (primary !== code) chain.push(primary);
  }
  if (!chain.includes(FALLBACK_NOTICE_LANGUAGE)) chain.push(FALLBACK_NOTICE_LANGUAGE);
  return chain;
}

function lookUp(key: NoticeTextKey, chain: string[], overrides: NoticeOverrides | undefined): string {
  for (const language of chain) {
    const text = overrides?.[language]?.[key] ?? DEFAULT_NOTICES[language as keyof typeof DEFAULT_NOTICES]?.[key];
    if (text !== undefined) return text;
  }
  // Unreachable: the chain ends with the fallback language, which has a default for every key.
  return DEFAULT_NOTICES.en[key];
}

/**
 * The text of a notice [AI6] in `language` (`ar`, `fr-FR` …; null when not detected yet). For each
 * language tried — the code, its primary language (`ar-lb` → `ar`), then `en` — an override wins
 * over the default, so an unknown language falls back to the English text (overridden or not).
 * `{operator_name}` becomes `vars.operator_name`, or the language's `operator_fallback` when the
 * name is missing or blank.
 */
export function noticeText(
  kind: NoticeKind,
  language: string | null,
  vars: { operator_name?: string },
  overrides?: NoticeOverrides,
): string {
  const chain = languageChain(language);
  const template = lookUp(kind, chain, overrides);
  if (!template.includes(OPERATOR_NAME)) return template;
  const name = vars.operator_name?.trim() || lookUp('operator_fallback', chain, overrides);
  // A function, so that `$&` or `$1` in a name is not read as a replacement pattern.
  return template.replaceAll(OPERATOR_NAME, () => name);
}

function invalid(key: string, message: string): DomainError {
  return new DomainError('validation_failed', `notice overrides: ${message}`, { key });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates the parsed JSON of a notice overrides file (AI_NOTICES_FILE):
 * `{ "<lang>": { "<kind>": "text", … }, … }` with kinds from `NOTICE_TEXT_KEYS`, e.g.
 * `{ "ar": { "handover_requested": "…" }, "es": { "operator_joined": "{operator_name} está contigo." } }`.
 * Texts are non-empty, at most `NOTICE_MAX_LENGTH` characters, and contain no placeholder but
 * `{operator_name}` (none in `operator_fallback`). Language codes are stored lower case. Throws a
 * `validation_failed` DomainError whose message and `details.key` name the bad key (`ar`,
 * `ar.operator_joind` …); nothing is half-applied, since the result is only returned whole.
 */
export function parseNoticeOverrides(json: unknown): NoticeOverrides {
  if (!isPlainObject(json)) {
    throw invalid('', 'expected a JSON object of languages, like { "ar": { "handover_requested": "…" } }');
  }
  const result: Record<string, Readonly<Partial<Record<NoticeTextKey, string>>>> = {};
  for (const [language, texts] of Object.entries(json)) {
    if (!LANGUAGE_CODE.test(language)) {
      throw invalid(language, `"${language}" is not a language code (expected one like "en", "ar", "fr" or "pt-BR")`);
    }
    const code = language.toLowerCase().replace(/_/g, '-');
    if (Object.hasOwn(result, code)) throw invalid(language, `"${language}" appears twice (language codes ignore case)`);
    if (!isPlainObject(texts)) {
      throw invalid(language, `"${language}" must be an object of notice texts, like { "handover_requested": "…" }`);
    }
    const entry: Partial<Record<NoticeTextKey, string>> = {};
    for (const [key, text] of Object.entries(texts)) {
      const path = `${language}.${key}`;
      if (!(NOTICE_TEXT_KEYS as readonly string[]).includes(key)) {
        throw invalid(path, `"${path}" is not a notice kind (expected one of ${NOTICE_TEXT_KEYS.join(', ')})`);
      }
      if (typeof text !== 'string' || text.trim() === '') throw invalid(path, `"${path}" must be a non-empty string`);
      if (text.length > NOTICE_MAX_LENGTH) throw invalid(path, `"${path}" is longer than ${NOTICE_MAX_LENGTH} characters`);
      const placeholders = text.match(/\{[^{}]*\}/g) ?? [];
      const unknown = placeholders.find((placeholder) => placeholder !== OPERATOR_NAME || key === 'operator_fallback');
      if (unknown !== undefined) {
        const allowed = key === 'operator_fallback' ? 'no placeholder' : `only ${OPERATOR_NAME}`;
        throw invalid(path, `"${path}" contains the placeholder ${unknown} (${allowed} is allowed)`);
      }
      entry[key as NoticeTextKey] = text;
    }
    result[code] = Object.freeze(entry);
  }
  return Object.freeze(result);
}
