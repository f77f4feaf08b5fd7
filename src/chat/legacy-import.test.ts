import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ImportError, parseLegacyExport, parseLegacyTimestamp } from './legacy-import.js';
import type { LegacyConversation } from './legacy-import.js';

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../test/fixtures/legacy/${name}`, import.meta.url), 'utf8'));
}

/** One row per message: id, role, type, text, timestamp. */
function rows(conversation: LegacyConversation | undefined): [string, string, string, string | null, string][] {
  if (!conversation) throw new Error('conversation missing');
  return conversation.messages.map((m) => [m.message_id, m.role, m.type, m.text, m.timestamp.toISOString()]);
}

function importErrorOf(input: unknown): ImportError {
  try {
    parseLegacyExport(input);
  } catch (error) {
    if (error instanceof ImportError) return error;
    throw error;
  }
  throw new Error('expected an ImportError, got a result');
}

const WAMID_1 = 'wamid.HBgLOTYxMzk1NjYwNxUCABIYFjNFQjBDMEE1RDk2';
const MONTY_ID = 'montymobile_wamid.HBgLOTYxMzk1NjYwNxUCABIYFjA5QkI3';

describe('parseLegacyExport, nested users/conversations form', () => {
  const conversations = parseLegacyExport(fixture('export-nested.json'));
  const byId = new Map(conversations.map((c) => [c.legacy_id, c]));

  it('returns every conversation of every user, keyed by the Firestore auto id', () => {
    expect(conversations.map((c) => c.legacy_id)).toEqual([
      'k3Jd8sPq1LmN0xYzA2bC',
      'Zq9WmT4eYb7uR2sXcV1n',
      'aB3dE5fG7hJ9kL1mN3pQ',
      'rS5tU7vW9xY1zA3bC5dE',
      'fG7hJ9kL1mN3pQ5rS7tU',
    ]);
  });

  it('[ID7] [ID8] assigns ids by the fallback chain and keeps existing ids, row by row', () => {
    expect(rows(byId.get('k3Jd8sPq1LmN0xYzA2bC'))).toEqual([
      [WAMID_1, 'user', 'text', 'مرحبا، عندي سؤال عن الطلب', '2025-03-01T14:30:22.123Z'],
      ['ts_2025-03-01T14:30:23.500Z', 'assistant', 'text', 'أهلاً رنا، كيف بقدر ساعدك؟', '2025-03-01T14:30:23.500Z'],
      [MONTY_ID, 'user', 'voice', null, '2025-03-01T14:31:00.000Z'],
      ['msg_20250301143130_a1b2c3d4', 'assistant', 'text', 'وصلتني رسالتك الصوتية، رقم الطلب 4471؟', '2025-03-01T14:31:30.250Z'],
      ['qiscus_1923874', 'user', 'photo', 'هيدا الإيصال', '2025-03-01T14:32:00.000Z'],
      ['ts_2025-03-01T14:33:00.000Z', 'operator', 'text', 'مرحبا رنا، معك عمر', '2025-03-01T14:33:00.000Z'],
      ['ts_2025-03-01T14:33:00.000Z_2', 'operator', 'text', 'لحظة من فضلك', '2025-03-01T14:33:00.000Z'],
      ['ts_2025-03-01T14:35:00.123Z', 'user', 'text', 'تمام', '2025-03-01T14:35:00.123Z'],
      ['1234567', 'user', 'unsupported', null, '2025-03-01T14:36:00.999Z'],
    ]);
    expect(rows(byId.get('Zq9WmT4eYb7uR2sXcV1n'))).toEqual([
      ['ts_2025-03-02T09:00:00.000Z', 'user', 'text', 'بدي احكي مع حدا', '2025-03-02T09:00:00.000Z'],
      ['ts_2025-03-02T09:00:00.000Z_3', 'assistant', 'text', 'عم حولك لموظف', '2025-03-02T09:00:00.000Z'],
      ['ts_2025-03-02T09:00:00.000Z_4', 'operator', 'text', 'معك عمر', '2025-03-02T09:00:00.000Z'],
      ['ts_2025-03-02T09:00:00.000Z_2', 'operator', 'text', 'رسالة قديمة بمعرف احتياطي', '2025-03-02T09:04:00.000Z'],
    ]);
    expect(rows(byId.get('aB3dE5fG7hJ9kL1mN3pQ'))).toEqual([
      ['ts_2025-03-03T10:00:00.000Z', 'user', 'text', 'Need help with my refund', '2025-03-03T10:00:00.000Z'],
    ]);
    expect(rows(byId.get('rS5tU7vW9xY1zA3bC5dE'))).toEqual([]);
    expect(rows(byId.get('fG7hJ9kL1mN3pQ5rS7tU'))).toEqual([]);
  });

  it('[ID8] two legacy messages sharing one timestamp get ts_… and ts_…_2', () => {
    const ids = byId
      .get('k3Jd8sPq1LmN0xYzA2bC')
      ?.messages.slice(5, 7)
      .map((m) => m.message_id);
    expect(ids).toEqual(['ts_2025-03-01T14:33:00.000Z', 'ts_2025-03-01T14:33:00.000Z_2']);
  });

  it('[ID8] a suffix never takes an id another message of the conversation already holds', () => {
    const ids = byId.get('Zq9WmT4eYb7uR2sXcV1n')?.messages.map((m) => m.message_id) ?? [];
    expect(ids).toContain('ts_2025-03-02T09:00:00.000Z_2');
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('[ID8] a message with only metadata.source_message_id takes it as its id', () => {
    const message = byId.get('k3Jd8sPq1LmN0xYzA2bC')?.messages[0];
    expect(message?.message_id).toBe(WAMID_1);
    expect(message?.metadata).toEqual({ source_message_id: WAMID_1, message_id: WAMID_1, language: 'ar' });
  });

  it('[ID7] keeps montymobile_ and qiscus_ ids exactly, and trims stored ids', () => {
    const messages = byId.get('k3Jd8sPq1LmN0xYzA2bC')?.messages ?? [];
    expect(messages[2]?.message_id).toBe(MONTY_ID);
    expect(messages[3]?.message_id).toBe('msg_20250301143130_a1b2c3d4');
    expect(messages[4]?.message_id).toBe('qiscus_1923874');
    expect(messages[8]?.message_id).toBe('1234567');
  });

  it('[ID4] metadata.message_id equals message_id on every message; user messages carry source_message_id', () => {
    for (const conversation of conversations) {
      for (const message of conversation.messages) {
        expect(message.metadata.message_id).toBe(message.message_id);
      }
    }
    const messages = byId.get('k3Jd8sPq1LmN0xYzA2bC')?.messages ?? [];
    expect(messages[2]?.metadata.source_message_id).toBe(MONTY_ID);
    expect(messages[4]?.metadata.source_message_id).toBe('qiscus_1923874');
    expect(messages[3]?.metadata).not.toHaveProperty('source_message_id');
    expect(messages[1]?.metadata).not.toHaveProperty('source_message_id');
  });

  it('maps audio_url and image_url to media', () => {
    const messages = byId.get('k3Jd8sPq1LmN0xYzA2bC')?.messages ?? [];
    expect(messages[2]?.media).toEqual({
      url: 'https://firebasestorage.googleapis.com/v0/b/legacy/o/voice%2F0001.ogg',
      kind: 'audio',
    });
    expect(messages[4]?.media).toEqual({
      url: 'https://firebasestorage.googleapis.com/v0/b/legacy/o/photo%2F0001.jpg',
      kind: 'image',
    });
    expect(messages[0]?.media).toBeNull();
  });

  it('keeps unknown fields, the language and an unknown type in metadata', () => {
    const messages = byId.get('k3Jd8sPq1LmN0xYzA2bC')?.messages ?? [];
    expect(messages[1]?.metadata).toEqual({
      handled_by: 'ai',
      language: 'ar',
      message_id: 'ts_2025-03-01T14:30:23.500Z',
    });
    expect(messages[5]?.metadata).toEqual({
      handled_by: 'human',
      legacy_fields: { read: true, operator_name: 'Omar' },
      message_id: 'ts_2025-03-01T14:33:00.000Z',
    });
    expect(messages[8]?.metadata).toEqual({
      source_message_id: '1234567',
      legacy_type: 'sticker_pack',
      message_id: '1234567',
    });
    expect(byId.get('k3Jd8sPq1LmN0xYzA2bC')?.metadata).toEqual({
      legacy_status: 'active',
      legacy_fields: { tags: ['vip'] },
      legacy_customer_info: { city: 'Beirut' },
      legacy_user: { created_at: '2024-11-02T08:00:00Z' },
    });
  });

  it('maps every legacy status to a state', () => {
    expect(conversations.map((c) => [c.legacy_id, c.metadata.legacy_status, c.state])).toEqual([
      ['k3Jd8sPq1LmN0xYzA2bC', 'active', 'ai'],
      ['Zq9WmT4eYb7uR2sXcV1n', 'human', 'operator'],
      ['aB3dE5fG7hJ9kL1mN3pQ', 'waiting_human', 'waiting'],
      ['rS5tU7vW9xY1zA3bC5dE', 'resolved', 'resolved'],
      ['fG7hJ9kL1mN3pQ5rS7tU', 'archived', 'resolved'],
    ]);
  });

  it('reads contact, operator, hand-over reason and last update', () => {
    expect(conversations.map((c) => [c.contact, c.operator_id, c.handover_reason, c.updated_at?.toISOString() ?? null])).toEqual([
      [{ key: '9613956607', phone: '9613956607', name: 'Rana' }, null, null, '2025-03-01T14:35:00.000Z'],
      [{ key: '9613956607', phone: '9613956607', name: 'Rana' }, 'op_7', 'user_requested', '2025-03-02T09:05:00.000Z'],
      [{ key: '971501234567', phone: '971501234567', name: 'Karim' }, null, 'ai_requested', null],
      [{ key: '971501234567', phone: '971501234567', name: 'Karim' }, 'op_2', null, '2025-03-03T10:00:00.000Z'],
      [{ key: '971501234567', phone: '971501234567', name: 'Karim' }, null, null, null],
    ]);
  });
});

describe('parseLegacyExport, plain array form', () => {
  const conversations = parseLegacyExport(fixture('export-array.json'));

  it('takes legacy_id from id, else #<index>; numbers stringified', () => {
    expect(conversations.map((c) => c.legacy_id)).toEqual(['legacyConv001', '#1', '7']);
  });

  it('[ID8] maps every message, row by row (roles bot → assistant, human → operator)', () => {
    expect(rows(conversations[0])).toEqual([
      ['wamid.HBgLOTYxMzk1NjYwNxUCABIYFkFCQ0RFRg', 'user', 'text', 'Hi', '2025-03-01T14:30:00.000Z'],
      ['ts_2025-03-01T14:30:01.000Z', 'assistant', 'text', 'Hello! How can I help?', '2025-03-01T14:30:01.000Z'],
    ]);
    expect(rows(conversations[1])).toEqual([
      ['qiscus_88121', 'user', 'text', 'This is the third time!', '2025-03-03T10:00:00.000Z'],
      ['ts_2025-03-03T10:01:00.000Z', 'operator', 'text', "Sorry about that, I'm on it.", '2025-03-03T10:01:00.000Z'],
    ]);
    expect(rows(conversations[2])).toEqual([]);
  });

  it('keys a phone contact by its digits and any other user_id as it is', () => {
    expect(conversations.map((c) => c.contact)).toEqual([
      { key: '9613956607', phone: '9613956607', name: 'Rana' },
      { key: 'rana@example.com', phone: null, name: null },
      { key: 'US.13491208655302741918', phone: null, name: null },
    ]);
    expect(conversations[1]).toMatchObject({
      state: 'operator',
      operator_id: '42',
      handover_reason: 'sentiment',
      metadata: { legacy_status: 'human', legacy_fields: { channel: 'qiscus' } },
    });
  });
});

describe('[ID7] [ID8] determinism', () => {
  it('parsing the same export twice gives identical conversations and ids', () => {
    for (const name of ['export-nested.json', 'export-array.json']) {
      expect(parseLegacyExport(fixture(name))).toEqual(parseLegacyExport(fixture(name)));
    }
  });

  it('does not modify its input', () => {
    const input = fixture('export-nested.json');
    const before = JSON.stringify(input);
    parseLegacyExport(input);
    expect(JSON.stringify(input)).toBe(before);
  });
});

describe('[ID8] message id edge cases', () => {
  function messagesOf(messages: unknown[]) {
    const [conversation] = parseLegacyExport([{ user_id: '+9613956607', messages }]);
    return conversation?.messages ?? [];
  }

  it('follows message_id → metadata.message_id → metadata.source_message_id → ts_', () => {
    const at = '2025-03-01T14:30:00Z';
    const messages = messagesOf([
      { role: 'user', timestamp: at, message_id: 'a', metadata: { message_id: 'b', source_message_id: 'c' } },
      { role: 'user', timestamp: at, message_id: '  ', metadata: { message_id: 'b2', source_message_id: 'c2' } },
      { role: 'user', timestamp: at, metadata: { message_id: '', source_message_id: 'c3' } },
      { role: 'user', timestamp: at, metadata: {} },
    ]);
    expect(messages.map((m) => m.message_id)).toEqual(['a', 'b2', 'c3', 'ts_2025-03-01T14:30:00.000Z']);
    expect(messages[0]?.metadata.legacy_message_id).toBe('b');
  });

  it('a stored id saved twice keeps both rows; the later one gets _2 and remembers its stored id', () => {
    const messages = messagesOf([
      { role: 'user', text: 'hi', timestamp: '2025-03-01T14:30:00Z', message_id: 'wamid.X' },
      { role: 'user', text: 'hi', timestamp: '2025-03-01T14:30:00Z', message_id: 'wamid.X' },
    ]);
    expect(messages.map((m) => m.message_id)).toEqual(['wamid.X', 'wamid.X_2']);
    expect(messages[1]?.metadata).toMatchObject({ message_id: 'wamid.X_2', legacy_message_id: 'wamid.X' });
  });

  it('a missing type is inferred from the media field (audio first); the unused URL is kept', () => {
    const messages = messagesOf([
      { role: 'user', timestamp: 1740839520000, audio_url: 'https://x/a.ogg' },
      { role: 'user', timestamp: 1740839520001, image_url: 'https://x/p.jpg', audio_url: 'https://x/a.ogg' },
      { role: 'user', timestamp: 1740839520002, type: 'image', image_url: 'https://x/p.jpg', audio_url: 'https://x/a.ogg' },
    ]);
    expect(messages.map((m) => [m.type, m.media?.kind])).toEqual([
      ['voice', 'audio'],
      ['voice', 'audio'],
      ['photo', 'image'],
    ]);
    expect(messages[1]?.metadata.legacy_fields).toEqual({ image_url: 'https://x/p.jpg' });
    expect(messages[2]?.metadata.legacy_fields).toEqual({ audio_url: 'https://x/a.ogg' });
  });

  it('treats JSON keys such as __proto__ and constructor as plain data', () => {
    const input: unknown = JSON.parse(
      '[{"user_id":"1","messages":[{"role":"user","timestamp":"2025-03-01T14:30:00Z","type":"constructor","__proto__":{"polluted":true}}]}]',
    );
    const message = parseLegacyExport(input)[0]?.messages[0];
    expect(message?.type).toBe('unsupported');
    expect(Object.hasOwn(message?.metadata.legacy_fields as object, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseLegacyTimestamp', () => {
  it.each([
    ['ISO with Z', '2025-03-01T14:30:22.123Z', '2025-03-01T14:30:22.123Z'],
    ['ISO with offset', '2025-03-01T16:30:22+02:00', '2025-03-01T14:30:22.000Z'],
    ['ISO without zone (UTC)', '2025-03-01T14:30:22.5', '2025-03-01T14:30:22.500Z'],
    ['Python str() with microseconds', '2025-03-01 14:30:22.123456+00:00', '2025-03-01T14:30:22.123Z'],
    ['{_seconds,_nanoseconds}', { _seconds: 1740839423, _nanoseconds: 500_000_000 }, '2025-03-01T14:30:23.500Z'],
    ['{seconds,nanoseconds}', { seconds: 1740839423, nanoseconds: 1_999_999 }, '2025-03-01T14:30:23.001Z'],
    ['JS SDK toJSON()', { type: 'firestore/timestamp/1.0', seconds: 1740839423, nanoseconds: 0 }, '2025-03-01T14:30:23.000Z'],
    ['{__time__}', { __time__: '2025-03-01T14:30:23Z' }, '2025-03-01T14:30:23.000Z'],
    ['epoch milliseconds', 1740839423123, '2025-03-01T14:30:23.123Z'],
  ])('reads %s', (_form, input, expected) => {
    expect(parseLegacyTimestamp(input)?.toISOString()).toBe(expected);
  });

  it.each([
    ['a word', 'yesterday'],
    ['an impossible date', '2025-02-30T10:00:00Z'],
    ['an impossible hour', '2025-03-01T24:00:00Z'],
    ['a numeric string', '1740839423123'],
    ['seconds as a string', { _seconds: '1740839423', _nanoseconds: 0 }],
    ['nanoseconds out of range', { seconds: 1, nanoseconds: 1_000_000_000 }],
    ['an extra key', { seconds: 1, nanoseconds: 0, zone: 'UTC' }],
    ['__time__ not a string', { __time__: 5 }],
    ['out of Date range', 9e15],
    ['null', null],
    ['a boolean', true],
  ])('refuses %s', (_form, input) => {
    expect(parseLegacyTimestamp(input)).toBeNull();
  });
});

describe('parseLegacyExport refuses malformed input with the path of the bad field', () => {
  const C = 'users["+9613956607"].conversations["c1"]';
  const GOOD_MESSAGE = { role: 'user', text: 'hi', timestamp: '2025-03-01T14:30:00Z' };

  function exportWith(conversation: Record<string, unknown>): unknown {
    const base = { user_id: '+9613956607', status: 'active', messages: [GOOD_MESSAGE] };
    return { users: { '+9613956607': { name: 'Rana', conversations: { c1: { ...base, ...conversation } } } } };
  }

  function exportWithMessage(message: Record<string, unknown>): unknown {
    return exportWith({ messages: [GOOD_MESSAGE, { ...GOOD_MESSAGE, ...message }] });
  }

  it.each<[string, unknown, string]>([
    ['a root that is a string', 'users', '(root)'],
    ['a root that is null', null, '(root)'],
    ['a root object without users', { conversations: [] }, '(root)'],
    ['users that is an array', { users: [] }, 'users'],
    ['a user that is null', { users: { '+9613956607': null } }, 'users["+9613956607"]'],
    ['conversations that is an array', { users: { '+9613956607': { conversations: [] } } }, 'users["+9613956607"].conversations'],
    ['a conversation that is a string', { users: { '+9613956607': { conversations: { c1: 'x' } } } }, C],
    ['messages that is not an array', exportWith({ messages: { 0: GOOD_MESSAGE } }), `${C}.messages`],
    ['a message that is not an object', exportWith({ messages: [GOOD_MESSAGE, 'hi'] }), `${C}.messages[1]`],
    ['a missing timestamp', exportWithMessage({ timestamp: undefined }), `${C}.messages[1].timestamp`],
    ['a timestamp that is a word', exportWithMessage({ timestamp: 'yesterday' }), `${C}.messages[1].timestamp`],
    ['an impossible date', exportWithMessage({ timestamp: '2025-02-30T10:00:00Z' }), `${C}.messages[1].timestamp`],
    ['an unknown role', exportWithMessage({ role: 'robot' }), `${C}.messages[1].role`],
    ['a missing role', exportWithMessage({ role: undefined }), `${C}.messages[1].role`],
    ['a role named like an Object member', exportWithMessage({ role: 'constructor' }), `${C}.messages[1].role`],
    ['text that is a number', exportWithMessage({ text: 42 }), `${C}.messages[1].text`],
    ['a type that is not a string', exportWithMessage({ type: 5 }), `${C}.messages[1].type`],
    ['metadata that is not an object', exportWithMessage({ metadata: 'x' }), `${C}.messages[1].metadata`],
    ['a message_id that is a boolean', exportWithMessage({ message_id: true }), `${C}.messages[1].message_id`],
    [
      'a source_message_id that is an object',
      exportWithMessage({ metadata: { source_message_id: {} } }),
      `${C}.messages[1].metadata.source_message_id`,
    ],
    ['an unknown status', exportWith({ status: 'pending' }), `${C}.status`],
    ['an invalid last_updated', exportWith({ last_updated: 'soon' }), `${C}.last_updated`],
    ['a customer name that is a number', exportWith({ customer_info: { name: 5 } }), `${C}.customer_info.name`],
    ['an array element that is null', [null], '[0]'],
    ['an array conversation without user_id', [{ messages: [] }], '[0].user_id'],
    [
      'an array message with a bad timestamp',
      [{ user_id: '1' }, { user_id: '2', messages: [{ role: 'user', timestamp: {} }] }],
      '[1].messages[0].timestamp',
    ],
    [
      'a duplicate conversation id',
      [
        { id: 'a', user_id: '1' },
        { id: 'a', user_id: '2' },
      ],
      '[1].id',
    ],
    [
      'keys that need quoting',
      { users: { 'a"b': { conversations: { 'c]1': { user_id: 'x', status: 'open' } } } } },
      'users["a\\"b"].conversations["c]1"].status',
    ],
  ])('%s', (_case, input, path) => {
    const error = importErrorOf(input);
    expect(error.path).toBe(path);
    expect(error.message).toBe(`${path}: ${error.problem}`);
  });

  it('names the expected timestamp forms', () => {
    expect(importErrorOf(exportWithMessage({ timestamp: 'yesterday' })).message).toBe(
      `${C}.messages[1].timestamp: not a timestamp (expected ISO-8601, {_seconds,_nanoseconds}, {seconds,nanoseconds}, {__time__} or epoch milliseconds)`,
    );
  });

  it('reports the first bad field in stored order', () => {
    const input = exportWith({
      messages: [{ ...GOOD_MESSAGE, timestamp: 'later' }, GOOD_MESSAGE, { ...GOOD_MESSAGE, role: 'robot' }],
    });
    expect(importErrorOf(input).path).toBe(`${C}.messages[0].timestamp`);
  });

  it('accepts a conversation without messages as empty, and a missing status as active', () => {
    const [conversation] = parseLegacyExport(exportWith({ messages: undefined, status: undefined }));
    expect(conversation).toMatchObject({ legacy_id: 'c1', state: 'ai', messages: [] });
  });
});
