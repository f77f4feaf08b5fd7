import type { z } from 'zod';
import { DomainError } from '../chat/errors.js';

/** Parses request input with a zod schema; any problem is `validation_failed` naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const message = result.error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'input'}: ${issue.message}`)
    .join('; ');
  throw new DomainError('validation_failed', message);
}
