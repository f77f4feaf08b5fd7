import { describe, expect, it } from 'vitest';
import type { InboundBatch, InboundOperation } from '../../chat/types.js';
import { parseMontyWebhook } from '../montymobile/montymobile.webhook.js';
import { parseQiscusWebhook } from '../qiscus/qiscus.webhook.js';
import { assertWellFormedBatch, loadFixture } from '../testing/webhook-properties.js';
import { parseMetaWebhook } from './meta.webhook.js';

/* Meta's edit, revoke and system messages (docs/SPEC-lifecycle.md) as the parser reads them. */

const FIXTURES = new URL('./fixtures/', import.meta.url);
const NOW = new Date('2026-01-01T00:00:00.000Z');
const ORIGINAL = 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRPUklHSU5BTDAwMDAwMDAwMDAwMQA=';

function operation(name: string): InboundOperation {
  const batch = parseMetaWebhook(loadFixture(FIXTURES, name), NOW);
  assertWellFormedBatch(batch, 'meta');
  expect(batch.messages).toEqual([]);
  expect(batch.ignored).toEqual([]);
  expect(batch.operations).toHaveLength(1);
  return batch.operations![0]!;
}

function relayed(batch: InboundBatch, provider: 'montymobile' | 'qiscus') {
  assertWellFormedBatch(batch, provider);
  return batch.operations ?? [];
}

describe('parseMetaWebhook: message lifecycle', () => {
  it('[ED1] an edit: its own id, the original it changes, the new text as the content, the sender as for any message', () => {
    const op = operation('edit');
    expect(op).toMatchObject({ kind: 'edit', target_message_id: ORIGINAL });
    expect(op.message).toMatchObject({
      provider: 'meta',
      provider_message_id: 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRFRElUMDAwMDAwMDAwMDAwMDAwMQA=',
      channel_external_id: '106540352242922',
      contact_key: '16505551234',
      wa_id: '16505551234',
      contact_name: 'Sheena Nelson',
      type: 'text',
      text: 'Does it come in another colour?',
      timestamp: new Date(1764756060 * 1000),
    });
  });

  it('[ED1] an edit of a media message carries the new caption as its text', () => {
    const op = operation('edit-caption');
    expect(op.message).toMatchObject({
      type: 'photo',
      text: 'Taj Mahal at dawn',
      media: { ref: '1003383421387256', caption: 'Taj Mahal at dawn' },
    });
  });

  it('[RV1] a revoke names the original and carries no content', () => {
    const op = operation('revoke');
    expect(op).toMatchObject({ kind: 'revoke', target_message_id: ORIGINAL });
    expect(op.message).toMatchObject({ text: null, media: null, contact_key: '16505551234' });
  });

  it('[SY1][SY2] user_changed_number (no contacts array): an event from the old number, with the new one', () => {
    const op = operation('system-changed-number');
    expect(op).toMatchObject({ kind: 'system', target_message_id: null, new_wa_id: '16505559999' });
    expect(op.message).toMatchObject({
      type: 'event',
      text: 'User Sheena Nelson changed from 16505551234 to 16505559999',
      contact_key: '16505551234',
      wa_id: '16505551234',
      metadata: { system: { type: 'user_changed_number', wa_id: '16505559999', customer: '16505551234' } },
    });
  });

  it('[SY3] customer_identity_changed: an event with the identity hash, moving nobody', () => {
    const op = operation('system-identity');
    expect(op).toMatchObject({ kind: 'system', new_wa_id: null });
    expect(op.message.metadata['system']).toEqual({
      body: "Sheena Nelson's security code changed",
      identity: 'b1b2b3c4d5e6',
      type: 'customer_identity_changed',
    });
  });

  it('[ED5] the old unsupported/edit form and malformed edits and revokes stay messages (unsupported), never dropped', () => {
    const unsupported = parseMetaWebhook(loadFixture(FIXTURES, 'unsupported'), NOW);
    expect(unsupported.operations).toBeUndefined();
    expect(unsupported.messages.map((m) => [m.type, m.metadata['unsupported_type']])).toEqual([['unsupported', 'edit']]);

    const body = loadFixture(FIXTURES, 'edit') as any;
    const messages = body.entry[0].changes[0].value.messages;
    messages.push(
      { ...messages[0], id: 'wamid.BAD.1', edit: { original_message_id: '  ', message: { type: 'text', text: { body: 'x' } } } },
      {
        ...messages[0],
        id: 'wamid.BAD.2',
        edit: { original_message_id: ORIGINAL, message: { type: 'revoke', revoke: { original_message_id: ORIGINAL } } },
      },
      { ...messages[0], id: 'wamid.BAD.3', edit: { original_message_id: ORIGINAL, message: { type: 'text' } } },
      { ...messages[0], id: 'wamid.BAD.4', type: 'revoke', revoke: {} },
      { ...messages[0], id: 'wamid.BAD.5', type: 'system', system: 'changed' },
    );
    const batch = parseMetaWebhook(body, NOW);
    assertWellFormedBatch(batch, 'meta');
    expect(batch.operations).toHaveLength(1);
    expect(batch.messages.map((m) => [m.provider_message_id, m.type, m.metadata['unsupported_type']])).toEqual([
      ['wamid.BAD.1', 'unsupported', 'edit'],
      ['wamid.BAD.2', 'unsupported', 'edit'],
      ['wamid.BAD.3', 'unsupported', 'edit'],
      ['wamid.BAD.4', 'unsupported', 'revoke'],
      ['wamid.BAD.5', 'unsupported', 'system'],
    ]);
  });

  it("[ED1][RV1] MontyMobile and the Qiscus WhatsApp forward relay Meta's value: the same operations come out", () => {
    const value = (loadFixture(FIXTURES, 'revoke') as any).entry[0].changes[0].value;
    const monty = relayed(
      parseMontyWebhook(
        { entry: [{ id: '1', changes: [{ field: 'messages', value }] }], object: 'whatsapp_business_account' },
        { sourceNumber: null },
        NOW,
      ),
      'montymobile',
    );
    expect(monty).toMatchObject([{ kind: 'revoke', target_message_id: ORIGINAL, message: { provider: 'montymobile' } }]);
    const qiscus = relayed(parseQiscusWebhook({ app_code: 'kovof-123', channel_id: 963, ...value }, { ignoreEmails: [] }, NOW), 'qiscus');
    expect(qiscus).toMatchObject([
      { kind: 'revoke', target_message_id: ORIGINAL, message: { provider: 'qiscus', channel_external_id: 'kovof-123' } },
    ]);
  });
});
