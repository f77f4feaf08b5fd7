import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oggPackets, readOggPages } from '../../src/media/ogg.js';
import { checkOggOpus } from '../../src/media/voice-note.js';
import { parseWebm } from '../../src/media/webm-to-ogg.js';
import { sharedDatabases } from '../support/databases.js';
import { openConversation, settled, startOutboxServer, type OutboxServer } from '../outbox/support.js';

const WEBM = readFileSync(new URL('../fixtures/media/voice-chromium.webm', import.meta.url));
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/** The dashboard's upload: multipart with the session cookie and X-Requested-With. */
async function upload(
  server: OutboxServer,
  conversationId: string,
  file: { bytes: Buffer; type: string; name: string },
  fields: Record<string, string> = {},
) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([new Uint8Array(file.bytes)], { type: file.type }), file.name);
  const res = await fetch(`${server.url}/api/conversations/${conversationId}/messages`, {
    method: 'POST',
    body: form,
    headers: { cookie: server.admin.credentials.cookie!, 'x-requested-with': 'dashboard' },
  });
  const body = (await res.json()) as any;
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
}

describe.each(sharedDatabases())('operator media from the upload to the provider on $kind', (database) => {
  let server: OutboxServer;
  beforeAll(async () => {
    server = await startOutboxServer(database);
  });
  afterAll(() => server.destroy());

  it('a WebM/Opus voice note posted by an operator reaches Meta as Ogg/Opus (audio/ogg; codecs=opus), the same Opus packets', async () => {
    const id = await openConversation(server.url, server.admin, '96174000001');
    const message = await upload(server, id, { bytes: WEBM, type: 'audio/webm;codecs=opus', name: 'recording.webm' });
    expect((await settled(server, message.message_id)).status).toBe('sent');

    const received = server.meta.uploadsReceived().at(-1)!;
    const file = received.parts!.find((p) => p.name === 'file')!;
    expect(file.contentType).toBe('audio/ogg; codecs=opus');
    expect(file.bytes!.toString('latin1', 0, 4)).toBe('OggS');
    expect(checkOggOpus(file.bytes!)).toMatchObject({ channels: 1 });
    expect(
      oggPackets(readOggPages(file.bytes!))
        .slice(2)
        .map((p) => p.packet),
    ).toEqual(parseWebm(WEBM).frames.map((f) => f.data));
    expect(server.meta.sends().at(-1)!.json).toMatchObject({ to: '+96174000001', type: 'audio' });
  });

  it('a photo with a caption, quoting the customer message, goes out with its caption and reply context', async () => {
    const id = await openConversation(server.url, server.admin, '96174000002', 'wamid.QUOTED.1');
    const message = await upload(
      server,
      id,
      { bytes: PNG, type: 'image/png', name: 'dot.png' },
      { text: 'this one?', reply_to: 'wamid.QUOTED.1' },
    );
    expect((await settled(server, message.message_id)).status).toBe('sent');
    const file = server.meta
      .uploadsReceived()
      .at(-1)!
      .parts!.find((p) => p.name === 'file')!;
    expect(file.bytes!.equals(PNG)).toBe(true);
    expect(server.meta.sends().at(-1)!.json).toMatchObject({
      type: 'image',
      image: { caption: 'this one?' },
      context: { message_id: 'wamid.QUOTED.1' },
    });
  });
});
