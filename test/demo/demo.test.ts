import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/main.js';
import { openStore } from '../../src/store/database.js';

describe('npm run demo (switchboard demo)', () => {
  it('[§13 demo] from a fresh database: three providers, AI replies, a hand-over, delivered and read statuses, a simulated transcript', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-demo-'));
    const out: string[] = [];
    const io: CliIo = { out: (t) => void out.push(t), err: (t) => void out.push(t), isTTY: false };
    // The script takes ~40 s at pace 1; at 0.15 it is played in ~6 s, then statuses and replies settle.
    const code = await runCli(['demo', '--port', '0', '--data-dir', dataDir, '--fresh', '--pace', '0.15', '--duration', '25'], {
      env: { LOG_LEVEL: 'silent' },
      io,
    });
    expect(code, out.join('')).toBe(0);
    expect(out.join('')).toMatch(
      /the dashboard is at http:\/\/localhost:\d+\n\s+log in as admin@demo.switchboard with password switchboard-demo/,
    );

    const store = await openStore(`sqlite:${join(dataDir, 'switchboard.db')}`);
    try {
      const channels = await store.db.selectFrom('channels').select('provider').execute();
      expect(new Set(channels.map((c) => c.provider))).toEqual(new Set(['meta', 'montymobile', 'qiscus']));

      const messages = await store.db.selectFrom('messages').selectAll().execute();
      const ai = messages.filter((m) => m.role === 'assistant' && JSON.parse(m.metadata).handled_by === 'faq');
      expect(ai.length, 'faq replies').toBeGreaterThanOrEqual(3);

      const conversations = await store.db.selectFrom('conversations').selectAll().execute();
      const handedOver = conversations.filter((c) => c.handover !== null).map((c) => JSON.parse(c.handover!).reason);
      expect(handedOver, 'hand-overs').toEqual(expect.arrayContaining(['user_requested']));
      expect(conversations.some((c) => c.state === 'waiting')).toBe(true);

      const outbound = messages.filter((m) => m.role !== 'user' && m.provider_message_id !== null);
      expect(
        outbound.some((m) => m.status === 'delivered' || m.status === 'read'),
        'delivered',
      ).toBe(true);
      expect(
        outbound.some((m) => m.status === 'read'),
        'read',
      ).toBe(true);

      // Emily reacts to the AI's reply: at this pace the script reaches the reaction before the reply, and she waits for it.
      const reaction = messages.find((m) => m.type === 'reaction');
      expect(reaction, 'the reaction').toBeDefined();
      const target = (JSON.parse(reaction!.metadata) as { reaction?: { message_id?: string } }).reaction?.message_id;
      expect(
        messages.some((m) => m.role !== 'user' && m.provider_message_id === target && m.conversation_id === reaction!.conversation_id),
      ).toBe(true);

      const voice = messages.find((m) => m.type === 'voice');
      expect(voice, 'the voice note').toBeDefined();
      const media = JSON.parse(voice!.media!) as { transcript: string | null };
      expect(media.transcript).toMatch(/^\[simulated transcript\] Hi, I would like to book a laser hair removal session/);
      expect(voice!.text).toBe(media.transcript);
    } finally {
      await store.close();
    }
  }, 90_000);
});
