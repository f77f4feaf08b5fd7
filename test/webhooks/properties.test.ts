import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '../../src/chat/types.js';
import { loadAllFixtures, mutatedFixture } from '../../src/providers/testing/webhook-properties.js';
import { META_BUSINESS, sendWebhook, storedCounts } from '../support/webhook-senders.js';
import { journalRows, startWebhookServer, webhookDatabases, type WebhookServer } from './harness.js';

/*
 * SPEC §4 "No input can cause a 500", through the HTTP layer: authentic (validly signed) bodies of
 * arbitrary JSON, of provider-shaped JSON with arbitrary fields, of arbitrary bytes, and real
 * fixtures with fields deleted or replaced, posted to each endpoint. The answer is always 200 or
 * 400; a 400 stores nothing; a 200 journals the exact body [IN1]; the server keeps serving.
 */

const RUNS = { json: 60, shaped: 60, mutated: 80, bytes: 20 };

const text = fc.string({ unit: 'binary', maxLength: 24 });
const json = fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' });
const either = <T>(likely: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: likely }, { weight: 1, arbitrary: json });
const TYPES = [
  'text',
  'image',
  'audio',
  'video',
  'document',
  'sticker',
  'location',
  'contacts',
  'interactive',
  'button',
  'reaction',
  'unsupported',
  'order',
  'constructor',
  '__proto__',
];

/** A Meta `changes[].value`: every field present or not, plausible or arbitrary. */
const metaValue = fc.record(
  {
    metadata: either(fc.constant(META_BUSINESS)),
    contacts: either(
      fc.array(
        fc.record(
          {
            wa_id: either(fc.constantFrom('16505551234', '+96170123456')),
            user_id: either(text),
            profile: either(fc.record({ name: text })),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 2 },
      ),
    ),
    messages: either(
      fc.array(
        fc.record(
          {
            from: either(fc.constantFrom('16505551234', '96170123456', '15550783881', '')),
            from_user_id: either(text),
            id: either(text.map((s) => `wamid.${s}`)),
            timestamp: either(fc.constantFrom('1749416383', '-1', '1e3', '99999999999999999999')),
            type: either(fc.constantFrom(...TYPES)),
            text: either(fc.record({ body: text })),
            image: json,
            audio: either(fc.record({ id: text, voice: fc.boolean(), mime_type: text }, { requiredKeys: [] })),
            document: json,
            location: either(fc.record({ latitude: json, longitude: json })),
            contacts: json,
            interactive: json,
            button: json,
            reaction: either(fc.record({ message_id: text, emoji: either(text) }, { requiredKeys: [] })),
            context: either(fc.record({ id: text, from: text }, { requiredKeys: [] })),
            referral: json,
            errors: json,
          },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
    ),
    statuses: either(
      fc.array(
        fc.record(
          {
            id: either(text),
            status: either(fc.constantFrom('sent', 'delivered', 'read', 'failed', 'played', 'deleted')),
            timestamp: json,
            recipient_id: json,
            errors: json,
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    ),
    errors: json,
  },
  { requiredKeys: [] },
);

const metaShaped = fc.record(
  {
    object: either(fc.constant('whatsapp_business_account')),
    entry: either(
      fc.array(
        fc.record(
          {
            id: json,
            changes: either(
              fc.array(
                fc.record({ field: either(fc.constantFrom('messages', 'account_update')), value: metaValue }, { requiredKeys: ['value'] }),
                { maxLength: 3 },
              ),
            ),
          },
          { requiredKeys: ['changes'] },
        ),
        { maxLength: 2 },
      ),
    ),
  },
  { requiredKeys: ['entry'] },
);

const qiscusBot = fc.record(
  {
    type: either(fc.constantFrom('post_comment_mobile', 'post_comment_rest')),
    app_code: either(text),
    channel: json,
    payload: fc.record(
      {
        type: either(fc.constantFrom('post_comment_mobile', 'post_comment_rest')),
        from: fc.record(
          { email: either(fc.constantFrom('6281234567890', 'agent@mail.test', 'kovof-123_admin@qismo.com', '')), name: either(text) },
          { requiredKeys: [] },
        ),
        room: fc.record(
          {
            id: either(text),
            name: either(text),
            options: fc.oneof(
              json,
              json.map((v) => JSON.stringify(v)),
              fc.constant('{"source":"wa","channel_details":{"channel_id":9}}'),
              text,
            ),
          },
          { requiredKeys: [] },
        ),
        message: fc.record(
          {
            unique_temp_id: either(text.map((s) => `wa_wamid.${s}`)),
            id_str: either(text),
            id: json,
            type: either(fc.constantFrom('text', 'file_attachment', 'location', 'buttons')),
            text: either(text),
            payload: either(
              fc.record(
                {
                  url: either(fc.constantFrom('https://x.test/a.ogg', 'https://x.test/PTT-1', 'https://x.test/b.pdf', 'not a url')),
                  caption: either(text),
                },
                { requiredKeys: [] },
              ),
            ),
            unix_timestamp: json,
            timestamp: json,
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

const qiscusForward = metaValue.chain((value) =>
  fc.record({ app_code: either(text), channel_id: json }, { requiredKeys: [] }).map((extra) => ({ ...value, ...extra })),
);

const SHAPED: Record<Provider, fc.Arbitrary<unknown>> = {
  meta: metaShaped,
  montymobile: metaShaped,
  qiscus: fc.oneof(qiscusBot, qiscusForward),
};

const FIXTURES: Record<Provider, Map<string, unknown>> = {
  meta: loadAllFixtures(new URL('../../src/providers/meta/fixtures/', import.meta.url)),
  montymobile: loadAllFixtures(new URL('../../src/providers/montymobile/fixtures/', import.meta.url)),
  qiscus: loadAllFixtures(new URL('../../src/providers/qiscus/fixtures/', import.meta.url)),
};

for (const database of webhookDatabases()) {
  describe(`any authentic input through HTTP on ${database.kind}: 200 or 400, never 500 (SPEC §4)`, () => {
    let server: WebhookServer;
    beforeAll(async () => {
      server = await startWebhookServer(database);
    });
    afterAll(async () => {
      await server.destroy();
    });

    /** The property: one authentic POST of `body`. */
    async function postOne(provider: Provider, body: string): Promise<void> {
      const before = await storedCounts(server.db);
      const answer = await sendWebhook(server.url, provider, body);
      if (answer.status === 400) {
        expect(answer.body.error.code).toBe('validation_failed');
        expect(answer.body.error.message.length).toBeGreaterThan(0);
        expect(await storedCounts(server.db)).toEqual(before);
        return;
      }
      expect(answer.status, `${answer.status} ${answer.text} for ${body.slice(0, 500)}`).toBe(200);
      expect(answer.body.status).toBe('ok');
      const journal = await journalRows(server.db);
      expect(journal).toHaveLength(before.webhook_journal + 1);
      expect(journal.at(-1)!.body).toBe(body);
    }

    for (const provider of ['meta', 'montymobile', 'qiscus'] as Provider[]) {
      it(`${provider}: arbitrary JSON values`, async () => {
        await fc.assert(
          fc.asyncProperty(json, (value) => postOne(provider, JSON.stringify(value))),
          { numRuns: RUNS.json },
        );
      });

      it(`${provider}: JSON in the provider's shape with arbitrary fields`, async () => {
        await fc.assert(
          fc.asyncProperty(SHAPED[provider], (value) => postOne(provider, JSON.stringify(value))),
          { numRuns: RUNS.shaped },
        );
      });

      it(`${provider}: real fixtures with fields deleted or replaced anywhere in the tree`, async () => {
        await fc.assert(
          fc.asyncProperty(mutatedFixture(FIXTURES[provider]), (value) => postOne(provider, JSON.stringify(value))),
          { numRuns: RUNS.mutated },
        );
      });

      it(`${provider}: arbitrary bytes`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 64 }), (body) => postOne(provider, body)),
          { numRuns: RUNS.bytes },
        );
      });
    }

    it('the server still serves after all of it', async () => {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect((await journalRows(server.db)).length).toBeGreaterThan(0);
    });
  });
}
