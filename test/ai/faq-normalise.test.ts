import { describe, expect, it } from 'vitest';
import { analyse, foldText, isArabizi, retrievalLanguage, smallTalkOf, transliterate } from '../../src/ai/normalise.js';

const shared = (a: string, b: string) => analyse(a).terms.filter((t) => analyse(b).terms.includes(t));

describe('faq text normalisation', () => {
  it('folds Arabic letter forms, diacritics, tatweel and digits, and Latin accents', () => {
    expect(foldText('أإآٱ')).toBe('اااا');
    expect(foldText('مُسْتَشْفَى')).toBe('مستشفي');
    expect(foldText('جلسة')).toBe('جلسه');
    expect(foldText('مـــرحـبـا')).toBe('مرحبا');
    expect(foldText('مؤلم سيئة')).toBe('مولم سييه');
    expect(foldText('٠١٢٣٤٥٦٧٨٩ ۴۵')).toBe('0123456789 45');
    expect(foldText('Épilation à Noël, ça coûte')).toBe('epilation a noel, ca coute');
  });

  it('reads Arabizi as Arabic: digit words or two Arabizi words, not English or French', () => {
    expect(isArabizi('ade 7a2 el laser')).toBe(true);
    expect(isArabizi('shu el as3ar')).toBe(true);
    expect(isArabizi('kif baddi e7joz')).toBe(true);
    expect(isArabizi('how much is laser')).toBe(false);
    expect(isArabizi('je voudrais un rendez-vous')).toBe(false);
    expect(isArabizi('مرحبا')).toBe(false);
    expect(isArabizi('I need 2 sessions')).toBe(false);
    expect(retrievalLanguage('ade 7a2 el laser')).toBe('ar');
    expect(retrievalLanguage('Bonjour, combien coûte le laser ?')).toBe('fr');
    expect(retrievalLanguage('hello, how much is the laser?')).toBe('en');
    expect(transliterate('3ayle')).toBe('عيل');
  });

  it('Arabizi and Arabic script meet on the same terms; dialect and plural forms meet the stored ones', () => {
    expect(shared('shu el as3ar', 'ما هي أسعاركم؟')).toContain('price');
    expect(shared('ade 7a2 el laser', 'كم سعر إزالة الشعر بالليزر؟')).toEqual(expect.arrayContaining(['price', 'ليزر']));
    expect(shared('بكام البوتكس', 'كم سعر البوتوكس؟')).toEqual(expect.arrayContaining(['price', 'botox']));
    expect(shared('جلسات', 'جلسة')).not.toEqual([]);
    expect(shared('What do you charge?', 'What are your prices?')).toEqual(['price']);
    expect(shared('réservations', 'réserver')).not.toEqual([]);
  });

  it('drops stop words, so a message of function words has no terms', () => {
    expect(analyse('what is this and how do you do it?').terms).toEqual([]);
    expect(analyse('est-ce que vous pouvez me dire').terms).toEqual([]);
    expect(analyse('هل ممكن لو سمحت').terms).toEqual([]);
  });

  it('recognises greetings, thanks and goodbyes alone, in every language and Arabizi', () => {
    expect(smallTalkOf('Hi!')).toBe('greeting');
    expect(smallTalkOf('good morning')).toBe('greeting');
    expect(smallTalkOf('السلام عليكم')).toBe('greeting');
    expect(smallTalkOf('mar7aba')).toBe('greeting');
    expect(smallTalkOf('thank you so much')).toBe('thanks');
    expect(smallTalkOf('شكراً كتير')).toBe('thanks');
    expect(smallTalkOf('merci beaucoup, au revoir')).toBe('farewell');
    expect(smallTalkOf('hi, how much is botox?')).toBeNull();
    expect(smallTalkOf('ok')).toBeNull();
    expect(smallTalkOf('')).toBeNull();
  });
});
