import { describe, expect, it } from 'vitest';
import { isDomainError } from './errors.js';
import { DEFAULT_NOTICES, NOTICE_KINDS, NOTICE_MAX_LENGTH, noticeText, parseNoticeOverrides } from './notices.js';

function errorOf(run: () => unknown): { code: string; message: string; key: unknown } {
  try {
    run();
  } catch (e) {
    if (isDomainError(e)) return { code: e.code, message: e.message, key: e.details?.key };
    throw e;
  }
  throw new Error('expected an error');
}

const ARABIC = /[\u0600-\u06FF]/u;

describe('noticeText', () => {
  it('[AI6] every kind has a short text in English, Arabic and French', () => {
    for (const kind of NOTICE_KINDS) {
      const en = noticeText(kind, 'en', { operator_name: 'Ana' });
      const ar = noticeText(kind, 'ar', { operator_name: 'Ana' });
      const fr = noticeText(kind, 'fr', { operator_name: 'Ana' });
      for (const text of [en, ar, fr]) {
        expect(text.length, `${kind}: ${text}`).toBeGreaterThan(10);
        expect(text.length, `${kind}: ${text}`).toBeLessThan(200);
        expect(text).not.toContain('{');
      }
      expect(en).not.toMatch(ARABIC);
      expect(ar).toMatch(ARABIC);
      expect(fr).not.toMatch(ARABIC);
      expect(new Set([en, ar, fr]).size).toBe(3);
    }
    expect(noticeText('handover_requested', 'en', {})).toBe(DEFAULT_NOTICES.en.handover_requested);
    expect(noticeText('conversation_ended', 'fr', {})).toBe(DEFAULT_NOTICES.fr.conversation_ended);
    expect(noticeText('handed_back', 'ar', {})).toBe(DEFAULT_NOTICES.ar.handed_back);
  });

  it('[AI6] "<operator name> joined" names the operator, in each language', () => {
    expect(noticeText('operator_joined', 'en', { operator_name: 'Ana' })).toBe('Ana has joined the conversation and is happy to help you.');
    expect(noticeText('operator_joined', 'fr', { operator_name: 'Ana' })).toBe(
      'Ana a rejoint la conversation et se fera un plaisir de vous aider.',
    );
    expect(noticeText('operator_joined', 'ar', { operator_name: 'رنا' })).toBe('رنا معك الآن في المحادثة، ويسعدنا مساعدتك.');
  });

  it('[AI6] an operator without a name is "a member of our team", in the language', () => {
    expect(noticeText('operator_joined', 'en', {})).toBe('A member of our team has joined the conversation and is happy to help you.');
    expect(noticeText('operator_joined', 'fr', { operator_name: '  ' })).toMatch(/^Un membre de notre équipe a rejoint/);
    expect(noticeText('operator_joined', 'ar', {})).toMatch(/^أحد أعضاء فريقنا معك الآن/);
  });

  it('[AI6] a name is inserted as written, never read as a replacement pattern', () => {
    expect(noticeText('operator_joined', 'en', { operator_name: '$& $1 {operator_name}' })).toBe(
      '$& $1 {operator_name} has joined the conversation and is happy to help you.',
    );
  });

  it('[AI6] an unknown or missing language falls back to English; regional codes use their language', () => {
    expect(noticeText('handover_requested', 'de', {})).toBe(DEFAULT_NOTICES.en.handover_requested);
    expect(noticeText('handover_requested', null, {})).toBe(DEFAULT_NOTICES.en.handover_requested);
    expect(noticeText('handover_requested', 'not a language', {})).toBe(DEFAULT_NOTICES.en.handover_requested);
    expect(noticeText('handover_requested', 'ar-LB', {})).toBe(DEFAULT_NOTICES.ar.handover_requested);
    expect(noticeText('handover_requested', 'FR_fr', {})).toBe(DEFAULT_NOTICES.fr.handover_requested);
    expect(noticeText('handover_requested', 'AR', {})).toBe(DEFAULT_NOTICES.ar.handover_requested);
  });

  it('[AI6] overrides win over the defaults, kind by kind, and may add a language', () => {
    const overrides = parseNoticeOverrides({
      ar: { handover_requested: 'لحظة من فضلك، زميلتنا ستكون معك.' },
      en: { operator_joined: 'Hi, {operator_name} here from Clinic Lumière.', operator_fallback: 'Your care coordinator' },
      'pt-BR': { handover_requested: 'Obrigado! Alguém da equipe vai falar com você.' },
      es: { operator_joined: '{operator_name} está contigo.' },
    });
    expect(noticeText('handover_requested', 'ar', {}, overrides)).toBe('لحظة من فضلك، زميلتنا ستكون معك.');
    expect(noticeText('conversation_ended', 'ar', {}, overrides)).toBe(DEFAULT_NOTICES.ar.conversation_ended);
    expect(noticeText('operator_joined', 'en', { operator_name: 'Ana' }, overrides)).toBe('Hi, Ana here from Clinic Lumière.');
    expect(noticeText('operator_joined', 'en', {}, overrides)).toBe('Hi, Your care coordinator here from Clinic Lumière.');
    expect(noticeText('handover_requested', 'pt-br', {}, overrides)).toBe('Obrigado! Alguém da equipe vai falar com você.');
    // A kind the added language does not set comes from English — overridden English included.
    expect(noticeText('handed_back', 'pt-BR', {}, overrides)).toBe(DEFAULT_NOTICES.en.handed_back);
    expect(noticeText('operator_joined', 'pt-BR', { operator_name: 'Ana' }, overrides)).toBe('Hi, Ana here from Clinic Lumière.');
    // Spanish has its own text but no fallback name: English's stands in.
    expect(noticeText('operator_joined', 'es', {}, overrides)).toBe('Your care coordinator está contigo.');
    expect(noticeText('operator_joined', 'de', { operator_name: 'Ana' }, overrides)).toBe('Hi, Ana here from Clinic Lumière.');
  });
});

describe('parseNoticeOverrides', () => {
  it('[AI6] accepts an empty object and stores language codes lower case', () => {
    expect(parseNoticeOverrides({})).toEqual({});
    expect(parseNoticeOverrides({ AR: { conversation_ended: 'مع السلامة' } })).toEqual({ ar: { conversation_ended: 'مع السلامة' } });
  });

  it('[AI6] a file that is not an object of languages is refused', () => {
    for (const json of [null, [], 'text', 3, true]) {
      const error = errorOf(() => parseNoticeOverrides(json));
      expect(error.code).toBe('validation_failed');
      expect(error.message).toMatch(/expected a JSON object of languages/);
    }
  });

  it('[AI6] a bad overrides file names the bad key', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ 'english!': { handover_requested: 'x' } }, 'english!', /"english!" is not a language code/],
      [{ ar: 'نص' }, 'ar', /"ar" must be an object of notice texts/],
      [
        { ar: { handover_request: 'نص' } },
        'ar.handover_request',
        /"ar.handover_request" is not a notice kind \(expected one of handover_requested, operator_joined, conversation_ended, handed_back, operator_fallback\)/,
      ],
      [{ fr: { operator_joined: 42 } }, 'fr.operator_joined', /"fr.operator_joined" must be a non-empty string/],
      [{ fr: { operator_joined: '   ' } }, 'fr.operator_joined', /must be a non-empty string/],
      [{ en: { handed_back: 'x'.repeat(NOTICE_MAX_LENGTH + 1) } }, 'en.handed_back', /longer than 1000 characters/],
      [
        { en: { operator_joined: '{name} joined' } },
        'en.operator_joined',
        /contains the placeholder \{name\} \(only \{operator_name\} is allowed\)/,
      ],
      [{ en: { operator_fallback: '{operator_name}' } }, 'en.operator_fallback', /no placeholder is allowed/],
      [{ en: { handed_back: 'ok' }, EN: { handed_back: 'ok' } }, 'EN', /"EN" appears twice/],
    ];
    for (const [json, key, message] of cases) {
      const error = errorOf(() => parseNoticeOverrides(json));
      expect(error.code, key).toBe('validation_failed');
      expect(error.key, key).toBe(key);
      expect(error.message, key).toMatch(message);
    }
  });

  it('[AI6] the parsed overrides cannot be changed afterwards', () => {
    const overrides = parseNoticeOverrides({ en: { handed_back: 'Back to our assistant.' } });
    expect(Object.isFrozen(overrides)).toBe(true);
    expect(Object.isFrozen(overrides.en)).toBe(true);
  });
});
