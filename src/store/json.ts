import { randomBytes } from 'node:crypto';

/** Parses a JSON column; a null column stays null. */
export function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function toJson(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** Opaque random row id with a readable prefix (`c_…` conversation, `ct_…` contact …). */
export function newRowId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}
