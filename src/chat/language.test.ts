import { describe, expect, it } from 'vitest';
import { detectLanguage } from './language.js';

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
    expect(detectLanguage('kifak')).toBe('en');
  });

  it('[AI6] text without letters has no language', () => {
    expect(detectLanguage('')).toBeNull();
    expect(detectLanguage('   ')).toBeNull();
    expect(detectLanguage('12345 👍')).toBeNull();
    expect(detectLanguage('Привет')).toBeNull();
  });
});
