import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InboundBatch } from '../../chat/types.js';
import { isDomainError } from '../../chat/errors.js';
import {
  PROPERTY_RUNS,
  assertParsesOrRejects,
  assertWellFormedBatch,
  loadAllFixtures,
  loadFixture,
  mutatedFixture,
} from '../testing/webhook-properties.js';
import { montyContentId, parseMontyWebhook } from './montymobile.webhook.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const NOW = new Date('2026-01-01T00:00:00.000Z');
const SOURCE = { sourceNumber: '+961 81 000 111' };

function parse(name: string, opts: { sourceNumber: string | null } = SOURCE): InboundBatch {
  const batch = parseMontyWebhook(loadFixture(FIXTURES, name), opts, NOW);
  assertWellFormedBatch(batch, 'montymobile');
  return batch;
}

describe('parseMontyWebhook', () => {
  it('maps the captured delivered status (REFERENCE §2.5) with provider montymobile', () => {
    expect(parse('status-delivered')).toEqual({
      messages: [],
      statuses: [
        {
          provider: 'montymobile',
          provider_message_id: 'wamid.HBgLOTYxNzY0NjY2NzQVAgARGBIxQUE0NzM1RkE1MTVBMzFFRkMA',
          status: 'delivered',
          timestamp: new Date(1766244956 * 1000),
          error: null,
          recipient: '961XXXXXXXX',
        },
      ],
      ignored: [],
    });
  });

  it('maps a failed status with its error', () => {
    const [status] = parse('status-failed').statuses;
    expect(status).toMatchObject({ status: 'failed', error: { code: '131047', title: 'Re-engagement message' }, recipient: '96170123456' });
  });

  it('[ID1] keys the sender on messages[].from, never contacts[0].wa_id; names only a matching contact', () => {
    const batch = parse('shared-contact');
    expect(batch.ignored).toEqual([]);
    expect(batch.messages).toEqual([
      {
        provider: 'montymobile',
        provider_message_id: 'wamid.HBgLOTYxNzAxMjM0NTYVAgASGBQzQTg5QUJDREVGMDEyMzQ1Njc4OQA=',
        channel_external_id: '901137269746618',
        channel_name: '96181000111',
        contact_key: '96170123456',
        wa_id: '96170123456',
        user_id: null,
        contact_name: 'Rania',
        type: 'text',
        text: 'مرحبا، بدي موعد',
        media: null,
        reply_to: null,
        timestamp: new Date(1766245000 * 1000),
        metadata: {},
        error: null,
      },
      {
        provider: 'montymobile',
        provider_message_id: 'wamid.HBgLOTYxNzE5OTk4ODgVAgASGBQzQTk5QUJDREVGMDEyMzQ1Njc4OQA=',
        channel_external_id: '901137269746618',
        channel_name: '96181000111',
        contact_key: '96171999888',
        wa_id: '96171999888',
        user_id: null,
        contact_name: null,
        type: 'text',
        text: 'Hello, price for laser?',
        media: null,
        reply_to: null,
        timestamp: new Date(1766245001 * 1000),
        metadata: {},
        error: null,
      },
    ]);
  });

  it("ignores echoes of the business's own number, comparing digits only", () => {
    const batch = parse('own-number-echo');
    expect(batch.messages.map((m) => m.text)).toEqual(['Thanks!']);
    expect(batch.ignored).toEqual([{ reason: "entry[0].changes[0].value.messages[0]: echo from the business's own number 96181000111" }]);
  });

  it('ignores own-number echoes by the display number even without a configured source number', () => {
    const batch = parse('own-number-echo', { sourceNumber: null });
    expect(batch.messages.map((m) => m.text)).toEqual(['Thanks!']);
    expect(batch.ignored).toHaveLength(1);
  });

  it('ignores echoes of a configured source number that differs from the display number', () => {
    const body = loadFixture(FIXTURES, 'shared-contact');
    const batch = parseMontyWebhook(body, { sourceNumber: '+961-71-999-888' }, NOW);
    expect(batch.messages.map((m) => m.contact_key)).toEqual(['96170123456']);
  });

  it('[ID5] gives a message without id a deterministic mm_ id from its content, equal on redelivery', () => {
    const first = parse('missing-id');
    const again = parse('missing-id');
    expect(first.ignored).toEqual([]);
    const ids = first.messages.map((m) => m.provider_message_id);
    expect(ids).toEqual(again.messages.map((m) => m.provider_message_id));
    for (const id of ids) expect(id).toMatch(/^mm_[0-9a-f]{32}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(first.messages[0]).toMatchObject({ contact_key: '96170123456', contact_name: 'Rania', text: 'Is anyone there?' });
  });

  it('derives the content id from from, timestamp, type and the type object only, whatever the key order', () => {
    const message = { from: '96170123456', timestamp: '1766245200', type: 'text', text: { body: 'Is anyone there?' } };
    const reordered = { text: { body: 'Is anyone there?' }, type: 'text', timestamp: '1766245200', from: '96170123456', contacts: [1] };
    expect(montyContentId(reordered)).toBe(montyContentId(message));
    expect(montyContentId({ ...message, text: { body: 'other' } })).not.toBe(montyContentId(message));
    expect(montyContentId({ ...message, from: '96170123457' })).not.toBe(montyContentId(message));
  });

  it('accepts media as link or url (kind url) and as id (kind provider_id)', () => {
    const [audio, image, document] = parse('media-links').messages;
    expect(audio).toMatchObject({ type: 'voice', text: null });
    expect(audio!.media).toEqual({
      ref: 'https://mmc.api.montymobile.com/media/2f1c9a7e-audio.ogg',
      kind: 'url',
      mime_type: 'audio/ogg; codecs=opus',
      sha256: null,
      filename: null,
      caption: null,
    });
    expect(image).toMatchObject({ type: 'photo', text: 'my skin before' });
    expect(image!.media).toMatchObject({
      ref: 'https://mmc.api.montymobile.com/media/7d3e1b20-photo.jpg',
      kind: 'url',
      caption: 'my skin before',
    });
    expect(document!.media).toEqual({
      ref: '1234567890123456',
      kind: 'provider_id',
      mime_type: 'application/pdf',
      sha256: 'V5OPpLD/gEG6Xjg0MbmQDLFgcKsL+j5LfY4ny/pZ4MY=',
      filename: 'lab-results.pdf',
      caption: null,
    });
  });

  it('maps interactive replies like Meta', () => {
    const [message] = parse('interactive').messages;
    expect(message).toMatchObject({
      type: 'interactive',
      text: 'Book a session',
      reply_to: 'wamid.HBgLOTYxNzAxMjM0NTYVAgARGBJNRU5VMDAwMDAwMDAwMQA=',
      metadata: { interactive: { type: 'button_reply', id: 'book', title: 'Book a session', description: null } },
    });
  });

  it('rejects JSON of an unknown shape with 400', () => {
    for (const body of [null, 'x', [], { entries: [] }, { object: 'instagram', entry: [] }]) {
      expect(() => parseMontyWebhook(body, SOURCE, NOW)).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    }
  });
});

describe('parseMontyWebhook: any input (SPEC §4, no input causes a 500)', () => {
  const fixtures = loadAllFixtures(FIXTURES);
  const sourceNumber = fc.option(fc.oneof(fc.string(), fc.constant('96181000111'), fc.constant('+961 70 123 456')));

  it('returns a well-formed batch or throws DomainError validation_failed for arbitrary values', () => {
    fc.assert(
      fc.property(fc.anything(), sourceNumber, (body, source) =>
        assertParsesOrRejects(() => parseMontyWebhook(body, { sourceNumber: source }, NOW), 'montymobile'),
      ),
      { numRuns: PROPERTY_RUNS },
    );
  });

  it('does the same for arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => assertParsesOrRejects(() => parseMontyWebhook(body, SOURCE, NOW), 'montymobile')),
      { numRuns: PROPERTY_RUNS },
    );
  });

  it('does the same for real fixtures with fields deleted or replaced deep in the tree', () => {
    fc.assert(
      fc.property(mutatedFixture(fixtures), sourceNumber, (body, source) =>
        assertParsesOrRejects(() => parseMontyWebhook(body, { sourceNumber: source }, NOW), 'montymobile'),
      ),
      { numRuns: PROPERTY_RUNS * 2 },
    );
  });

  it('never ignores a message for lack of an id', () => {
    fc.assert(
      fc.property(mutatedFixture(fixtures), (body) => {
        try {
          const batch = parseMontyWebhook(body, SOURCE, NOW);
          expect(batch.ignored.filter((item) => item.reason.endsWith('message without id'))).toEqual([]);
        } catch (error) {
          if (!(isDomainError(error) && error.code === 'validation_failed')) throw error;
        }
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });
});
