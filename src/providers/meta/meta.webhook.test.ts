import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InboundBatch, InboundMessage } from '../../chat/types.js';
import { DomainError, isDomainError } from '../../chat/errors.js';
import {
  PROPERTY_RUNS,
  assertParsesOrRejects,
  assertWellFormedBatch,
  loadAllFixtures,
  loadFixture,
  mutatedFixture,
} from '../testing/webhook-properties.js';
import { parseMetaWebhook, verifyMetaSignature } from './meta.webhook.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const NOW = new Date('2026-01-01T00:00:00.000Z');

function parse(name: string): InboundBatch {
  const batch = parseMetaWebhook(loadFixture(FIXTURES, name), NOW);
  assertWellFormedBatch(batch, 'meta');
  return batch;
}

function only(name: string): InboundMessage {
  const batch = parse(name);
  expect(batch.messages).toHaveLength(1);
  expect(batch.ignored).toEqual([]);
  return batch.messages[0]!;
}

const SHEENA = {
  provider: 'meta',
  channel_external_id: '106540352242922',
  channel_name: '15550783881',
  contact_key: '16505551234',
  wa_id: '16505551234',
  user_id: null,
  contact_name: 'Sheena Nelson',
} as const;

function rejection(body: unknown): DomainError {
  try {
    parseMetaWebhook(body, NOW);
  } catch (error) {
    if (isDomainError(error)) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('verifyMetaSignature', () => {
  const secret = 'app-secret-123';
  const raw = Buffer.from('{"object":"whatsapp_business_account","entry":[]}');
  const good = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

  it('accepts the HMAC-SHA256 of the raw bytes, lower or upper case hex', () => {
    expect(verifyMetaSignature(raw, good, secret)).toBe(true);
    expect(verifyMetaSignature(raw, `sha256=${good.slice(7).toUpperCase()}`, secret)).toBe(true);
  });

  it('rejects a signature of other bytes, another secret, or a re-serialised body', () => {
    expect(verifyMetaSignature(Buffer.from(`${raw.toString()} `), good, secret)).toBe(false);
    expect(verifyMetaSignature(raw, good, 'other-secret')).toBe(false);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString()), null, 1));
    expect(verifyMetaSignature(reserialised, good, secret)).toBe(false);
  });

  it('returns false, never throws, for missing or malformed headers', () => {
    const malformed = [
      undefined,
      '',
      'sha256=',
      good.slice(7),
      `sha1=${good.slice(7)}`,
      `${good}00`,
      good.slice(0, -2),
      `sha256=${'zz'.repeat(32)}`,
      `sha256=${good.slice(7, 39)}`,
      `${good},${good}`,
    ];
    for (const header of malformed) expect(verifyMetaSignature(raw, header, secret)).toBe(false);
    expect(verifyMetaSignature(raw, good, '')).toBe(false);
    expect(verifyMetaSignature(raw, 42 as unknown as string, secret)).toBe(false);
  });
});

describe('parseMetaWebhook: envelope', () => {
  it('rejects JSON of an unknown shape with 400 and a reason', () => {
    for (const body of [null, 42, 'text', [], {}, { entry: {} }, { object: 'page', entry: [] }, { object: 1, entry: [] }]) {
      const error = rejection(body);
      expect(error.code).toBe('validation_failed');
      expect(error.message).toMatch(/not a WhatsApp webhook/);
    }
  });

  it('accepts an envelope without "object" (MontyMobile-style) and an empty entry list', () => {
    expect(parseMetaWebhook({ entry: [] }, NOW)).toEqual({ messages: [], statuses: [], ignored: [] });
  });

  it('handles every entry and change of a batch and ignores other change fields', () => {
    const batch = parse('batch');
    expect(batch.messages.map((m) => [m.provider_message_id, m.contact_key, m.contact_name, m.channel_external_id, m.text])).toEqual([
      ['wamid.BATCH.A1', '16505551234', 'Sheena Nelson', '106540352242922', 'first'],
      ['wamid.BATCH.A2', '447700900123', 'Alan Turing', '106540352242922', 'second'],
      ['wamid.BATCH.B1', '33612345678', 'Marie Curie', '209876543210987', 'bonjour'],
    ]);
    expect(batch.messages[2]!.channel_name).toBe('15550001111');
    expect(batch.statuses).toEqual([
      {
        provider: 'meta',
        provider_message_id: 'wamid.BATCH.OUT1',
        status: 'delivered',
        timestamp: new Date(1749420002 * 1000),
        error: null,
        recipient: '16505551234',
      },
    ]);
    expect(batch.ignored).toEqual([{ reason: 'entry[1].changes[1]: field "message_template_status_update" is not handled' }]);
  });

  it('records value-level errors as ignored, with code and title', () => {
    expect(parse('value-errors')).toEqual({
      messages: [],
      statuses: [],
      ignored: [{ reason: 'entry[0].changes[0].value.errors[0]: error 130429: Rate limit hit' }],
    });
  });

  it('accounts for every message and status of every fixture: parsed or ignored, never dropped', () => {
    for (const [name, body] of loadAllFixtures(FIXTURES)) {
      const batch = parseMetaWebhook(body, NOW);
      let items = 0;
      for (const entry of (body as { entry: { changes: { value: Record<string, unknown[]> }[] }[] }).entry) {
        for (const change of entry.changes) {
          const { messages = [], statuses = [], errors = [] } = change.value;
          items +=
            change.value['messages'] || change.value['statuses'] || change.value['errors']
              ? messages.length + statuses.length + errors.length
              : 1;
        }
      }
      expect(batch.messages.length + batch.statuses.length + batch.ignored.length + (batch.operations?.length ?? 0), name).toBe(items);
    }
  });
});

describe('parseMetaWebhook: message types (REFERENCE §1.6)', () => {
  it('[ID1] text: the wamid is the provider message id; the timestamp is unix seconds', () => {
    expect(only('text')).toEqual({
      ...SHEENA,
      provider_message_id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
      type: 'text',
      text: 'Does it come in another color?',
      media: null,
      reply_to: null,
      timestamp: new Date('2025-06-08T20:59:43.000Z'),
      metadata: {},
      error: null,
    });
  });

  it('image → photo with its caption as text and a provider-id MediaRef (not the lookaside url)', () => {
    const message = only('image');
    expect(message.type).toBe('photo');
    expect(message.text).toBe('Taj Mahal');
    expect(message.timestamp).toEqual(new Date(1744344496 * 1000));
    expect(message.media).toEqual({
      ref: '1003383421387256',
      kind: 'provider_id',
      mime_type: 'image/jpeg',
      sha256: 'SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=',
      filename: null,
      caption: 'Taj Mahal',
    });
  });

  it('audio with voice: true → voice; otherwise audio', () => {
    const voice = only('audio-voice');
    expect(voice.type).toBe('voice');
    expect(voice.text).toBeNull();
    expect(voice.media).toEqual({
      ref: '1827384950011223',
      kind: 'provider_id',
      mime_type: 'audio/ogg; codecs=opus',
      sha256: '2l4p3gSpd0wE6h2BdEjK9Q1xGUC3gHfxuYTYCgRZlQo=',
      filename: null,
      caption: null,
    });
    const audio = only('audio-file');
    expect(audio.type).toBe('audio');
    expect(audio.media?.ref).toBe('1827384950011224');
    expect(audio.media?.mime_type).toBe('audio/mpeg');
  });

  it('video keeps its caption', () => {
    const message = only('video');
    expect(message.type).toBe('video');
    expect(message.text).toBe('Unboxing');
    expect(message.media).toMatchObject({ ref: '1554433221100998', kind: 'provider_id', mime_type: 'video/mp4', caption: 'Unboxing' });
  });

  it('document keeps filename and caption', () => {
    const message = only('document');
    expect(message.type).toBe('document');
    expect(message.text).toBe('my receipt');
    expect(message.media).toEqual({
      ref: '622684793477189',
      kind: 'provider_id',
      mime_type: 'application/pdf',
      sha256: 'V5OPpLD/gEG6Xjg0MbmQDLFgcKsL+j5LfY4ny/pZ4MY=',
      filename: 'receipt.pdf',
      caption: 'my receipt',
    });
  });

  it('sticker keeps animated in metadata', () => {
    const message = only('sticker');
    expect(message.type).toBe('sticker');
    expect(message.text).toBeNull();
    expect(message.media).toMatchObject({ ref: '981234567890123', mime_type: 'image/webp' });
    expect(message.metadata).toEqual({ animated: true });
  });

  it('location: text is name, else address, else null; coordinates in metadata', () => {
    const [named, bare] = parse('location').messages;
    expect(named!.type).toBe('location');
    expect(named!.text).toBe('Meta Headquarters');
    expect(named!.metadata).toEqual({
      location: {
        latitude: 37.483307,
        longitude: -122.148981,
        name: 'Meta Headquarters',
        address: '1 Hacker Way, Menlo Park, CA 94025',
        url: 'https://www.meta.com',
      },
    });
    expect(bare!.text).toBeNull();
    expect(bare!.metadata).toEqual({ location: { latitude: 33.8938, longitude: 35.5018, name: null, address: null, url: null } });
  });

  it('contacts: formatted names joined, cards kept in metadata', () => {
    const message = only('contacts');
    expect(message.type).toBe('contacts');
    expect(message.text).toBe('Barbara J. Johnson, Omar Haddad');
    expect(message.metadata['contacts']).toHaveLength(2);
    expect((message.metadata['contacts'] as { phones: { wa_id?: string }[] }[])[0]!.phones[0]!.wa_id).toBe('16505551234');
  });

  it('interactive button_reply and list_reply: title as text, the tapped message as reply_to', () => {
    const button = only('interactive-button-reply');
    expect(button.type).toBe('interactive');
    expect(button.text).toBe('Talk to a person');
    expect(button.reply_to).toBe('wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCVVNJTkVTU01TRzAwMDAxAA==');
    expect(button.metadata).toEqual({
      interactive: { type: 'button_reply', id: 'talk_to_human', title: 'Talk to a person', description: null },
    });
    const list = only('interactive-list-reply');
    expect(list.text).toBe('Medium');
    expect(list.metadata).toEqual({
      interactive: { type: 'list_reply', id: 'size_m', title: 'Medium', description: 'Fits 38–40' },
    });
  });

  it('button: text is the button text, payload in metadata', () => {
    const message = only('button');
    expect(message.type).toBe('button');
    expect(message.text).toBe('Stop promotions');
    expect(message.reply_to).toBe('wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCVVNJTkVTU01TRzAwMDAxAA==');
    expect(message.metadata).toEqual({ button: { payload: 'STOP_PROMOTIONS', text: 'Stop promotions' } });
  });

  it('reaction: emoji as text; a removal has no emoji and removed: true', () => {
    const reaction = only('reaction');
    expect(reaction.type).toBe('reaction');
    expect(reaction.text).toBe('👍');
    // A reaction refers to the message it is on, as a quote does.
    expect(reaction.reply_to).toBe('wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=');
    expect(reaction.metadata).toEqual({
      reaction: { message_id: 'wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=', emoji: '👍', removed: false },
    });
    const removed = only('reaction-removed');
    expect(removed.text).toBeNull();
    expect(removed.metadata).toEqual({
      reaction: { message_id: 'wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=', emoji: null, removed: true },
    });
  });

  it('unsupported: error from errors[0], the inner type and the raw message in metadata', () => {
    const message = only('unsupported');
    expect(message.type).toBe('unsupported');
    expect(message.text).toBeNull();
    expect(message.error).toEqual({ code: '131051', title: 'Message type unknown' });
    expect(message.metadata['unsupported_type']).toBe('edit');
    expect(message.metadata['raw']).toMatchObject({ type: 'unsupported', unsupported: { type: 'edit' } });
  });

  it('unknown types, a missing type object, a missing type and unknown interactive replies become unsupported, never dropped', () => {
    const batch = parse('unknown-types');
    expect(batch.ignored).toEqual([]);
    expect(batch.messages.map((m) => [m.type, m.metadata['unsupported_type'], m.metadata['unsupported_reason']])).toEqual([
      ['unsupported', 'order', 'unknown type'],
      ['unsupported', 'image', 'missing or malformed "image" object'],
      ['unsupported', null, 'message without type'],
      ['unsupported', 'interactive.nfm_reply', 'unknown interactive type'],
    ]);
    for (const message of batch.messages) {
      expect(message.metadata['raw']).toMatchObject({ id: message.provider_message_id });
      expect(message.contact_key).toBe('16505551234');
    }
  });
});

describe('parseMetaWebhook: senders (REFERENCE §1.5, §1.8)', () => {
  it('a BSUID-only user is keyed by from_user_id, with username kept', () => {
    const message = only('bsuid-only');
    expect(message).toMatchObject({
      contact_key: 'US.13491208655302741918',
      wa_id: null,
      user_id: 'US.13491208655302741918',
      contact_name: 'Jo',
      metadata: { username: 'jo.travels' },
    });
  });

  it('keeps both the phone and the BSUID when both are sent; the phone is the key', () => {
    expect(only('bsuid-with-phone')).toMatchObject({
      contact_key: '16505551234',
      wa_id: '16505551234',
      user_id: 'US.13491208655302741918',
      contact_name: 'Sheena Nelson',
    });
  });

  it("prefers the contact's wa_id over from, and strips '+'", () => {
    expect(only('wa-id-differs')).toMatchObject({ contact_key: '5511988887777', wa_id: '5511988887777', contact_name: 'Ana Souza' });
  });

  it('context: forwarded flags, swipe replies and referred products', () => {
    const [forwarded, frequently, reply, product] = parse('context').messages;
    expect(forwarded!.metadata).toEqual({ forwarded: true });
    expect(forwarded!.reply_to).toBeNull();
    expect(frequently!.metadata).toEqual({ forwarded: true, frequently_forwarded: true });
    expect(reply!.reply_to).toBe('wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJPVVRCT1VORDAwMDAwMQA=');
    expect(reply!.metadata).toEqual({});
    expect(product!.metadata).toEqual({ referred_product: { catalog_id: 'CATALOG_ID', product_retailer_id: 'SKU-42' } });
  });

  it('a click-to-WhatsApp referral is kept whole in metadata', () => {
    const message = only('referral');
    expect(message.metadata['referral']).toMatchObject({ source_type: 'ad', source_id: '6472413012345', headline: 'Chat with us' });
  });

  it('ignores messages without id or sender, non-objects and own-number echoes; falls back to now for a bad timestamp', () => {
    const batch = parse('defects');
    expect(batch.ignored).toEqual([
      { reason: 'entry[0].changes[0].value.messages[0]: message without id' },
      {
        reason:
          'entry[0].changes[0].value.messages[1]: message wamid.HBgLTk9TRU5ERVIwMDAwMDEVAgASGBQ2QU5PU0VOREVSMDAwMQA=: no sender (from, wa_id or from_user_id)',
      },
      { reason: 'entry[0].changes[0].value.messages[2]: not an object' },
      { reason: "entry[0].changes[0].value.messages[4]: echo from the business's own number 15550783881" },
      { reason: 'entry[0].changes[0].value.statuses[0]: status without id or status' },
    ]);
    expect(batch.messages).toHaveLength(1);
    expect(batch.messages[0]!.text).toBe('bad timestamp');
    expect(batch.messages[0]!.timestamp).toBe(NOW);
    expect(batch.messages[0]!.contact_name).toBeNull();
  });
});

describe('parseMetaWebhook: statuses (REFERENCE §1.7)', () => {
  it('maps a failed status with its first error', () => {
    expect(parse('status-failed')).toEqual({
      messages: [],
      statuses: [
        {
          provider: 'meta',
          provider_message_id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA',
          status: 'failed',
          timestamp: new Date(1751142888 * 1000),
          error: { code: '131049', title: 'This message was not delivered to maintain healthy ecosystem engagement.' },
          recipient: '16505551234',
        },
      ],
      ignored: [],
    });
  });

  it('maps sent, delivered, read, played → read, failed; BSUID-only recipients; unknown statuses are ignored', () => {
    const batch = parse('statuses-all');
    expect(batch.statuses.map((s) => [s.status, s.recipient, s.error?.code ?? null, s.timestamp.getTime() / 1000])).toEqual([
      ['sent', '16505551234', null, 1749416500],
      ['delivered', '16505551234', null, 1749416501],
      ['read', '16505551234', null, 1749416502],
      ['read', '16505551234', null, 1749416503],
      ['failed', '16505551234', '131047', 1749416504],
      ['delivered', 'US.13491208655302741918', null, 1749416505],
    ]);
    expect(batch.statuses[4]!.error).toEqual({ code: '131047', title: 'Re-engagement message' });
    expect(batch.ignored).toEqual([
      {
        reason:
          'entry[0].changes[0].value.statuses[6]: status wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJERUxFVEVEMDAwMDAwMQA=: unknown status "deleted"',
      },
    ]);
  });
});

describe('parseMetaWebhook: any input (SPEC §4, no input causes a 500)', () => {
  const fixtures = loadAllFixtures(FIXTURES);

  it('returns a well-formed batch or throws DomainError validation_failed for arbitrary values', () => {
    fc.assert(
      fc.property(fc.anything(), (body) => assertParsesOrRejects(() => parseMetaWebhook(body, NOW), 'meta')),
      { numRuns: PROPERTY_RUNS },
    );
  });

  it('does the same for arbitrary JSON, also inside a valid envelope', () => {
    const json = fc.jsonValue();
    const inEnvelope = fc.record({
      object: fc.constant('whatsapp_business_account'),
      entry: fc.array(fc.record({ id: json, changes: fc.array(fc.record({ field: fc.constantFrom('messages', 'x'), value: json })) })),
    });
    fc.assert(
      fc.property(fc.oneof(json, inEnvelope), (body) => assertParsesOrRejects(() => parseMetaWebhook(body, NOW), 'meta')),
      { numRuns: PROPERTY_RUNS },
    );
  });

  it('does the same for real fixtures with fields deleted or replaced deep in the tree', () => {
    fc.assert(
      fc.property(mutatedFixture(fixtures), (body) => assertParsesOrRejects(() => parseMetaWebhook(body, NOW), 'meta')),
      { numRuns: PROPERTY_RUNS * 2 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(mutatedFixture(fixtures), (body) => {
        let first: unknown;
        try {
          first = parseMetaWebhook(body, NOW);
        } catch (error) {
          first = error;
        }
        let second: unknown;
        try {
          second = parseMetaWebhook(structuredClone(body), NOW);
        } catch (error) {
          second = error;
        }
        expect(second).toEqual(first);
      }),
      { numRuns: 200 },
    );
  });
});
