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
import { parseQiscusWebhook } from './qiscus.webhook.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const NOW = new Date('2026-01-01T00:00:00.000Z');
const OPTS = { ignoreEmails: ['Dewi@Mail.com'] };

function parse(name: string, opts = OPTS): InboundBatch {
  const batch = parseQiscusWebhook(loadFixture(FIXTURES, name), opts, NOW);
  assertWellFormedBatch(batch, 'qiscus');
  return batch;
}

function only(name: string): InboundMessage {
  const batch = parse(name);
  expect(batch.ignored).toEqual([]);
  expect(batch.statuses).toEqual([]);
  expect(batch.messages).toHaveLength(1);
  return batch.messages[0]!;
}

/** The customer and room shared by the fixtures built on the current format. */
const BUDI = {
  provider: 'qiscus',
  // [ID10] the app code, not channel_details.channel_id (963).
  channel_external_id: 'kovof-123',
  channel_name: 'Qiscus Cloud Group',
  contact_key: '6281234567890',
  wa_id: '6281234567890',
  user_id: null,
  contact_name: 'Budi Santoso',
  reply_to: null,
  timestamp: new Date(1752307200 * 1000),
  error: null,
} as const;

const BUDI_ROOM = { room_id: '139214511', room_name: 'Budi Santoso', app_code: 'kovof-123', source: 'wa' };

function rejection(body: unknown): DomainError {
  try {
    parseQiscusWebhook(body, OPTS, NOW);
  } catch (error) {
    if (isDomainError(error)) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('parseQiscusWebhook: bot webhook (REFERENCE §3.2)', () => {
  it('[ID1] current format: unique_temp_id verbatim, options as a JSON string, unix_timestamp', () => {
    expect(only('bot-text-current')).toEqual({
      provider: 'qiscus',
      provider_message_id: 'wa_wamid.HBgNNjI4MTIxNzg0NDEzMhUCABIYIDJFMEFCQkEzRkVEEN0RFRjcyNTQ0ODkwMDJDQUM4MTU2AAAxaj==',
      channel_external_id: 'kovof-123',
      channel_name: 'Qiscus Cloud Group',
      contact_key: '6281xxx132',
      wa_id: null,
      user_id: null,
      contact_name: 'Harpi',
      type: 'text',
      text: 'chat postman 2',
      media: null,
      reply_to: null,
      timestamp: new Date('2025-07-11T05:46:37.000Z'),
      metadata: { qiscus: { room_id: '123', room_name: 'Harpi', app_code: 'kovof-123', source: 'wa' } },
      error: null,
    });
  });

  it('[ID1] old format without any message id is ignored', () => {
    expect(parse('bot-text-old')).toEqual({
      messages: [],
      statuses: [],
      ignored: [{ reason: 'message without unique_temp_id, id_str or id' }],
    });
  });

  it('[ID1] old format: numeric ids, options as an object, no app_code', () => {
    expect(only('bot-text-old-with-id')).toEqual({
      provider: 'qiscus',
      provider_message_id: '15167020',
      // [ID10] no app_code in the old format and none configured here: the default key, never channel_details (1).
      channel_external_id: 'qiscus',
      channel_name: 'Wa Pertama',
      contact_key: '6281234567890',
      wa_id: '6281234567890',
      user_id: null,
      contact_name: 'Budi',
      type: 'text',
      text: 'ini pesan',
      media: null,
      reply_to: null,
      timestamp: new Date(1549255787 * 1000),
      metadata: { qiscus: { room_id: '1', room_name: 'ini grup', app_code: null, source: 'wa' } },
      error: null,
    });
  });

  it('reads room.options given as an object like the JSON string', () => {
    expect(only('options-object')).toEqual({
      ...BUDI,
      provider_message_id: 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBT1BUSU9OU09CSkVDVDAwMDEA',
      type: 'text',
      text: 'options as an object',
      media: null,
      metadata: { qiscus: BUDI_ROOM },
    });
  });

  it('[ID1] treats a malformed options string as {}: app_code and channel.name take over; id_str and ISO time next', () => {
    expect(only('options-bad-json')).toEqual({
      ...BUDI,
      provider_message_id: '98765432',
      channel_external_id: 'kovof-123',
      channel_name: 'Qiscus 123',
      type: 'text',
      text: 'options cut short',
      media: null,
      timestamp: new Date('2025-07-12T08:00:00.000Z'),
      metadata: { qiscus: { ...BUDI_ROOM, source: 'wa' } },
    });
  });

  it('falls back to created_at, then to now, for the timestamp', () => {
    const body = loadFixture(FIXTURES, 'bot-text-current') as { payload: { message: Record<string, unknown> } };
    const message = body.payload.message;
    delete message['unix_timestamp'];
    message['timestamp'] = 'yesterday';
    message['created_at'] = '2025-07-11T05:46:37';
    expect(parseQiscusWebhook(body, OPTS, NOW).messages[0]!.timestamp).toEqual(new Date('2025-07-11T05:46:37.000Z'));
    delete message['created_at'];
    expect(parseQiscusWebhook(body, OPTS, NOW).messages[0]!.timestamp).toBe(NOW);
  });

  it('file_attachment .jpg → photo, caption as text, the URL as media', () => {
    expect(only('attachment-photo')).toEqual({
      ...BUDI,
      provider_message_id: 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBUEhPVE8wMDAwMDAwMDAwMDEA',
      type: 'photo',
      text: 'Tess',
      media: {
        ref: 'https://d1edrlpyc25xu0.cloudfront.net/kovof-123/image/upload/1669774321_85-b9ab-85f06236_2069.jpg',
        kind: 'url',
        mime_type: 'image/jpeg',
        sha256: null,
        filename: '1669774321_85-b9ab-85f06236_2069.jpg',
        caption: 'Tess',
      },
      metadata: { qiscus: BUDI_ROOM },
    });
  });

  it('file_attachment by extension or ptt marker: voice, video, document', () => {
    const cases: [string, string, string | null, string | null, string | null][] = [
      ['attachment-voice-ogg', 'voice', null, 'audio/ogg', '1752307200_voice-note.ogg'],
      ['attachment-voice-ptt', 'voice', null, null, '1752307201_PTT-20250712-WA0003'],
      ['attachment-audio-mp3', 'voice', null, 'audio/mpeg', '1752307202_song.mp3'],
      ['attachment-video', 'video', 'look', 'video/mp4', '1752307203_clip.MP4'],
      ['attachment-document', 'document', null, 'application/pdf', '1752307204_Invoice July 2025.pdf'],
    ];
    for (const [name, type, text, mime, filename] of cases) {
      const message = only(name);
      expect([name, message.type, message.text]).toEqual([name, type, text]);
      expect(message.media).toMatchObject({ kind: 'url', mime_type: mime, filename, caption: text, sha256: null });
      expect(message.media!.ref).toMatch(/^https:\/\/d1edrlpyc25xu0\.cloudfront\.net\//);
    }
  });

  it('lets a known extension win over a ptt elsewhere in the URL', () => {
    const body = loadFixture(FIXTURES, 'attachment-photo') as { payload: { message: { payload: { url: string } } } };
    body.payload.message.payload.url = 'https://cdn.example.test/uptt-app/image/upload/photo.JPEG?x=ptt';
    const [message] = parseQiscusWebhook(body, OPTS, NOW).messages;
    expect(message).toMatchObject({ type: 'photo', media: { mime_type: 'image/jpeg', filename: 'photo.JPEG' } });
  });

  it('location: coordinates, name and address', () => {
    expect(only('location')).toEqual({
      ...BUDI,
      provider_message_id: 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBTE9DQVRJT04wMDAwMDAwMDEA',
      type: 'location',
      text: 'Monumen Nasional',
      media: null,
      metadata: {
        qiscus: BUDI_ROOM,
        location: { latitude: -6.175392, longitude: 106.827153, name: 'Monumen Nasional', address: 'Gambir, Central Jakarta', url: null },
      },
    });
  });

  it('unknown types become unsupported with their text and the raw message', () => {
    const message = only('unknown-type');
    expect(message.type).toBe('unsupported');
    expect(message.text).toBe('Choose one');
    expect(message.metadata).toMatchObject({
      unsupported_type: 'buttons',
      unsupported_reason: 'unknown type',
      raw: { type: 'buttons', unique_temp_id: 'wa_wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDNBQlVUVE9OUzAwMDAwMDAwMDEA' },
      qiscus: BUDI_ROOM,
    });
  });

  it('ignores agent emails (case-insensitive), the admin/bot sender and post_comment_rest', () => {
    expect(parse('agent-message').ignored).toEqual([{ reason: 'message bq1752307300123: sent by dewi@mail.com (admin, bot or agent)' }]);
    // Unlisted, an agent is still known by an email address where a WhatsApp customer has a number.
    expect(parse('agent-message', { ignoreEmails: [] }).ignored).toEqual([
      { reason: 'message bq1752307300123: sent by dewi@mail.com (an agent: WhatsApp customers are phone numbers)' },
    ]);
    const widgetRoom = structuredClone(loadFixture(FIXTURES, 'agent-message')) as any;
    widgetRoom.channel.source = 'qiscus';
    widgetRoom.payload.room.options = '{"source":"qiscus"}';
    expect(parseQiscusWebhook(widgetRoom, { ignoreEmails: [] }, NOW).messages).toHaveLength(1);
    expect(parse('admin-message').ignored).toEqual([
      { reason: 'message bq1752307300456: sent by kovof-123_admin@qismo.com (admin, bot or agent)' },
    ]);
    expect(parse('post-comment-rest')).toEqual({
      messages: [],
      statuses: [],
      ignored: [{ reason: 'post_comment_rest: sent through the REST API by a bot or agent' }],
    });
  });

  it('ignores the New Session webhook, whose message the bot webhook also delivers', () => {
    expect(parse('new-session')).toEqual({
      messages: [],
      statuses: [],
      ignored: [{ reason: 'webhook_type "NEW_SESSION_WEBHOOK": not the bot webhook' }],
    });
  });

  it('rejects JSON of an unknown shape with 400 and a reason', () => {
    const bodies = [null, 1, 'x', [], {}, { type: 'post_comment_mobile' }, { payload: { from: {}, room: {} } }];
    for (const body of bodies) expect(rejection(body).code).toBe('validation_failed');
    const other = loadFixture(FIXTURES, 'bot-text-current') as Record<string, unknown>;
    other['type'] = 'mark_as_resolved';
    expect(rejection(other).message).toBe('not a Qiscus bot webhook: type "mark_as_resolved"');
  });
});

describe('parseQiscusWebhook: WhatsApp API forward (REFERENCE §3.8)', () => {
  it('[ID1] parses the flattened Meta value with the Meta parser, provider qiscus, Qiscus channel id', () => {
    expect(only('wa-forward-text')).toEqual({
      provider: 'qiscus',
      provider_message_id: 'wamid.HBgMNjI4MTU3OTA5MDgwFQIAEhgWM0VCMDU4Njc4NzhFMUEzQzQxQUU1RAA=',
      channel_external_id: 'ramo-29lxxxxxxxxpsaio',
      channel_name: '6282xxxxxx902',
      contact_key: '6281xxxxxx80',
      wa_id: '6281xxxxxx80',
      user_id: null,
      contact_name: 'Andrianto Anggoro',
      type: 'text',
      text: 'Hi Qiscus',
      media: null,
      reply_to: null,
      timestamp: new Date(1694619169 * 1000),
      metadata: { qiscus: { app_code: 'ramo-29lxxxxxxxxpsaio', channel_id: '700' } },
      error: null,
    });
  });

  it('keeps media ids for the Retrieve Media API', () => {
    expect(only('wa-forward-image')).toMatchObject({
      type: 'photo',
      text: null,
      media: {
        ref: '1318441935583459',
        kind: 'provider_id',
        mime_type: 'image/jpeg',
        sha256: '9yH1f0r4Z8YQqkq2+T8wq4m3S8l4y0Q5fW1bVd3kq1E=',
        filename: null,
        caption: null,
      },
    });
  });

  it('maps forwarded statuses', () => {
    expect(parse('wa-forward-status')).toEqual({
      messages: [],
      statuses: [
        {
          provider: 'qiscus',
          provider_message_id: 'wamid.HBgMNjI4MTU3OTA5MDgwFQIAERgSMDBBQkNERUYwMTIzNDU2Nzg5AA==',
          status: 'read',
          timestamp: new Date(1694619300 * 1000),
          error: null,
          recipient: '628157909080',
        },
      ],
      ignored: [],
    });
  });
});

describe('parseQiscusWebhook: any input (SPEC §4, no input causes a 500)', () => {
  const fixtures = loadAllFixtures(FIXTURES);
  const ignoreEmails = fc.array(fc.oneof(fc.string(), fc.constant('dewi@mail.com'), fc.constant('6281234567890')), { maxLength: 3 });

  it('returns a well-formed batch or throws DomainError validation_failed for arbitrary values', () => {
    fc.assert(
      fc.property(fc.anything(), ignoreEmails, (body, emails) =>
        assertParsesOrRejects(() => parseQiscusWebhook(body, { ignoreEmails: emails }, NOW), 'qiscus'),
      ),
      { numRuns: PROPERTY_RUNS },
    );
  });

  it('does the same for arbitrary JSON, also inside a bot-webhook envelope', () => {
    const json = fc.jsonValue();
    const envelope = fc.record({
      type: fc.constantFrom('post_comment_mobile', 'post_comment_rest'),
      payload: fc.record({
        from: fc.dictionary(fc.string(), json),
        room: fc.dictionary(fc.string(), json),
        message: fc.dictionary(fc.string(), json),
      }),
    });
    fc.assert(
      fc.property(fc.oneof(json, envelope), (body) => assertParsesOrRejects(() => parseQiscusWebhook(body, OPTS, NOW), 'qiscus')),
      { numRuns: PROPERTY_RUNS },
    );
  });

  it('does the same for real fixtures with fields deleted or replaced deep in the tree', () => {
    fc.assert(
      fc.property(mutatedFixture(fixtures), ignoreEmails, (body, emails) =>
        assertParsesOrRejects(() => parseQiscusWebhook(body, { ignoreEmails: emails }, NOW), 'qiscus'),
      ),
      { numRuns: PROPERTY_RUNS * 2 },
    );
  });
});
