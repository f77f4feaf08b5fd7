import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAiResponder, type KnowledgeMatch } from '../../src/ai/openai.responder.js';
import { createOpenAiTranscriber, uploadFilename } from '../../src/ai/openai-transcriber.js';
import type { HistoryItem, ResponderInput } from '../../src/ai/responder.js';
import { OpenAiFake } from '../fakes/openai.fake.js';

/*
 * The openai responder and transcriber against a real local HTTP server speaking the OpenAI API:
 * what they send (model, roles, the hand-back marker, knowledge context, the handover tool, image
 * parts, the multipart upload) and how they read answers, tool calls and errors.
 */

let fake: OpenAiFake;
beforeAll(async () => {
  fake = await OpenAiFake.start();
});
beforeEach(() => fake.reset());
afterAll(async () => {
  await fake.close();
});

let seq = 0;
function item(role: HistoryItem['role'], text: string | null, extra: Partial<HistoryItem> = {}): HistoryItem {
  seq++;
  return {
    message_id: `m${seq}`,
    role,
    type: 'text',
    text,
    event: null,
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    media: null,
    ...extra,
  };
}

function input(history: HistoryItem[], pendingCount = 1, extra: Partial<ResponderInput> = {}): ResponderInput {
  return {
    conversation_id: 'c_1',
    language: 'en',
    contact_name: 'Rana',
    history,
    pending: history.slice(-pendingCount),
    consecutive_misses: 0,
    signal: new AbortController().signal,
    loadMedia: async () => {
      throw new Error('no media in this test');
    },
    ...extra,
  };
}

const knowledge = (matches: KnowledgeMatch[]) => ({
  queries: [] as string[],
  async search(query: string, limit: number) {
    this.queries.push(query);
    return matches.slice(0, limit);
  },
});

function responder(extra: Partial<Parameters<typeof createOpenAiResponder>[0]> = {}) {
  return createOpenAiResponder({
    baseUrl: fake.baseUrl,
    apiKey: 'sk-test',
    model: 'test-model',
    systemPrompt: null,
    vision: false,
    timeoutMs: 5_000,
    ...extra,
  });
}

describe('openai responder (issue 10) against the fake OpenAI API', () => {
  it('[AI5] sends the model, the system prompt, the history with roles mapped (operator marked, the hand-back marker as a system line) and the handover tool', async () => {
    fake.push({ kind: 'text', content: '  We open at 9.  ' });
    const history = [
      item('user', 'hi, I want laser'),
      item('assistant', 'Sure, which area?'),
      item('operator', 'I will check with the doctor', { operator_name: 'Maya' }),
      item('system', 'Maya handed the conversation back to the AI', { type: 'event', event: 'released' }),
      item('user', 'when do you open?'),
    ];
    const result = await responder({ systemPrompt: 'You are the clinic bot.' }).respond(input(history));
    expect(result).toEqual({
      kind: 'reply',
      text: 'We open at 9.',
      origin: { handled_by: 'ai', model: 'test-model', knowledge_id: null, knowledge_question: null, score: null },
    });

    const { body, headers } = fake.chats[0]!;
    expect(headers.authorization).toBe('Bearer sk-test');
    expect(body.model).toBe('test-model');
    expect(body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'assistant', 'system', 'user']);
    expect(body.messages[0]!.content).toMatch(/^You are the clinic bot\./);
    expect(body.messages[0]!.content).toContain("The customer's name: Rana.");
    expect(body.messages[3]!.content).toBe('[written by a human operator, Maya] I will check with the doctor');
    expect(body.messages[4]!.content).toMatch(/^\[event: released\] An operator handed the conversation back/);
    expect(body.messages[5]!.content).toBe('when do you open?');
    expect(body.tools).toEqual([expect.objectContaining({ type: 'function', function: expect.objectContaining({ name: 'handover' }) })]);
  });

  it("[AI4] a handover tool call becomes a hand-over ai_requested with the model's reason as note", async () => {
    fake.push({ kind: 'tool', name: 'handover', arguments: { reason: 'needs a doctor to judge the photo' } });
    const result = await responder().respond(input([item('user', 'is this burn normal?')]));
    expect(result).toMatchObject({
      kind: 'handover',
      reason: 'ai_requested',
      note: 'needs a doctor to judge the photo',
      origin: { handled_by: 'ai', model: 'test-model' },
    });
  });

  it("[AI7] gives the knowledge base's best matches as context and names the best one in the origin", async () => {
    const kb = knowledge([
      { id: 'kb_1', question: 'What are your opening hours?', answer: 'Mon–Sat 9:00–19:00', language: 'en', score: 12.5 },
      { id: 'kb_2', question: 'Where are you?', answer: 'Hamra street, Beirut', language: 'en', score: 3.1 },
    ]);
    const result = await responder({ knowledge: kb }).respond(input([item('user', 'when are you open'), item('user', 'on saturday?')], 2));
    expect(kb.queries).toEqual(['when are you open\non saturday?']);
    const system = fake.chats[0]!.body.messages[0]!.content as string;
    expect(system).toContain('[kb_1] Q: What are your opening hours?\n  A: Mon–Sat 9:00–19:00');
    expect(system).toContain('[kb_2] Q: Where are you?');
    expect(result.origin).toMatchObject({ knowledge_id: 'kb_1', knowledge_question: 'What are your opening hours?', score: 12.5 });
  });

  it('[AI2] with vision on, a photo of this reply goes as an image part (data URL of its bytes); older photos and vision off are described', async () => {
    const bytes = Buffer.from('fake-jpeg-bytes');
    const loads: string[] = [];
    const loadMedia = async (id: string) => {
      loads.push(id);
      return { bytes, mime_type: 'image/jpeg' };
    };
    const photo = (caption: string | null, id: string) =>
      item('user', caption, { type: 'photo', media: { media_id: id, mime_type: 'image/jpeg', kind: 'photo' } });
    const history = [photo(null, 'md_old'), item('assistant', 'Nice'), photo('my rash', 'md_new')];

    await responder({ vision: true }).respond(input(history, 1, { loadMedia }));
    const visionMessages = fake.chats[0]!.body.messages;
    expect(visionMessages[1]!.content).toBe('[the customer sent a photo]');
    expect(visionMessages[3]!.content).toEqual([
      { type: 'text', text: 'my rash' },
      { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${bytes.toString('base64')}` } },
    ]);
    expect(loads).toEqual(['md_new']);

    await responder({ vision: false }).respond(input(history, 1, { loadMedia }));
    expect(fake.chats[1]!.body.messages[3]!.content).toBe('[the customer sent a photo] my rash');
    expect(loads).toEqual(['md_new']);
  });

  it('errors: a 500, a 429 and an empty answer throw (the worker retries); nothing is retried inside the SDK', async () => {
    fake.push({ kind: 'error', status: 500 }, { kind: 'error', status: 429, retryAfterSeconds: 7 }, { kind: 'text', content: '   ' });
    const r = responder();
    await expect(r.respond(input([item('user', 'a')]))).rejects.toMatchObject({ status: 500 });
    const limited = (await r.respond(input([item('user', 'b')])).then(
      () => null,
      (e: unknown) => e,
    )) as { status: number; headers: Headers };
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    await expect(r.respond(input([item('user', 'c')]))).rejects.toThrow(/empty/);
    expect(fake.chats).toHaveLength(3);
  });

  it('a slow answer is cut by the abort signal (a takeover) and by the timeout; the fake sees the connection close', async () => {
    fake.push({ kind: 'hold', content: 'too late' }, { kind: 'hold', content: 'too late' });
    const controller = new AbortController();
    const pending = responder().respond(input([item('user', 'slow please')], 1, { signal: controller.signal }));
    await fake.waitHeld(1);
    controller.abort(new Error('taken over'));
    await expect(pending).rejects.toThrow();
    await expect(responder({ timeoutMs: 200 }).respond(input([item('user', 'slow again')]))).rejects.toThrow(/timed out/i);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.chats.map((c) => c.aborted)).toEqual([true, true]);
  });
});

describe('openai transcriber (issue 10) against the fake OpenAI API', () => {
  it('[AI2] posts the bytes as a multipart upload with the model and a file name the server can read the format from', async () => {
    fake.pushTranscript({ text: ' bonjour, je voudrais un rendez-vous ' });
    const bytes = Buffer.from([0x4f, 0x67, 0x67, 0x53, 0, 1, 2, 3, 255]);
    const t = createOpenAiTranscriber({ baseUrl: fake.baseUrl, apiKey: null, model: 'whisper-test', timeoutMs: 5_000 });
    const result = await t.transcribe(
      { bytes, mime_type: 'audio/ogg; codecs=opus', filename: uploadFilename(null, 'audio/ogg; codecs=opus') },
      new AbortController().signal,
    );
    expect(result).toEqual({ text: 'bonjour, je voudrais un rendez-vous', language: null, model: 'whisper-test' });
    const upload = fake.transcriptions[0]!;
    expect(upload.model).toBe('whisper-test');
    expect(upload.filename).toBe('voice.ogg');
    expect(upload.mimeType).toBe('audio/ogg');
    expect(upload.bytes.equals(bytes)).toBe(true);
    expect(upload.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
  });

  it('a failing endpoint throws with its status', async () => {
    fake.pushTranscript({ status: 503 });
    const t = createOpenAiTranscriber({ baseUrl: fake.baseUrl, apiKey: null, model: 'whisper-test', timeoutMs: 5_000 });
    await expect(
      t.transcribe({ bytes: Buffer.from('x'), mime_type: 'audio/mpeg', filename: 'a.mp3' }, new AbortController().signal),
    ).rejects.toMatchObject({ status: 503 });
  });

  it("file names: the customer's own when it has an extension, else one from the MIME type", () => {
    expect(uploadFilename('memo.m4a', 'audio/mp4')).toBe('memo.m4a');
    expect(uploadFilename('memo', 'audio/mpeg')).toBe('memo.mp3');
    expect(uploadFilename(null, 'audio/amr')).toBe('voice.amr');
    expect(uploadFilename(null, 'application/octet-stream')).toBe('voice.ogg');
  });
});
