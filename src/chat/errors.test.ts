import { describe, expect, it } from 'vitest';
import { DomainError, ERROR_CODES, isDomainError } from './errors.js';

describe('DomainError', () => {
  it('[§7 errors] carries a code, a message and optional details', () => {
    const error = new DomainError('window_closed', 'closed', { window_expires_at: null });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('DomainError');
    expect(error.code).toBe('window_closed');
    expect(error.message).toBe('closed');
    expect(error.details).toEqual({ window_expires_at: null });
    expect(new DomainError('conflict', 'x').details).toBeUndefined();
  });

  it('[§7 errors] isDomainError tells domain errors from others', () => {
    expect(isDomainError(new DomainError('not_found', 'x'))).toBe(true);
    expect(isDomainError(new Error('x'))).toBe(false);
    expect(isDomainError({ code: 'not_found', message: 'x' })).toBe(false);
    expect(isDomainError(null)).toBe(false);
  });

  it('[§7 errors] lists every code once', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });
});
