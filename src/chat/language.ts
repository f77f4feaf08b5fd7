export type NoticeLanguage = 'ar' | 'en' | 'fr';

const ARABIC_LETTER = /[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]/gu;
const LATIN_LETTER = /[A-Za-z\u00C0-\u024F]/gu;
const FRENCH_ACCENT = /[àâçéèêëîïôûùüÿœæ]/giu;

const FRENCH_WORDS = new Set([
  'bonjour', 'bonsoir', 'merci', 'oui', 'je', 'vous', 'nous', 'est', 'et', 'les', 'des', 'une', 'le',
  'la', 'du', 'pour', 'avec', 'pas', 'sur', 'mon', 'ma', 'mes', 'votre', 'suis', 'avez', 'ai',
  'au', 'aux', 'mais', 'très', 'svp', 'plaît', 'salut', 'parler', 'quelqu', 'quel', 'quelle',
]);
const ENGLISH_WORDS = new Set([
  'hello', 'hi', 'thanks', 'thank', 'yes', 'i', 'you', 'we', 'is', 'and', 'the', 'an', 'of',
  'for', 'with', 'not', 'my', 'your', 'am', 'are', 'have', 'to', 'but', 'very', 'please',
  'talk', 'speak', 'what', 'can', 'need', 'want', 'it', 'this', 'that',
]);

/**
 * A cheap guess at the language of a customer's message, for choosing notices [AI6]. Arabic
 * script wins when it has more letters than Latin script; Latin text is French when French
 * stopwords and accents outnumber English stopwords, else English. Null when the text has no
 * letters of either script (empty, digits, emoji, other scripts). Arabic written in Latin
 * letters (Arabizi) reads as English.
 */
export function detectLanguage(text: string): NoticeLanguage | null {
  const arabic = text.match(ARABIC_LETTER)?.length ?? 0;
  const latin = text.match(LATIN_LETTER)?.length ?? 0;
  if (arabic === 0 && latin === 0) return null;
  if (arabic > latin) return 'ar';

  const words = text.toLowerCase().split(/[^\p{L}]+/u).filter(Boolean);
  let french = text.match(FRENCH_ACCENT)?.length ?? 0;
  let english = 0;
  for (const word of words) {
    if (FRENCH_WORDS.has(word)) french++;
    if (ENGLISH_WORDS.has(word)) english++;
  }
  return french > english ? 'fr' : 'en';
}
