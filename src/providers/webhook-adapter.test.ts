import { describe, expect, it } from 'vitest';
import { sameSecret } from './webhook-adapter.js';

describe('sameSecret (MontyMobile x-webhook-token, Qiscus path secret, Meta verify token)', () => {
  it('accepts the configured secret only', () => {
    expect(sameSecret('s3cr3t-token', 's3cr3t-token')).toBe(true);
    expect(sameSecret('s3cr3t-tokem', 's3cr3t-token')).toBe(false);
    expect(sameSecret('s3cr3t-token ', 's3cr3t-token')).toBe(false);
    expect(sameSecret('s3cr3t', 's3cr3t-token')).toBe(false);
    expect(sameSecret('S3CR3T-TOKEN', 's3cr3t-token')).toBe(false);
    expect(sameSecret('tökén', 'tökén')).toBe(true);
  });

  it('is false when the presented or the configured secret is missing, empty or not a string', () => {
    expect(sameSecret(undefined, 's3cr3t-token')).toBe(false);
    expect(sameSecret('', 's3cr3t-token')).toBe(false);
    expect(sameSecret('', '')).toBe(false);
    expect(sameSecret('anything', '')).toBe(false);
    expect(sameSecret(['a', 'b'], 'a')).toBe(false);
    expect(sameSecret(42, '42')).toBe(false);
  });
});
