import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAiFake } from '../fakes/openai.fake.js';
import { AI_DATABASES, AiHarness, conversationIdOf, replies, sendMeta, sendText } from './support.js';

/*
 * [ED4][RV1] The debounced AI reply reads the conversation's rows when it runs: an edit applied
 * while it waits is what it answers, and a deleted message is never shown to the model.
 */

let fake: OpenAiFake;
beforeAll(async () => {
  fake = await OpenAiFake.start();
});
beforeEach(() => fake.reset());
afterAll(async () => {
  await fake.close();
});

describe.each(AI_DATABASES)('AI reply after an edit or a revoke on %s', (kind) => {
  const h = new AiHarness(kind, () => ({
    AI_RESPONDER: 'openai',
    OPENAI_BASE_URL: fake.baseUrl,
    AI_MODEL: 'fake-model',
    OPENAI_API_KEY: 'sk-fake',
  }));
  beforeAll(() => h.setUp());
  afterEach(() => h.closeServers());
  afterAll(() => h.tearDown());

  it('[ED4] an edit inside the debounce window: the one reply answers the edited text', async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '800' });
    const from = h.unique();
    fake.push({ kind: 'text', content: 'Three tickets are booked.' });
    expect((await sendText(server, from, `wamid.AIE${from}`, 'book 2 tickets')).status).toBe(200);
    expect(
      (
        await sendMeta(server, from, [
          {
            id: `wamid.AIE${from}.edit`,
            type: 'edit',
            edit: { original_message_id: `wamid.AIE${from}`, message: { type: 'text', text: { body: 'book 3 tickets' } } },
          },
        ])
      ).status,
    ).toBe(200);
    const conversationId = await conversationIdOf(server, from);
    const [reply, ...more] = await replies(server, conversationId);
    expect(more).toEqual([]);
    expect(fake.chats).toHaveLength(1);
    expect(fake.chats[0]!.body.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['book 3 tickets']);
    expect(reply!.meta).toMatchObject({ answers: [`wamid.AIE${from}`] });
  });

  it('[RV1] a message deleted inside the debounce window never reaches the model', async () => {
    const server = await h.start({ AI_DEBOUNCE_MS: '800' });
    const from = h.unique();
    fake.push({ kind: 'text', content: 'Hello!' });
    expect((await sendText(server, from, `wamid.AIR${from}.1`, 'hi')).status).toBe(200);
    expect((await sendText(server, from, `wamid.AIR${from}.2`, 'my password is hunter2')).status).toBe(200);
    expect(
      (
        await sendMeta(server, from, [
          { id: `wamid.AIR${from}.rev`, type: 'revoke', revoke: { original_message_id: `wamid.AIR${from}.2` } },
        ])
      ).status,
    ).toBe(200);
    const conversationId = await conversationIdOf(server, from);
    await replies(server, conversationId);
    expect(JSON.stringify(fake.chats)).not.toContain('hunter2');
    expect(fake.chats[0]!.body.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([
      'hi',
      '[the customer deleted this message]',
    ]);
  });
});
