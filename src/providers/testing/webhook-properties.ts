import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { z } from 'zod';
import { MESSAGE_TYPES, type InboundBatch, type Provider } from '../../chat/types.js';
import { isDomainError } from '../../chat/errors.js';

/* Test support shared by the provider parser specs: fixtures, the batch contract, fuzzing inputs. */

/** A fixture as parsed JSON; `dir` is the spec's `new URL('./fixtures/', import.meta.url)`. */
export function loadFixture(dir: URL, name: string): unknown {
  return JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8'));
}

/** Every fixture of a folder, by name without `.json`. */
export function loadAllFixtures(dir: URL): Map<string, unknown> {
  const names = readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
  return new Map(names.map((name) => [name, loadFixture(dir, name)]));
}

const validDate = z.date().refine((date) => !Number.isNaN(date.getTime()), 'invalid date');
const nonEmpty = z.string().min(1);
const providerErrorSchema = z.strictObject({ code: z.string(), title: z.string() }).nullable();

function batchSchema(provider: Provider) {
  const message = z.strictObject({
    provider: z.literal(provider),
    provider_message_id: nonEmpty,
    channel_external_id: nonEmpty,
    channel_name: z.string().nullable(),
    contact_key: nonEmpty,
    wa_id: z
      .string()
      .min(1)
      .refine((id) => !id.startsWith('+'), 'wa_id keeps its +')
      .nullable(),
    user_id: z.string().nullable(),
    contact_name: z.string().nullable(),
    contact_username: z.string().optional(),
    type: z.enum(MESSAGE_TYPES),
    text: z.string().nullable(),
    media: z
      .strictObject({
        ref: nonEmpty,
        kind: z.enum(['provider_id', 'url']),
        mime_type: z.string().nullable(),
        sha256: z.string().nullable(),
        filename: z.string().nullable(),
        caption: z.string().nullable(),
      })
      .nullable(),
    reply_to: z.string().nullable(),
    timestamp: validDate,
    metadata: z.record(z.string(), z.unknown()),
    error: providerErrorSchema,
  });
  const status = z.strictObject({
    provider: z.literal(provider),
    provider_message_id: nonEmpty,
    status: z.enum(['sent', 'delivered', 'read', 'failed']),
    timestamp: validDate,
    error: providerErrorSchema,
    recipient: z.string().nullable(),
    /** Meta's biz_opaque_callback_data, only when the status carries one. */
    callback_data: nonEmpty.optional(),
  });
  const operation = z
    .strictObject({
      kind: z.enum(['edit', 'revoke', 'system']),
      message,
      target_message_id: nonEmpty.nullable(),
      new_wa_id: z.string().min(1).nullable().optional(),
    })
    .refine(
      (op) => (op.kind === 'system') === (op.target_message_id === null),
      'edits and revokes name their original, system notices none',
    );
  return z.strictObject({
    messages: z.array(message),
    statuses: z.array(status),
    ignored: z.array(z.strictObject({ reason: nonEmpty })),
    operations: z.array(operation).optional(),
  });
}

/** Throws unless `batch` has exactly the InboundBatch shape, with valid dates and non-empty keys. */
export function assertWellFormedBatch(batch: unknown, provider: Provider): asserts batch is InboundBatch {
  const result = batchSchema(provider).safeParse(batch);
  if (!result.success) throw new Error(`malformed batch: ${z.prettifyError(result.error)}`);
}

/**
 * The parser contract under any input (SPEC §4: no input can cause a 500): it returns a well-formed
 * batch or throws DomainError validation_failed with a reason. Anything else is rethrown.
 */
export function assertParsesOrRejects(parse: () => InboundBatch, provider: Provider): void {
  let batch: InboundBatch;
  try {
    batch = parse();
  } catch (error) {
    if (isDomainError(error) && error.code === 'validation_failed' && error.message.length > 0) return;
    throw error;
  }
  assertWellFormedBatch(batch, provider);
}

type Path = (string | number)[];

function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (Array.isArray(value)) {
    return value.flatMap((item, i) => [[...prefix, i], ...pathsOf(item, [...prefix, i])]);
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => [[...prefix, key], ...pathsOf(item, [...prefix, key])]);
  }
  return [];
}

/** Values that provoke the parsers: wrong types, blanks, huge numbers, type names in wrong places. */
const provocativeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    null,
    '',
    ' ',
    '0',
    0,
    -1,
    1.5,
    1e21,
    Number.MAX_SAFE_INTEGER,
    true,
    false,
    [],
    {},
    '+',
    '+0',
    'constructor',
    '__proto__',
    'toString',
    'text',
    'image',
    'audio',
    'video',
    'document',
    'sticker',
    'location',
    'contacts',
    'interactive',
    'button_reply',
    'list_reply',
    'button',
    'reaction',
    'unsupported',
    'file_attachment',
    'post_comment_mobile',
    'post_comment_rest',
    'played',
    'failed',
    'messages',
    '9999999999999999',
    '1749416383',
    'NaN',
    '[file] x [/file]',
    'x_admin@qismo.com',
    '{"channel_details":{"channel_id":1}}',
    '{not json',
    'https://x.test/a.ogg',
    'ptt',
    { body: 'hi' },
    { id: '1' },
    [{}],
    [null],
  ),
);

interface Mutation {
  at: number;
  op: 'delete' | 'replace';
  value: unknown;
}

function applyMutation(doc: unknown, mutation: Mutation): unknown {
  const paths = pathsOf(doc);
  if (paths.length === 0) return mutation.op === 'replace' ? mutation.value : doc;
  const path = paths[mutation.at % paths.length]!;
  let parent = doc as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  if (mutation.op === 'replace') parent[key] = structuredClone(mutation.value);
  else if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
  else delete parent[key];
  return doc;
}

/** A copy of `base` with 1–5 random fields, anywhere in the tree, deleted or replaced. */
export function mutatedJson(base: unknown): fc.Arbitrary<unknown> {
  return fc
    .array(fc.record({ at: fc.nat(), op: fc.constantFrom('delete' as const, 'replace' as const), value: provocativeValue }), {
      minLength: 1,
      maxLength: 5,
    })
    .map((mutations) => mutations.reduce(applyMutation, structuredClone(base)));
}

/** One of the fixtures, mutated. */
export function mutatedFixture(fixtures: Map<string, unknown>): fc.Arbitrary<unknown> {
  return fc.constantFrom(...fixtures.values()).chain(mutatedJson);
}

export const PROPERTY_RUNS = 500;
