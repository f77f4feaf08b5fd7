import { describe, expect, it } from 'vitest';
import { generatePassword, hashPassword, verifyPassword } from './password.js';

describe('password hashing (SPEC §10)', () => {
  it('[§10 passwords] scrypt with a random salt: the same password hashes differently and verifies', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/);
    expect(a).not.toContain('correct horse');
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horse', b)).toBe(true);
    expect(await verifyPassword('correct hors', a)).toBe(false);
    expect(await verifyPassword('Correct horse', a)).toBe(false);
  });

  it('[§10 passwords] malformed or tampered stored hashes never verify', async () => {
    const good = await hashPassword('pw-12345678');
    const parts = good.split('$');
    const flipped = [
      ...parts.slice(0, 5),
      Buffer.from(Buffer.from(parts[5]!, 'base64url').map((x, i) => (i === 0 ? x ^ 1 : x))).toString('base64url'),
    ].join('$');
    for (const stored of ['', 'plain', 'scrypt$1$2$3', flipped, good.replace('scrypt', 'bcrypt'), good.replace('$32768$', '$99999999$')]) {
      expect(await verifyPassword('pw-12345678', stored), stored).toBe(false);
    }
  });

  it('[§10 first admin] generated passwords are long and random', () => {
    const seen = new Set(Array.from({ length: 50 }, generatePassword));
    expect(seen.size).toBe(50);
    for (const p of seen) expect(p).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });
});
