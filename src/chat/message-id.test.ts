import { describe, expect, it } from 'vitest';
import { isDomainError } from './errors.js';
import {
  GENERATED_ID_PATTERN,
  canonicalJson,
  contentHashMessageId,
  extractSourceMessageId,
  generateMessageId,
  generateUniqueMessageId,
} from './message-id.js';

const fixedBytes = (hex: string) => () => Buffer.from(hex, 'hex');

function timePart(id: string): string {
  return id.slice(4, 18);
}

function utcStampOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

describe('generateMessageId', () => {
  it('[ID3] generated ids match msg_YYYYMMDDHHMMSS_8hex and use the UTC wall clock', () => {
    expect(generateMessageId(new Date('2026-03-01T14:30:22.987Z'), fixedBytes('a1b2c3d4'))).toBe('msg_20260301143022_a1b2c3d4');
  });

  it('[ID3] 100,000 ids all match the pattern and carry the UTC clock of the `now` passed', () => {
    const start = Date.UTC(2025, 11, 31, 23, 59, 0);
    const mismatches: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const ms = start + i * 997;
      const id = generateMessageId(new Date(ms));
      if (!GENERATED_ID_PATTERN.test(id) || timePart(id) !== utcStampOf(ms)) mismatches.push(id);
    }
    expect(mismatches).toEqual([]);
  });

  it('[ID3] with the real clock, the time part is within the second the id was made', () => {
    const before = Date.now();
    const id = generateMessageId();
    const after = Date.now();
    const stamp = timePart(id);
    expect(GENERATED_ID_PATTERN.test(id)).toBe(true);
    expect([utcStampOf(before), utcStampOf(after)]).toContain(stamp);
  });

  it('[ID3] the hex part is lowercase and comes from 4 random bytes', () => {
    const asked: number[] = [];
    const id = generateMessageId(new Date('2026-01-02T03:04:05Z'), (n) => {
      asked.push(n);
      return Buffer.from('ABCDEF09', 'hex');
    });
    expect(asked).toEqual([4]);
    expect(id).toBe('msg_20260102030405_abcdef09');
  });

  it('[ID3] 100,000 ids from one second are (practically) all distinct', () => {
    const now = new Date('2026-03-01T14:30:22Z');
    const ids = new Set<string>();
    for (let i = 0; i < 100_000; i++) ids.add(generateMessageId(now));
    // 2^32 values: the expected number of colliding pairs is ~1.2, so allow a few.
    expect(ids.size).toBeGreaterThan(99_990);
  });

  it('[ID3] refuses a random source that gives too few bytes, and an invalid date', () => {
    expect(() => generateMessageId(new Date(), () => Buffer.alloc(3))).toThrow(RangeError);
    expect(() => generateMessageId(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('generateUniqueMessageId', () => {
  it('[ID6] a forced collision is regenerated, never returned', async () => {
    const now = () => new Date('2026-03-01T14:30:22Z');
    const taken = 'msg_20260301143022_deadbeef';
    const outputs = ['deadbeef', 'deadbeef', '0badf00d'];
    const random = () => Buffer.from(outputs.shift()!, 'hex');
    const checked: string[] = [];
    const id = await generateUniqueMessageId(
      (candidate) => {
        checked.push(candidate);
        return candidate === taken;
      },
      now,
      random,
    );
    expect(id).toBe('msg_20260301143022_0badf00d');
    expect(checked).toEqual([taken, taken, id]);
  });

  it('[ID6] accepts an async isTaken', async () => {
    const seen = new Set(['msg_20260301143022_00000001']);
    let n = 1;
    const random = () => Buffer.from((n++).toString(16).padStart(8, '0'), 'hex');
    const id = await generateUniqueMessageId(
      async (candidate) => seen.has(candidate),
      () => new Date('2026-03-01T14:30:22Z'),
      random,
    );
    expect(id).toBe('msg_20260301143022_00000002');
  });

  it('[ID6] gives up with conflict after maxAttempts, never returning a taken id', async () => {
    let calls = 0;
    const error = await generateUniqueMessageId(
      () => {
        calls++;
        return true;
      },
      undefined,
      fixedBytes('00000000'),
      5,
    ).catch((e: unknown) => e);
    expect(isDomainError(error) && error.code).toBe('conflict');
    expect(calls).toBe(5);
  });

  it('[ID6] the default maxAttempts is 8', async () => {
    let calls = 0;
    await expect(
      generateUniqueMessageId(() => {
        calls++;
        return true;
      }),
    ).rejects.toMatchObject({ code: 'conflict' });
    expect(calls).toBe(8);
  });
});

describe('extractSourceMessageId', () => {
  it('[ID2] takes the first non-empty key in the order source_message_id, message_id, webhook_message_id, wamid', () => {
    const all = { wamid: 'd', webhook_message_id: 'c', message_id: 'b', source_message_id: 'a' };
    expect(extractSourceMessageId(all)).toBe('a');
    expect(extractSourceMessageId({ ...all, source_message_id: undefined })).toBe('b');
    expect(extractSourceMessageId({ wamid: 'd', webhook_message_id: 'c' })).toBe('c');
    expect(extractSourceMessageId({ wamid: 'd' })).toBe('d');
  });

  it('[ID2] trims values and skips empty, whitespace, null and object values', () => {
    expect(extractSourceMessageId({ source_message_id: '  wamid.X  ' })).toBe('wamid.X');
    expect(
      extractSourceMessageId({
        source_message_id: '   ',
        message_id: null,
        webhook_message_id: { id: 'nested' },
        wamid: '\twamid.Y\n',
      }),
    ).toBe('wamid.Y');
    expect(extractSourceMessageId({ source_message_id: '', message_id: [], wamid: true })).toBeNull();
  });

  it('[ID2] stringifies numbers, skipping non-finite ones', () => {
    expect(extractSourceMessageId({ message_id: 12345 })).toBe('12345');
    expect(extractSourceMessageId({ message_id: 0 })).toBe('0');
    expect(extractSourceMessageId({ source_message_id: Number.NaN, wamid: 7n })).toBe('7');
  });

  it('[ID2] is null for null, undefined and empty metadata', () => {
    expect(extractSourceMessageId(null)).toBeNull();
    expect(extractSourceMessageId(undefined)).toBeNull();
    expect(extractSourceMessageId({})).toBeNull();
    expect(extractSourceMessageId({ other: 'x' })).toBeNull();
  });
});

describe('contentHashMessageId', () => {
  it('[ID5] the same parts always give the same id, whatever the key order', () => {
    const a = contentHashMessageId('montymobile', { from: '9617', text: 'hi', at: 1700000000 });
    const b = contentHashMessageId('montymobile', { at: 1700000000, text: 'hi', from: '9617' });
    expect(a).toBe(b);
    expect(a).toMatch(/^mm_[0-9a-f]{32}$/);
  });

  it('[ID5] different parts give different ids', () => {
    const a = contentHashMessageId('montymobile', { from: '9617', text: 'hi' });
    const b = contentHashMessageId('montymobile', { from: '9617', text: 'hi!' });
    expect(a).not.toBe(b);
  });

  it('[ID5] sorts keys at every depth and prefixes other providers with their name', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: undefined, e: new Date(0) })).toBe(
      '{"b":[{"c":2,"d":1}],"e":"1970-01-01T00:00:00.000Z"}',
    );
    expect(contentHashMessageId('qiscus', ['x'])).toMatch(/^qiscus_[0-9a-f]{32}$/);
  });

  it('[ID5] refuses circular parts', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => contentHashMessageId('montymobile', loop)).toThrow(TypeError);
  });
});
