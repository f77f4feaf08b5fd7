import { describe, expect, it } from 'vitest';
import { LANGUAGE_SWITCH_MIN_EVIDENCE, detectContactLanguage, detectLanguage, normalizeText } from './language.js';

describe('detectLanguage', () => {
  it('[AI6] Arabic script reads as Arabic', () => {
    expect(detectLanguage('مرحبا، بدي احكي مع حدا')).toBe('ar');
    expect(detectLanguage('ok شكرا كتير')).toBe('ar');
  });

  it('[AI6] French stopwords and accents read as French', () => {
    expect(detectLanguage('Bonjour, je voudrais parler à quelqu’un')).toBe('fr');
    expect(detectLanguage("merci beaucoup, c'est très gentil")).toBe('fr');
    expect(detectLanguage('Où est ma commande ?')).toBe('fr');
  });

  it('[AI6] other Latin text reads as English', () => {
    expect(detectLanguage('Hello, I want to talk to a human')).toBe('en');
    expect(detectLanguage('where is my order?')).toBe('en');
    expect(detectLanguage('ok')).toBe('en');
  });

  it('[AI6] Arabic written in Latin letters (Arabizi) reads as Arabic', () => {
    for (const text of [
      'kifak',
      'shu el as3ar?',
      'bade e7ke ma3 7ada',
      'baddi ehki ma3 shi hada',
      'fi 7ada e7ke ma3o',
      'mar7aba, ade se3r el laser?',
      '7abibi inshallah bokra',
      'kam se3r el jalse',
      'Hi, 3ande moshkle bel maw3ed',
      'merci ktir',
      'yalla tamam',
      'ana t2akhart shway',
    ]) {
      expect(detectLanguage(text), text).toBe('ar');
    }
  });

  it('[AI6] digits in English and French text are not Arabizi (times, ordinals, units)', () => {
    expect(detectLanguage('Can I book for 3pm on the 2nd?')).toBe('en');
    expect(detectLanguage('I need 2 sessions, room 7b please')).toBe('en');
    expect(detectLanguage('I want the 5kg package and the mp3')).toBe('en');
    expect(detectLanguage('Je voudrais venir à 9h avec 2 amies')).toBe('fr');
    expect(detectLanguage('Is the covid19 test needed? thanks')).toBe('en');
  });

  it('[AI6] text without letters has no language', () => {
    expect(detectLanguage('')).toBeNull();
    expect(detectLanguage('   ')).toBeNull();
    expect(detectLanguage('12345 👍')).toBeNull();
    expect(detectLanguage('Привет')).toBeNull();
  });
});

describe('detectContactLanguage', () => {
  it('[AI6] the first telling messages set the language of a contact not detected yet', () => {
    expect(detectContactLanguage(['مرحبا', 'بدي احجز موعد'], null)).toBe('ar');
    expect(detectContactLanguage(['Hello', 'I would like to book a session'], null)).toBe('en');
    expect(detectContactLanguage(['Bonjour', 'je voudrais un rendez-vous'], null)).toBe('fr');
    expect(detectContactLanguage(['kifak', 'bade e7jez maw3ed'], null)).toBe('ar');
  });

  it('[AI6] messages that say nothing about a language establish nothing', () => {
    expect(detectContactLanguage([], null)).toBeNull();
    expect(detectContactLanguage(['ok', '👍', '12'], null)).toBeNull();
    expect(detectContactLanguage(['👍'], 'fr')).toBe('fr');
  });

  it('[AI6] a one-word "ok", "merci" or "thanks" does not flip an established language', () => {
    expect(detectContactLanguage(['ok'], 'ar')).toBe('ar');
    expect(detectContactLanguage(['merci'], 'ar')).toBe('ar');
    expect(detectContactLanguage(['thanks'], 'fr')).toBe('fr');
    expect(detectContactLanguage(['oui merci'], 'en')).toBe('en');
    expect(detectContactLanguage(['بدي احجز موعد', 'ok', 'merci'], 'ar')).toBe('ar');
  });

  it('[AI6] a sentence in another language does change it', () => {
    expect(detectContactLanguage(['Hello, can you answer me in English please?'], 'ar')).toBe('en');
    expect(detectContactLanguage(['مرحبا بدي احجز موعد'], 'en')).toBe('ar');
    expect(detectContactLanguage(['Bonjour, je voudrais prendre un rendez-vous pour vendredi'], 'en')).toBe('fr');
  });

  it('[AI6] the other language must clearly dominate the messages looked at', () => {
    // Arabic and English in the same window: the established Arabic stays.
    expect(detectContactLanguage(['مرحبا بدي احجز', 'Hello I want to book'], 'ar')).toBe('ar');
    // Just below the switching evidence ("thank you" is two English words) nothing changes.
    expect(LANGUAGE_SWITCH_MIN_EVIDENCE).toBe(3);
    expect(detectContactLanguage(['thank you'], 'ar')).toBe('ar');
  });
});

describe('normalizeText', () => {
  it('[AI4] folds case, accents, Arabic letter forms, diacritics, digits and repeated letters', () => {
    expect(normalizeText('Bonjour, je voudrais parler à quelqu’un')).toBe('bonjour je voudrais parler a quelqu un');
    expect(normalizeText('أُريدُ التحدّث مع موظّفة')).toBe('اريد التحدث مع موظفه');
    expect(normalizeText('إلى مستشفى آمنة')).toBe('الي مستشفي امنه');
    expect(normalizeText('pleeease HELP!!!')).toBe('please help');
    expect(normalizeText('baddi ehki ma3 shi hada')).toBe('badi ehki ma3 shi hada');
    expect(normalizeText('١٢٣ ۴ ﻻ')).toBe('123 4 لا');
    expect(normalizeText("don't — sœur")).toBe('don t soeur');
    expect(normalizeText('  👍 ... ')).toBe('');
  });
});
