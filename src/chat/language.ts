export type NoticeLanguage = 'ar' | 'en' | 'fr';

const ARABIC_LETTER = /[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]/gu;
const LATIN_LETTER = /[A-Za-z\u00C0-\u024F]/gu;
const FRENCH_ACCENT = /[àâçéèêëîïôûùüÿœæ]/giu;

const FRENCH_WORDS = new Set([
  'bonjour',
  'bonsoir',
  'merci',
  'oui',
  'je',
  'vous',
  'nous',
  'est',
  'et',
  'les',
  'des',
  'une',
  'le',
  'la',
  'du',
  'pour',
  'avec',
  'pas',
  'sur',
  'mon',
  'ma',
  'mes',
  'votre',
  'suis',
  'avez',
  'ai',
  'au',
  'aux',
  'mais',
  'très',
  'svp',
  'plaît',
  'salut',
  'parler',
  'quelqu',
  'quel',
  'quelle',
]);
const ENGLISH_WORDS = new Set([
  'hello',
  'hi',
  'thanks',
  'thank',
  'yes',
  'i',
  'you',
  'we',
  'is',
  'and',
  'the',
  'an',
  'of',
  'for',
  'with',
  'not',
  'my',
  'your',
  'am',
  'are',
  'have',
  'to',
  'but',
  'very',
  'please',
  'talk',
  'speak',
  'what',
  'can',
  'need',
  'want',
  'it',
  'this',
  'that',
]);

/**
 * Everyday Levantine, Gulf and Egyptian words as they are written in Latin letters (Arabizi).
 * Words that are also common English or French words ("ma", "la", "bas", "min", "ana") are left
 * out: they would tip ordinary English or French text to Arabic.
 */
const ARABIZI_WORDS = new Set(
  [
    'shu',
    'shou',
    'sho',
    'chou',
    'kifak',
    'kifik',
    'kifkon',
    'kifkun',
    'kif',
    'keefak',
    'keef',
    'izzayak',
    'ezayak',
    'baddi',
    'badde',
    'bade',
    'badi',
    'biddi',
    'bidde',
    'bdi',
    'bede',
    'beddi',
    'badna',
    'ma3',
    'ma3ak',
    'ma3ik',
    'marhaba',
    'marhaban',
    'mar7aba',
    'ahla',
    'ahlan',
    'ahlen',
    'yalla',
    'yallah',
    'inshallah',
    'inshalla',
    'nshalla',
    'inchallah',
    'mashallah',
    'hamdella',
    'hamdillah',
    '7amdella',
    'alhamdulillah',
    'elhamdella',
    'habibi',
    'habibti',
    '7abibi',
    '7abibti',
    'ade',
    'adde',
    'addesh',
    'adesh',
    'adeh',
    '2adde',
    '2addesh',
    'kam',
    'shukran',
    'shokran',
    'chokran',
    'tayeb',
    'tayyeb',
    'tamam',
    'mni7',
    'mnih',
    'mne7',
    'ktir',
    'kteer',
    'ktiir',
    'hek',
    'hayk',
    'halla2',
    'hala2',
    'halla',
    'la2',
    'akid',
    'lesh',
    'leish',
    'leh',
    'wen',
    'wein',
    'fi',
    'mafi',
    'ma7ada',
    'ya3ne',
    'ya3ni',
    'yaane',
    'yane',
    '3an',
    '3ala',
    '3al',
    'mish',
    'msh',
    'mesh',
    'mush',
    'bukra',
    'bokra',
    'maw3ed',
    'maw3id',
    'mawed',
    'se3r',
    'si3r',
    'as3ar',
    'jalse',
    'jalsa',
    '3iyade',
    'enta',
    'ente',
    'inta',
    'inti',
    'iza',
    'eza',
    'salam',
    'khalas',
    '5alas',
    'yislamo',
    'yslamo',
    'ya3tik',
    'ya3teek',
    '3afye',
    'shway',
    'shwai',
    'shi',
    'hayda',
    'hayde',
    'hon',
    'hone',
    'lyom',
    'elyom',
    'el',
    'bel',
    '3ande',
    '3andi',
    '3indi',
    'moshkle',
    'mushkila',
    'fini',
    'fiye',
    'momken',
    'mumkin',
    'mmkn',
    '3ayez',
    '3ayza',
    '3awez',
    'abga',
    'abgha',
    'wallah',
    'walla',
    'e7ke',
    'ehke',
    'ehki',
    'bhebbak',
  ].map((word) => normalizeText(word)),
);

/** Latin tokens with one digit that are not Arabizi: ordinals, times, units, formats. */
const NOT_ARABIZI_DIGIT_WORD = /^\d(?:st|nd|rd|th|am|pm|hr|hrs|min|mins|kg|ml|cm|mm|km|pcs|ppl)$|^(?:mp3|h2o|b2b|b2c|c2c|p2p)$/;

/**
 * The same text as every rule in chat/ matches it: lower case; Latin accents removed (é → e, œ → oe);
 * Arabic diacritics and tatweel removed; alef forms (أ إ آ ٱ) → ا, ى and ئ → ي, ؤ → و, ة → ه, Persian
 * kaf/ya → Arabic; Arabic-Indic digits → 0–9; each run of a repeated letter → one letter
 * ("pleeease" → "please", but also "baddi" → "badi": patterns are normalised the same way);
 * words are runs of letters and digits (digits belong to words: Arabizi "e7ke", "ma3"), joined by
 * single spaces, so "quelqu’un" → "quelqu un" and "don't" → "don t".
 */
export function normalizeText(text: string): string {
  const folded = text
    .normalize('NFKC')
    .normalize('NFD')
    .toLowerCase()
    .replace(/[\u0300-\u036F\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]/gu, '')
    .replace(/[\u0622\u0623\u0625\u0671]/gu, 'ا')
    .replace(/[\u0649\u06CC\u064A\u0626]/gu, 'ي')
    .replace(/\u0624/gu, 'و')
    .replace(/\u0629/gu, 'ه')
    .replace(/\u06A9/gu, 'ك')
    .replace(/[\u0660-\u0669]/gu, (d) => String(d.charCodeAt(0) - 0x0660))
    .replace(/[\u06F0-\u06F9]/gu, (d) => String(d.charCodeAt(0) - 0x06f0))
    .replace(/œ/gu, 'oe')
    .replace(/æ/gu, 'ae')
    .replace(/ß/gu, 'ss');
  const words = folded.match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.map((word) => word.replace(/(\p{L})\1+/gu, '$1')).join(' ');
}

interface LanguageEvidence {
  language: NoticeLanguage;
  /** How much the text says about its language: 0 for a bare guess ("ok"), more for each telling word. */
  weight: number;
}

function languageEvidence(text: string): LanguageEvidence | null {
  const arabic = text.match(ARABIC_LETTER)?.length ?? 0;
  const latin = text.match(LATIN_LETTER)?.length ?? 0;
  if (arabic === 0 && latin === 0) return null;
  if (arabic > latin) {
    const arabicWords = text.match(/[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]+/gu)?.length ?? 0;
    // Arabic script is unambiguous, so each word counts double against Latin stopwords.
    return { language: 'ar', weight: 2 * arabicWords };
  }

  const words = text
    .toLowerCase()
    .split(/[^\p{L}]+/u)
    .filter(Boolean);
  let french = text.match(FRENCH_ACCENT)?.length ?? 0;
  let english = 0;
  for (const word of words) {
    if (FRENCH_WORDS.has(word)) french++;
    if (ENGLISH_WORDS.has(word)) english++;
  }
  const arabizi = arabiziScore(text);
  if (arabizi > 0 && arabizi >= french && arabizi > english) return { language: 'ar', weight: arabizi };
  return french > english ? { language: 'fr', weight: french } : { language: 'en', weight: english };
}

/** Arabizi evidence: 1 per known word, 2 per word with a digit standing for a letter (2 3 5 6 7 8 9). */
function arabiziScore(text: string): number {
  let score = 0;
  for (const token of normalizeText(text).split(' ')) {
    if (token === '') continue;
    if (ARABIZI_WORDS.has(token)) score++;
    if (isDigitLetterWord(token)) score += 2;
  }
  return score;
}

function isDigitLetterWord(token: string): boolean {
  const digits = token.match(/\d/g) ?? [];
  const letters = token.match(/[a-z]/g) ?? [];
  if (digits.length !== 1 || letters.length < 2 || letters.length + 1 !== token.length) return false;
  return '2356789'.includes(digits[0] ?? '') && !NOT_ARABIZI_DIGIT_WORD.test(token);
}

/**
 * A cheap guess at the language of a customer's message, for choosing notices [AI6]. Arabic
 * script wins when it has more letters than Latin script. Latin text is Arabic when it reads as
 * Arabizi (Arabic in Latin letters: known words like "shu", "kifak", "baddi", or digits standing
 * for letters inside words, "ma3", "7abibi") more than as English or French; else French when
 * French stopwords and accents outnumber English stopwords, else English. Null when the text has
 * no letters of either script (empty, digits, emoji, other scripts).
 */
export function detectLanguage(text: string): NoticeLanguage | null {
  return languageEvidence(text)?.language ?? null;
}

/** Evidence a different language needs, within the messages looked at, before a contact's language changes. */
export const LANGUAGE_SWITCH_MIN_EVIDENCE = 3;

/**
 * The language of a contact from their recent messages (oldest first) [AI6], sticky: `previous`
 * (the language stored on the contact) stays unless another language has at least
 * `LANGUAGE_SWITCH_MIN_EVIDENCE` and more than twice the evidence of `previous` in these
 * messages — so a one-word "ok", "merci" or "thanks" never flips an established language, while a
 * sentence in another language does. Messages that say nothing (emoji, "ok") establish nothing:
 * the result stays `previous`, null when the contact has not been detected yet.
 */
export function detectContactLanguage(texts: string[], previous: string | null): string | null {
  const totals = new Map<NoticeLanguage, number>();
  let best: NoticeLanguage | null = null;
  for (const text of texts) {
    const evidence = languageEvidence(text);
    if (evidence === null || evidence.weight === 0) continue;
    const total = (totals.get(evidence.language) ?? 0) + evidence.weight;
    totals.set(evidence.language, total);
    // On a tie the language of the more recent message wins.
    if (best === null || total >= (totals.get(best) ?? 0)) best = evidence.language;
  }
  if (best === null) return previous;
  if (previous === null || best === previous) return best;
  const bestTotal = totals.get(best) ?? 0;
  const previousTotal = totals.get(previous as NoticeLanguage) ?? 0;
  return bestTotal >= LANGUAGE_SWITCH_MIN_EVIDENCE && bestTotal > 2 * previousTotal ? best : previous;
}
