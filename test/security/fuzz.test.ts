import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { metaTextPayload, startTestServer } from '../support/app.js';
import { montyTextPayload, qiscusTextPayload, storedCounts, webhookHeaders, webhookPath } from '../support/webhook-senders.js';

/**
 * Issue 14: the three webhook endpoints fuzzed with fast-check, seeded and bounded. Inputs are
 * authentic (signed, with the token, under the secret path) so they reach the parsers, or forged
 * so they must not: valid payloads with leaves replaced by arbitrary JSON, arbitrary JSON, and
 * arbitrary bytes. Only 200, 400, 401 and 413 may answer; a refused input changes nothing stored.
 *
 * CI: FUZZ_RUNS (default 200) runs per property and endpoint, seed FUZZ_SEED (default 1414).
 * By hand, longer: `FUZZ_RUNS=5000 FUZZ_SEED=$RANDOM npx vitest run test/security/fuzz.test.ts`
 * (a failure prints its seed and the shrunk input; rerun with that seed).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const SEED = Number(process.env.FUZZ_SEED ?? 1414);
const TIMEOUT = Math.max(60_000, RUNS * 600);
type Provider = 'meta' | 'montymobile' | 'qiscus';
const PROVIDERS: Provider[] = ['meta', 'montymobile', 'qiscus'];
const ALLOWED = new Set([200, 400, 401, 413]);

let server: Running;
beforeAll(async () => {
  server = await startTestServer({ AI_RESPONDER: 'none' });
});
afterAll(async () => {
  await server?.close();
});

function template(provider: Provider, n: number): unknown {
  if (provider === 'meta') return metaTextPayload(`wamid.FZ${n}`, '16505550888', 'fuzz');
  if (provider === 'montymobile') return montyTextPayload(`wamid.FZM${n}`, 'fuzz');
  return qiscusTextPayload(`fz${n}`, 'fuzz');
}

/** Every path to a leaf (or a whole object/array) of `value`. */
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, Array.isArray(value) ? Number(k) : k], out);
  }
  return out;
}

function replaceAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) };
  copy[path[0]!] = replaceAt(copy[path[0]!], path.slice(1), replacement);
  return copy;
}

const hostileLeaf = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '',
    '\u0000',
    '\ud800',
    '__proto__',
    '9'.repeat(400),
    'x'.repeat(70_000),
    -1,
    1e308,
    Number.MAX_SAFE_INTEGER + 2,
    {},
    [],
    null,
    true,
  ),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'type'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

/** A body for one fuzz case: a mutated real payload (most cases), arbitrary JSON, or arbitrary bytes. */
const bodyOf = (provider: Provider) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(fc.nat(), fc.array(fc.tuple(fc.nat(), hostileLeaf), { minLength: 1, maxLength: 4 })).map(([n, edits]) => {
        let payload = template(provider, n);
        for (const [at, leaf] of edits) {
          const all = paths(payload);
          payload = replaceAt(payload, all[at % all.length]!, leaf);
        }
        return Buffer.from(JSON.stringify(payload) ?? 'null');
      }),
    },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)) },
  );

async function post(provider: Provider, body: Buffer, authentic: boolean, contentType = 'application/json') {
  const headers = webhookHeaders(
    provider,
    body.toString('latin1'),
    authentic ? { contentType } : { contentType, signature: 'sha256=' + '0'.repeat(64), token: 'wrong-token' },
  );
  if (provider === 'meta' && authentic) {
    // sign the exact bytes (the helper signs a string)
    const { createHmac } = await import('node:crypto');
    headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', 'test-meta-app-secret').update(body).digest('hex')}`;
  }
  const url = authentic || provider !== 'qiscus' ? webhookPath(provider) : webhookPath(provider, 'not-the-secret');
  return server.app.inject({ method: 'POST', url, headers, payload: body });
}

describe(`webhook fuzzing (seed ${SEED}, ${RUNS} runs per property)`, () => {
  for (const provider of PROVIDERS) {
    it(
      `[§4 fuzz] ${provider}: authentic hostile bodies answer 200/400/413 only; a refused one stores nothing`,
      async () => {
        await fc.assert(
          fc.asyncProperty(
            bodyOf(provider),
            fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded'),
            async (body, type) => {
              const before = await storedCounts(server.ctx.store.reader);
              const res = await post(provider, body, true, type);
              if (!ALLOWED.has(res.statusCode)) throw new Error(`${res.statusCode} ${res.body.slice(0, 300)}`);
              if (res.statusCode !== 200) {
                const after = await storedCounts(server.ctx.store.reader);
                expect(after).toEqual(before);
              }
            },
          ),
          { seed: SEED, numRuns: RUNS, endOnFailure: true },
        );
        expect((await server.app.inject({ url: '/readyz' })).statusCode).toBe(200);
      },
      TIMEOUT,
    );

    it(
      `[§4 fuzz] ${provider}: forged (bad signature, token or path secret) answers 401 and stores nothing`,
      async () => {
        await fc.assert(
          fc.asyncProperty(bodyOf(provider), async (body) => {
            const before = await storedCounts(server.ctx.store.reader);
            const res = await post(provider, body, false);
            if (res.statusCode !== 401 && !(provider === 'qiscus' && res.statusCode === 404))
              throw new Error(`${res.statusCode} ${res.body.slice(0, 300)}`);
            expect(await storedCounts(server.ctx.store.reader)).toEqual(before);
          }),
          { seed: SEED, numRuns: Math.ceil(RUNS / 2), endOnFailure: true },
        );
      },
      TIMEOUT,
    );
  }

  it('[§4 fuzz] the mutated payloads reach the parsers: some authentic ones are stored', async () => {
    const counts = await storedCounts(server.ctx.store.reader);
    expect(counts.webhook_journal).toBeGreaterThan(0);
    expect(counts.messages).toBeGreaterThan(0);
  });
});
