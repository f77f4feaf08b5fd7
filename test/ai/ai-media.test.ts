import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MetaGraphFake } from '../fakes/meta-graph.fake.js';
import { OpenAiFake } from '../fakes/openai.fake.js';
import { sampleBytes, sleep, waitFor } from '../media/support.js';
import { TEST_SECRETS } from '../support/app.js';
import {
  admin,
  AI_DATABASES,
  AiHarness,
  conversationIdOf,
  conversationRow,
  messagesOf,
  messageUpdates,
  outboxOf,
  replies,
  sendMeta,
  settled,
  waitState,
} from './support.js';

/*
 * Voice notes and photos through the AI worker (issue 10) [AI2][AI3]: the media fakes serve the
 * bytes (Meta's Graph API), the fake OpenAI server transcribes and answers.
 */

let fake: OpenAiFake;
let meta: MetaGraphFake;
let counter = 0;
beforeAll(async () => {
  fake = await OpenAiFake.start();
  meta = await MetaGraphFake.start(TEST_SECRETS.META_ACCESS_TOKEN);
});
beforeEach(() => fake.reset());
afterAll(async () => {
  await Promise.all([fake.close(), meta.close()]);
});

function voice(wamid: string, mediaId: string) {
  return { id: wamid, type: 'audio', audio: { mime_type: 'audio/ogg; codecs=opus', id: mediaId, voice: true } };
}

function photo(wamid: string, mediaId: string, caption?: string) {
  return { id: wamid, type: 'image', image: { mime_type: 'image/jpeg', id: mediaId, ...(caption ? { caption } : {}) } };
}

describe.each(AI_DATABASES)('AI worker with voice notes and photos on %s', (kind) => {
  const h = new AiHarness(kind, () => ({
    AI_RESPONDER: 'openai',
    OPENAI_BASE_URL: fake.baseUrl,
    AI_MODEL: 'fake-model',
    META_GRAPH_URL: meta.graphUrl,
    AI_DEBOUNCE_MS: '0',
  }));
  beforeAll(() => h.setUp());
  afterEach(() => h.closeServers());
  afterAll(() => h.tearDown());

  const ids = () => {
    const from = h.unique();
    return { from, wamid: `wamid.V${from}`, mediaId: `77${from}${++counter}` };
  };

  it('[AI2] a voice note: the endpoint receives the downloaded bytes; the transcript lands on the same message with message_updated; the model answers it', async () => {
    const server = await h.start({ AI_TRANSCRIBE_MODEL: 'whisper-fake' });
    const { from, wamid, mediaId } = ids();
    const bytes = sampleBytes(6000, `voice-${mediaId}`);
    meta.addMedia(mediaId, { bytes, mimeType: 'audio/ogg' });
    fake.pushTranscript({ text: 'how much is a laser session for the arms' });
    expect((await sendMeta(server, from, [voice(wamid, mediaId)])).status).toBe(200);
    const conversationId = await conversationIdOf(server, from);
    const [reply] = await replies(server, conversationId);

    const upload = fake.transcriptions[0]!;
    expect(upload.bytes.equals(bytes)).toBe(true);
    expect(upload.model).toBe('whisper-fake');
    expect(upload.filename).toMatch(/\.ogg$/);
    const message = (await messagesOf(server, conversationId)).find((m) => m.message_id === wamid)!;
    expect(message.type).toBe('voice');
    expect(message.text).toBe('how much is a laser session for the arms');
    expect(JSON.parse(message.media!)).toMatchObject({
      status: 'ready',
      transcript: 'how much is a laser session for the arms',
      transcript_status: 'done',
    });
    const updates = await messageUpdates(server, wamid);
    expect(updates.map((u) => u.media.transcript_status)).toEqual(['pending', 'done']);
    expect(updates.at(-1)).toMatchObject({ message_id: wamid, text: 'how much is a laser session for the arms' });
    expect(fake.chats[0]!.body.messages.at(-1)).toEqual({ role: 'user', content: 'how much is a laser session for the arms' });
    expect(reply!.meta.answers).toEqual([wamid]);
  });

  it('[AI2] a transcription that fails is visible on the message (failed + reason) and the conversation is handed over', async () => {
    const server = await h.start({ AI_TRANSCRIBE_MODEL: 'whisper-fake' });
    const { from, wamid, mediaId } = ids();
    meta.addMedia(mediaId, { bytes: sampleBytes(3000, `bad-${mediaId}`), mimeType: 'audio/ogg' });
    fake.pushTranscript({ status: 400 });
    await sendMeta(server, from, [voice(wamid, mediaId)]);
    const conversationId = await conversationIdOf(server, from);
    const row = await waitState(server, conversationId, 'waiting');
    expect(JSON.parse(row.handover!)).toMatchObject({ reason: 'ai_requested', note: 'voice_not_transcribed' });
    const message = (await messagesOf(server, conversationId)).find((m) => m.message_id === wamid)!;
    expect(JSON.parse(message.media!)).toMatchObject({ transcript_status: 'failed', transcript_error: 'transcriber_http_400' });
    expect((await messageUpdates(server, wamid)).at(-1).media.transcript_status).toBe('failed');
    expect(fake.chats).toEqual([]);
  });

  it('[AI2] without a transcriber the voice note says unavailable and goes to an operator', async () => {
    const server = await h.start();
    const { from, wamid, mediaId } = ids();
    meta.addMedia(mediaId, { bytes: sampleBytes(2000, `none-${mediaId}`), mimeType: 'audio/ogg' });
    await sendMeta(server, from, [voice(wamid, mediaId)]);
    const conversationId = await conversationIdOf(server, from);
    const row = await waitState(server, conversationId, 'waiting');
    expect(JSON.parse(row.handover!)).toMatchObject({ reason: 'ai_requested', note: 'voice_not_transcribed' });
    const message = (await messagesOf(server, conversationId)).find((m) => m.message_id === wamid)!;
    expect(JSON.parse(message.media!)).toMatchObject({ status: 'ready', transcript_status: 'unavailable' });
    expect(fake.transcriptions).toEqual([]);
  });

  it('[AI3] a takeover during the generation for a voice note: nothing stored', async () => {
    const server = await h.start({ AI_TRANSCRIBE_MODEL: 'whisper-fake' });
    const { from, wamid, mediaId } = ids();
    meta.addMedia(mediaId, { bytes: sampleBytes(2500, `tk-${mediaId}`), mimeType: 'audio/ogg' });
    fake.pushTranscript({ text: 'is the clinic open on sunday' });
    fake.push({ kind: 'hold', content: 'never sent' });
    await sendMeta(server, from, [voice(wamid, mediaId)]);
    const conversationId = await conversationIdOf(server, from);
    await fake.waitHeld(1);
    expect((await (await admin(server)).post(`/api/conversations/${conversationId}/takeover`, {})).status).toBe(200);
    await waitFor(async () => fake.chats[0]!.aborted, 'the generation to be aborted');
    fake.release();
    await settled(server, conversationId);
    await sleep(200);
    expect((await messagesOf(server, conversationId)).filter((m) => m.role === 'assistant')).toEqual([]);
    expect((await outboxOf(server, conversationId)).map((m) => m.meta.notice)).toEqual(['operator_joined']);
  });

  it('[AI2][AI3] with AI_VISION=on a photo goes to the model as an image part; a takeover during that generation stores nothing', async () => {
    const server = await h.start({ AI_VISION: 'on' });
    const { from, wamid, mediaId } = ids();
    const bytes = sampleBytes(5000, `photo-${mediaId}`);
    meta.addMedia(mediaId, { bytes, mimeType: 'image/jpeg' });
    fake.push({ kind: 'hold', content: 'never sent' });
    await sendMeta(server, from, [photo(wamid, mediaId, 'is this normal after laser?')]);
    const conversationId = await conversationIdOf(server, from);
    await fake.waitHeld(1);
    const content = fake.chats[0]!.body.messages.at(-1)!.content;
    expect(content).toEqual([
      { type: 'text', text: 'is this normal after laser?' },
      { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${bytes.toString('base64')}` } },
    ]);
    expect((await (await admin(server)).post(`/api/conversations/${conversationId}/takeover`, {})).status).toBe(200);
    await waitFor(async () => fake.chats[0]!.aborted, 'the generation to be aborted');
    fake.release();
    await settled(server, conversationId);
    await sleep(200);
    expect((await messagesOf(server, conversationId)).filter((m) => m.role === 'assistant')).toEqual([]);
    expect((await conversationRow(server, conversationId)).state).toBe('operator');
  });

  it('[AI2] with vision off the model is told a photo was sent (with its caption)', async () => {
    const server = await h.start();
    const { from, wamid, mediaId } = ids();
    meta.addMedia(mediaId, { bytes: sampleBytes(1000, `p-${mediaId}`), mimeType: 'image/jpeg' });
    await sendMeta(server, from, [photo(wamid, mediaId, 'my skin today')]);
    const conversationId = await conversationIdOf(server, from);
    await replies(server, conversationId);
    expect(fake.chats[0]!.body.messages.at(-1)).toEqual({ role: 'user', content: '[the customer sent a photo] my skin today' });
  });
});
