import { z } from 'zod';

/*
 * Lenient readers for values inside provider webhooks, shared by the three providers. Each returns
 * `undefined`/`null` for a value of the wrong shape instead of failing, so one odd field never costs
 * a whole batch.
 */

/** A string field; any other value reads as absent. */
export const optionalText = z.string().optional().catch(undefined);

/** A boolean field; any other value reads as absent. */
export const optionalFlag = z.boolean().optional().catch(undefined);

/** An identifier sent as a string or a non-negative integer, trimmed; empty or anything else reads as absent. */
export const optionalId = z
  .union([z.string(), z.int().nonnegative()])
  .transform((value) => String(value).trim())
  .transform((value) => (value === '' ? undefined : value))
  .optional()
  .catch(undefined);

const decimal = z
  .string()
  .trim()
  .regex(/^-?\d{1,3}(\.\d+)?$/)
  .transform(Number);

/** Latitude in degrees, as a number or a decimal string. */
export const latitudeSchema = z.union([z.number(), decimal]).pipe(z.number().min(-90).max(90));

/** Longitude in degrees, as a number or a decimal string. */
export const longitudeSchema = z.union([z.number(), decimal]).pipe(z.number().min(-180).max(180));

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `record[key]` only when it is the record's own property, so a type named `constructor` reads nothing. */
export function ownValue(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Phone numbers are compared and stored without '+' (REFERENCE §1.5). */
export function withoutPlus(phone: string): string {
  return phone.startsWith('+') ? phone.slice(1) : phone;
}

export function digitsOnly(value: string): string {
  return value.replace(/\D/g, '');
}

/** A string that is present and not blank, trimmed; otherwise null. */
export function nonBlank(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

/**
 * Unix seconds, as a number or a string of digits, to a Date; null when absent, malformed or out of
 * the Date range. Callers fall back to the receipt time: the timestamp is shown, never used to order.
 */
export function dateFromUnixSeconds(value: unknown): Date | null {
  let seconds: number;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string' && /^\d{1,15}$/.test(value.trim())) seconds = Number(value.trim());
  else return null;
  if (!Number.isFinite(seconds) || seconds < 0) return null;
  const date = new Date(Math.trunc(seconds) * 1000);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * An ISO-8601 date-time to a Date; null when absent or malformed. A value without an offset
 * (Qiscus `room_log.created_at` style) is read as UTC, never as the server's local time.
 */
export function dateFromIso(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  const match = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(text);
  if (!match) return null;
  const date = new Date(match[3] ? text : `${text}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}
