import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mediaFilePath, sha256Matches } from '../../src/app/download-media.js';
import { parseRange } from '../../src/http/routes/media.routes.js';
import { httpFailure } from '../../src/providers/media-fetch.js';

describe('media rules', () => {
  const bytes = Buffer.from('the bytes of a photo');
  const digest = createHash('sha256').update(bytes).digest();

  it('[SPEC §4 media] sha256 is accepted as Meta base64 or as hex; a wrong one fails; an unreadable one is not checked', () => {
    expect(sha256Matches(digest.toString('base64'), digest)).toBe(true);
    expect(sha256Matches(digest.toString('hex'), digest)).toBe(true);
    expect(sha256Matches(digest.toString('hex').toUpperCase(), digest)).toBe(true);
    expect(sha256Matches(digest.toString('base64url'), digest)).toBe(true);
    const other = createHash('sha256').update('other').digest();
    expect(sha256Matches(other.toString('base64'), digest)).toBe(false);
    expect(sha256Matches(other.toString('hex'), digest)).toBe(false);
    expect(sha256Matches('not-a-hash', digest)).toBeNull();
  });

  it('files land under media/<yyyy>/<mm>/<media_id> of the arrival month; unsafe ids are refused', () => {
    expect(mediaFilePath('md_ab12', '2026-03-01T14:30:22.000Z')).toBe('media/2026/03/md_ab12');
    expect(() => mediaFilePath('../etc/passwd', '2026-03-01T00:00:00.000Z')).toThrow();
  });

  it('byte ranges: a-b, a-, -n, clamped at the end; past the end unsatisfiable; others serve everything', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=90-500', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(parseRange('items=0-1', 100)).toBeNull();
    expect(parseRange(undefined, 100)).toBeNull();
  });

  it('provider answers: 404, 408, 429 and 5xx are retried; other 4xx are final', () => {
    for (const s of [404, 408, 429, 500, 502, 503]) expect(httpFailure(s, 'x').retryable, String(s)).toBe(true);
    for (const s of [400, 401, 403, 410, 413]) expect(httpFailure(s, 'x').retryable, String(s)).toBe(false);
    expect(httpFailure(429, 'x', '3').retryAfterMs).toBe(3000);
  });
});
