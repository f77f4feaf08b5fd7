import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '../../src/chat/types.js';
import { TEST_SECRETS, metaTextPayload, signMeta } from '../support/app.js';
import {
  META_BUSINESS,
  metaEnvelope,
  montyTextPayload,
  qiscusTextPayload,
  sendWebhook,
  storedCounts,
  storedMessage,
  webhookPath,
  type SendOptions,
  type WebhookAnswer,
} from '../support/webhook-senders.js';
import { startWebhookServer, webhookDatabases, type WebhookServer } from './harness.js';

/*
 * SPEC §4: bad requests never reach storage. Bad signature, token or path secret → 401; not JSON →
 * 400; over 3 MB → 413; JSON of an unknown shape → 400 with a reason; never a 500. Every rejected
 * request leaves every table exactly as it was. Plus the Meta verification handshake (REFERENCE §1.2).
 */

const PROVIDERS: Provider[] = ['meta', 'montymobile', 'qiscus'];

function validPayload(provider: Provider, id: string): unknown {
  if (provider === 'meta') return metaTextPayload(id);
  if (provider === 'montymobile') return montyTextPayload(id, `hello ${id}`);
  return qiscusTextPayload(id, `hello ${id}`);
}

/** Credentials a provider would never send: each is wrong in its own way. */
const BAD_AUTH: Record<Provider, { name: string; options: (body: string) => SendOptions }[]> = {
  meta: [
    { name: 'no X-Hub-Signature-256', options: () => ({ signature: null }) },
    { name: 'signed with another secret', options: (body) => ({ signature: signMeta(body, 'not-the-app-secret') }) },
    { name: 'signature of another body', options: (body) => ({ signature: signMeta(`${body} `) }) },
    { name: 'sha1= prefix', options: (body) => ({ signature: signMeta(body).replace('sha256=', 'sha1=') }) },
    { name: 'bare hex without sha256=', options: (body) => ({ signature: signMeta(body).slice('sha256='.length) }) },
    { name: 'truncated signature', options: (body) => ({ signature: signMeta(body).slice(0, -2) }) },
    { name: 'empty header', options: () => ({ signature: '' }) },
  ],
  montymobile: [
    { name: 'no x-webhook-token', options: () => ({ token: null }) },
    { name: 'wrong token of the same length', options: () => ({ token: 'x'.repeat(TEST_SECRETS.MONTYMOBILE_WEBHOOK_TOKEN.length) }) },
    { name: 'token with a suffix', options: () => ({ token: `${TEST_SECRETS.MONTYMOBILE_WEBHOOK_TOKEN}x` }) },
    { name: 'token prefix', options: () => ({ token: TEST_SECRETS.MONTYMOBILE_WEBHOOK_TOKEN.slice(0, 4) }) },
    { name: 'empty token', options: () => ({ token: '' }) },
  ],
  qiscus: [
    { name: 'wrong path secret', options: () => ({ secret: 'not-the-secret' }) },
    { name: 'path secret with a suffix', options: () => ({ secret: `${TEST_SECRETS.QISCUS_WEBHOOK_SECRET}x` }) },
    { name: 'path secret in another case', options: () => ({ secret: TEST_SECRETS.QISCUS_WEBHOOK_SECRET.toUpperCase() }) },
    { name: 'empty path secret', options: () => ({ secret: '' }) },
  ],
};

/** Well-formed JSON that is no webhook of that provider. */
const UNKNOWN_SHAPES: Record<Provider, unknown[]> = {
  meta: [
    {},
    [],
    null,
    42,
    'entry',
    true,
    { entry: 'not an array' },
    { object: 'page', entry: [] },
    { object: 'instagram', entry: [{ changes: [] }] },
  ],
  montymobile: [{}, [], null, -1, 'x', { entry: {} }, { object: 'whatsapp', entry: [] }, { data: { messages: [] } }],
  qiscus: [
    {},
    [],
    null,
    0,
    'post_comment_mobile',
    { type: 'post_comment_mobile' },
    { payload: { from: {}, room: {} } },
    { type: 'custom_button', payload: { from: {}, room: {}, message: {} } },
    { payload: { from: 'x', room: {}, message: {} } },
  ],
};

const NOT_JSON = ['', '{', 'not json', '{"entry": [}', '\u0000', '<xml/>', '{"a":1}{"b":2}', 'undefined', "{'single': 'quotes'}"];

for (const database of webhookDatabases()) {
  describe(`bad webhook input on ${database.kind} (SPEC §4)`, () => {
    let server: WebhookServer;
    beforeAll(async () => {
      server = await startWebhookServer(database);
      // Something stored already, so "unchanged" is not just "still empty".
      for (const provider of PROVIDERS) {
        expect((await sendWebhook(server.url, provider, validPayload(provider, `wamid.SEED.${provider}`))).status).toBe(200);
      }
    });
    afterAll(async () => {
      await server.destroy();
    });

    /** Sends, and checks the answer's status and error code and that no table changed. */
    async function expectRejected(send: () => Promise<WebhookAnswer>, status: number, code: string): Promise<WebhookAnswer> {
      const before = await storedCounts(server.db);
      const answer = await send();
      expect(answer.status, answer.text).toBe(status);
      expect(answer.body).toMatchObject({ error: { code } });
      expect(answer.body.error.message.length).toBeGreaterThan(0);
      expect(await storedCounts(server.db)).toEqual(before);
      return answer;
    }

    for (const provider of PROVIDERS) {
      for (const bad of BAD_AUTH[provider]) {
        it(`${provider}: ${bad.name} → 401, nothing stored`, async () => {
          const body = JSON.stringify(validPayload(provider, `wamid.AUTH.${provider}.${bad.name}`));
          await expectRejected(() => sendWebhook(server.url, provider, body, bad.options(body)), 401, 'bad_signature');
        });
      }

      it(`${provider}: authentication comes first — a bad credential on a non-JSON body is 401`, async () => {
        const options = BAD_AUTH[provider][0]!.options('{');
        await expectRejected(() => sendWebhook(server.url, provider, '{', options), 401, 'bad_signature');
      });

      it(`${provider}: authentic bytes that are not JSON → 400, nothing stored`, async () => {
        for (const body of NOT_JSON) {
          const answer = await expectRejected(() => sendWebhook(server.url, provider, body), 400, 'validation_failed');
          expect(answer.body.error.message).toBe('body is not JSON');
        }
      });

      it(`${provider}: well-formed JSON of an unknown shape → 400 with a reason, nothing stored`, async () => {
        for (const shape of UNKNOWN_SHAPES[provider]) {
          const answer = await expectRejected(() => sendWebhook(server.url, provider, JSON.stringify(shape)), 400, 'validation_failed');
          expect(answer.body.error.message, JSON.stringify(shape)).toMatch(/^not a (WhatsApp|Qiscus)/);
        }
      });

      it(`${provider}: a body over 3 MB → 413, nothing stored; just under the limit is accepted`, async () => {
        const limit = 3 * 1024 * 1024;
        const padded = (size: number, id: string) => {
          const base = JSON.stringify({ ...(validPayload(provider, id) as object), padding: '' });
          return base.replace('"padding":""', `"padding":"${'x'.repeat(size - base.length)}"`);
        };
        const over = padded(limit + 1, `wamid.BIG.${provider}`);
        expect(Buffer.byteLength(over)).toBe(limit + 1);
        await expectRejected(() => sendWebhook(server.url, provider, over), 413, 'payload_too_large');
        const under = padded(limit - 1024, `wamid.ALMOST.${provider}`);
        const answer = await sendWebhook(server.url, provider, under);
        expect(answer.status, answer.text).toBe(200);
        expect(answer.body).toMatchObject({ created: 1 });
      });
    }

    it('an unknown provider path is 404 and stores nothing', async () => {
      await expectRejected(
        async () => {
          const res = await fetch(`${server.url}/webhooks/whatsapp`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          });
          return { status: res.status, body: await res.json(), text: '', contentType: null };
        },
        404,
        'not_found',
      );
    });

    describe('odd but authentic input is stored, never a failure every retry would repeat', () => {
      it('a NUL character in a text and in an id is stored as U+FFFD (PostgreSQL text refuses U+0000)', async () => {
        const answer = await sendWebhook(server.url, 'meta', metaTextPayload('wamid.NUL\u0000ID', '16505551234', 'a\u0000b'));
        expect(answer.status, answer.text).toBe(200);
        expect(await storedMessage(server.db, 'wamid.NUL\uFFFDID')).toMatchObject({ text: 'a\uFFFDb', role: 'user' });
      });

      it('JSON nested 10,000 deep inside an unknown message type is stored as unsupported, the deep part cut', async () => {
        const depth = 10_000;
        const payload = metaEnvelope([
          {
            metadata: META_BUSINESS,
            messages: [{ from: '16505551234', id: 'wamid.DEEP', timestamp: '1749420000', type: 'weird', weird: '__DEEP__' }],
          },
        ]);
        const body = JSON.stringify(payload).replace('"__DEEP__"', `${'['.repeat(depth)}${']'.repeat(depth)}`);
        const answer = await sendWebhook(server.url, 'meta', body);
        expect(answer.status, answer.text).toBe(200);
        const m = await storedMessage(server.db, 'wamid.DEEP');
        expect(m.type).toBe('unsupported');
        expect(JSON.stringify(m.metadata.raw.weird)).toContain('"[nested too deep]"');
        const journal = await server.db.selectFrom('webhook_journal').select('body').orderBy('id', 'desc').executeTakeFirstOrThrow();
        expect(journal.body).toBe(body);
      });

      it('a message whose id or sender is too long to index is left out; the rest of the POST is stored', async () => {
        const long = randomBytes(3000).toString('base64');
        const payload = metaEnvelope([
          {
            metadata: META_BUSINESS,
            messages: [
              { from: '16505551234', id: `wamid.${long}`, timestamp: '1749420000', type: 'text', text: { body: 'long id' } },
              { from: long, id: 'wamid.LONGSENDER', timestamp: '1749420000', type: 'text', text: { body: 'long sender' } },
              { from: '16505551234', id: 'wamid.NEXT.TO.LONG', timestamp: '1749420000', type: 'text', text: { body: 'fine' } },
            ],
          },
        ]);
        const answer = await sendWebhook(server.url, 'meta', payload);
        expect(answer.status, answer.text).toBe(200);
        expect(answer.body).toMatchObject({ created: 1, unstorable: 2 });
        expect(await storedMessage(server.db, 'wamid.NEXT.TO.LONG')).toMatchObject({ text: 'fine' });
      });
    });

    describe('Meta verification handshake (GET /webhooks/meta)', () => {
      const get = async (query: string) => {
        const before = await storedCounts(server.db);
        const res = await fetch(`${server.url}${webhookPath('meta')}?${query}`);
        const text = await res.text();
        expect(await storedCounts(server.db)).toEqual(before);
        return { status: res.status, text, contentType: res.headers.get('content-type') };
      };
      const token = encodeURIComponent(TEST_SECRETS.META_VERIFY_TOKEN);

      it('echoes hub.challenge byte for byte as text/plain when the verify token matches', async () => {
        for (const challenge of ['1158201444', '0001', 'a-random_string.~', 'ünïcødé ✓', '']) {
          const answer = await get(`hub.mode=subscribe&hub.challenge=${encodeURIComponent(challenge)}&hub.verify_token=${token}`);
          expect(answer.status).toBe(200);
          expect(answer.contentType).toMatch(/^text\/plain/);
          expect(answer.text).toBe(challenge);
        }
      });

      it('answers 403 to a wrong, missing, repeated or differently cased token, another mode, or a missing or repeated challenge', async () => {
        const queries = [
          'hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong',
          `hub.mode=subscribe&hub.challenge=1&hub.verify_token=${token.toUpperCase()}`,
          `hub.mode=subscribe&hub.challenge=1&hub.verify_token=${token}x`,
          'hub.mode=subscribe&hub.challenge=1',
          `hub.mode=subscribe&hub.challenge=1&hub.verify_token=`,
          `hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=${token}`,
          `hub.challenge=1&hub.verify_token=${token}`,
          `hub.mode=subscribe&hub.verify_token=${token}`,
          `hub.mode=subscribe&hub.challenge=1&hub.challenge=2&hub.verify_token=${token}`,
          `hub.mode=subscribe&hub.challenge=1&hub.verify_token=${token}&hub.verify_token=${token}`,
          `hub.mode=subscribe&hub.mode=subscribe&hub.challenge=1&hub.verify_token=${token}`,
          '',
        ];
        for (const query of queries) {
          const answer = await get(query);
          expect(answer.status, query).toBe(403);
          expect(answer.text, query).not.toBe('1');
        }
      });
    });
  });
}
