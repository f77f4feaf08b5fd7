import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ADMIN } from '../../src/cli/demo.command.js';
import type { Running } from '../../src/main.js';
import { MetaGraphFake } from '../fakes/meta-graph.fake.js';
import { metaMessagesPayload, startTestServer, TEST_SECRETS } from '../support/app.js';
import { buildDashboard, FAKE_MEDIA_ARGS, launchBrowser, type Browser } from './browser.js';
import { conversationIdOf, insertMessages, logIn, metaStatus, png, post, text, WAIT_MS } from './dashboard-helpers.js';

/*
 * The README's screenshots (docs/dashboard-*.png, docs/demo.png): every run renders the main screens
 * from a seeded server (and the demo) and checks the pictures were taken; with SCREENSHOTS=1 they
 * are written to docs/ (`SCREENSHOTS=1 npx vitest run test/browser/screenshots.test.ts`), otherwise
 * to a temporary folder.
 */

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const DOCS =
  process.env.SCREENSHOTS === '1' ? fileURLToPath(new URL('../../docs/', import.meta.url)) : mkdtempSync(join(tmpdir(), 'sb-shots-out-'));

const ENTRIES = [
  {
    question: 'Do you offer a student discount?',
    answer: 'Yes: 15 % off laser and facials with a valid student card, Monday to Thursday.',
    language: 'en',
  },
  {
    question: 'Est-ce que le laser fait mal ?',
    answer: 'La plupart des clients sentent un léger picotement ; nous appliquons une crème apaisante avant la séance.',
    language: 'fr',
  },
  { question: 'هل يوجد موقف سيارات؟', answer: 'نعم، يوجد موقف مجاني للزبائن تحت المبنى.', language: 'ar' },
];

/** A PNG file's size, after checking its signature: a picture was really written. */
function pngSize(path: string): number {
  const bytes = readFileSync(path);
  expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  return bytes.length;
}

describe('screenshots for the README (SCREENSHOTS=1 writes docs/)', () => {
  let browser: Browser;
  let graph: MetaGraphFake;
  let server: Running;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    browser = await launchBrowser(FAKE_MEDIA_ARGS);
    graph = await MetaGraphFake.start(TEST_SECRETS.META_ACCESS_TOKEN);
    await buildDashboard();
    dataDir = mkdtempSync(join(tmpdir(), 'sb-shots-'));
    server = await startTestServer({ DATA_DIR: dataDir, AI_RESPONDER: 'none', META_GRAPH_URL: graph.graphUrl });
    await browser.context.grantPermissions(['microphone', 'notifications'], { origin: server.url });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.setViewportSize({ width: 1440, height: 1100 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await graph?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('list + thread with media and ticks; the teach dialog; the knowledge page', async () => {
    graph.addMedia('media-photo', { bytes: png(320, 200, [48, 128, 196]), mimeType: 'image/png' });
    graph.addMedia('media-doc', { bytes: Buffer.from('%PDF-1.4\n% invoice\n'), mimeType: 'application/pdf' });
    await post(
      server.url,
      metaMessagesPayload('96170400002', 'Karim Nassar', [text('wamid.k1', 'I need a person, the AI does not get it')]),
    );
    await post(server.url, metaMessagesPayload('96170400003', 'Layla Saad', [text('wamid.l1', 'is the shop open on Sunday?')]));
    await post(server.url, metaMessagesPayload('96170400004', 'Omar Khalil', [text('wamid.o1', 'thanks, all good')]));
    await post(server.url, metaMessagesPayload('96170400001', 'Rana Haddad', [text('wamid.r1', 'Hello! Do you deliver to Tripoli?')]));
    await logIn(page, server.url);
    const rana = await conversationIdOf(page, server.url, 'Rana Haddad');
    const layla = await conversationIdOf(page, server.url, 'Layla Saad');
    // An AI-initiated hand-over for the second queue, and a detected language.
    await server.ctx.store.db
      .updateTable('conversations')
      .set({
        handover: JSON.stringify({
          reason: 'ai_requested',
          at: new Date(Date.now() - 4 * 60_000).toISOString(),
          note: 'no confident answer',
        }),
      })
      .where('id', '=', layla)
      .execute();
    await server.ctx.store.db
      .updateTable('contacts')
      .set({ language: 'en' })
      .where(
        'id',
        '=',
        (await server.ctx.store.db.selectFrom('conversations').select('contact_id').where('id', '=', rana).executeTakeFirstOrThrow())
          .contact_id,
      )
      .execute();
    await insertMessages(server, rana, [
      {
        message_id: 'msg_20261203090000_0000cc01',
        role: 'assistant',
        text: 'Yes, we deliver to Tripoli and Saida every Tuesday.',
        status: 'read',
        metadata: JSON.stringify({
          handled_by: 'faq',
          knowledge_id: 'kn_1',
          knowledge_question: 'Do you deliver outside Beirut?',
          score: 0.91,
        }),
      },
      { message_id: 'wamid.r2', text: 'Great. The handle of the one I got is broken, I want a replacement.' },
      {
        message_id: 'msg_20261203090001_0000cc02',
        role: 'assistant',
        text: 'Sorry to hear that! Could you send a photo of the broken part?',
        status: 'read',
        metadata: JSON.stringify({ handled_by: 'ai', model: 'gpt-4o-mini', latency_ms: 1320 }),
      },
    ]);
    await post(
      server.url,
      metaMessagesPayload('96170400001', 'Rana Haddad', [
        { id: 'wamid.r3', type: 'image', image: { id: 'media-photo', mime_type: 'image/png', caption: 'here it is' } },
      ]),
    );
    await insertMessages(server, rana, [
      {
        message_id: 'wamid.r4',
        type: 'voice',
        text: 'Can someone call me about the replacement? I would rather talk to a person.',
        media: JSON.stringify({
          media_id: 'md_voice_r4',
          mime_type: 'audio/ogg',
          status: 'ready',
          caption: null,
          transcript: 'Can someone call me about the replacement? I would rather talk to a person.',
          filename: null,
          size: 18_432,
          transcript_status: 'done',
        }),
      },
      {
        message_id: 'msg_20261203090002_0000cc03',
        role: 'system',
        text: 'An operator will be with you shortly.',
        status: 'delivered',
        metadata: JSON.stringify({ notice: 'handover_requested' }),
      },
    ]);
    await page.reload();
    await page.locator('[data-connection="live"]').waitFor({ timeout: WAIT_MS });
    await page.locator('.conversation-list .conversation-item', { hasText: 'Rana Haddad' }).click();
    await page.locator('.thread-header').getByRole('button', { name: 'Take over', exact: true }).click();
    await page.locator('.thread-header [data-state="operator"]').waitFor({ timeout: WAIT_MS });
    await insertMessages(server, rana, [
      {
        message_id: 'msg_20261203090003_0000cc04',
        role: 'operator',
        operator_name: 'Administrator',
        text: 'Hi Rana, Administrator here. We will send a replacement handle tomorrow.',
        status: 'pending',
        provider_message_id: 'wamid.out.1',
        reply_to: 'wamid.r3',
      },
      {
        message_id: 'msg_20261203090004_0000cc05',
        role: 'operator',
        operator_name: 'Administrator',
        text: null,
        type: 'document',
        status: 'pending',
        provider_message_id: 'wamid.out.2',
        media: JSON.stringify({
          media_id: 'md_doc_out',
          mime_type: 'application/pdf',
          status: 'ready',
          caption: null,
          transcript: null,
          filename: 'replacement-order-0042.pdf',
          size: 48_213,
        }),
      },
      {
        message_id: 'msg_20261203090005_0000cc06',
        role: 'operator',
        operator_name: 'Administrator',
        text: 'Shall I call you at 5 pm?',
        status: 'pending',
        provider_message_id: 'wamid.out.3',
      },
    ]);
    await page.locator('.conversation-list .conversation-item', { hasText: 'Omar Khalil' }).click();
    await page.locator('.conversation-list .conversation-item', { hasText: 'Rana Haddad' }).click();
    await page.locator('[data-message-id="msg_20261203090005_0000cc06"]').waitFor({ timeout: WAIT_MS });
    await post(server.url, metaStatus('wamid.out.1', 'read'));
    await post(server.url, metaStatus('wamid.out.2', 'delivered'));
    await post(server.url, metaStatus('wamid.out.3', 'failed', [{ code: 131047, title: 'Re-engagement message' }]));
    await page.locator('[data-message-id="msg_20261203090005_0000cc06"] .error-badge').waitFor({ timeout: WAIT_MS });
    // A recorded voice note waiting in the composer (the fake microphone).
    await page.getByRole('button', { name: 'Record a voice note' }).click();
    await page.locator('[data-recording]').waitFor({ timeout: WAIT_MS });
    await page.waitForTimeout(2300);
    await page.locator('[data-recording]').getByRole('button', { name: 'Stop' }).click();
    await page.getByLabel('Voice note preview').waitFor({ timeout: WAIT_MS });
    await page.locator('.brand').hover();
    await page.screenshot({ path: join(DOCS, 'dashboard-thread.png') });

    await page.locator('[data-message-id="msg_20261203090001_0000cc02"]').getByRole('button', { name: 'Save as Q&A' }).click();
    await page.getByRole('dialog', { name: 'Save as Q&A' }).waitFor({ timeout: WAIT_MS });
    await page.screenshot({ path: join(DOCS, 'dashboard-teach.png') });
    await page.keyboard.press('Escape');

    // The seeded clinic knowledge, and three entries added through the API (they come first).
    for (const e of ENTRIES) {
      expect((await page.request.post(`${server.url}/api/knowledge`, { data: e, headers: { 'x-requested-with': 'fetch' } })).status()).toBe(
        201,
      );
    }
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('button', { name: 'Knowledge' }).click();
    await page.locator('.knowledge-entry').first().waitFor({ timeout: WAIT_MS });
    await page.screenshot({ path: join(DOCS, 'dashboard-knowledge.png') });
    for (const name of ['dashboard-thread.png', 'dashboard-teach.png', 'dashboard-knowledge.png'])
      expect(pngSize(join(DOCS, name))).toBeGreaterThan(20_000);
  }, 120_000);

  it('the demo: simulated customers of three providers, AI replies, a hand-over waiting', async () => {
    const demoDir = mkdtempSync(join(tmpdir(), 'sb-shots-demo-'));
    const demo = spawn(
      process.execPath,
      [BIN, 'demo', '--port', '0', '--fresh', '--data-dir', demoDir, '--pace', '0.1', '--duration', '90'],
      {
        env: { ...process.env, LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the demo did not start: ${output}`)), 60_000);
        demo.stdout!.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
          const found = /the dashboard is at (http:\/\/\S+)/.exec(output);
          if (found) {
            clearTimeout(timer);
            resolve(found[1]!);
          }
        });
        demo.once('exit', (code) => reject(new Error(`the demo exited (${code}): ${output}`)));
      });
      // The script plays in about 4 s at pace 0.1; replies and statuses follow within seconds.
      await page.waitForTimeout(9_000);
      await logIn(page, url, DEMO_ADMIN.email, DEMO_ADMIN.password);
      await page.locator('.conversation-list .conversation-item', { hasText: 'Julien Moreau' }).first().click();
      await page.locator('.thread-header h2', { hasText: 'Julien Moreau' }).waitFor({ timeout: WAIT_MS });
      await page.waitForTimeout(500);
      await page.screenshot({ path: join(DOCS, 'demo.png') });
      expect(pngSize(join(DOCS, 'demo.png'))).toBeGreaterThan(20_000);
    } finally {
      demo.kill('SIGTERM');
      await new Promise((resolve) => demo.once('exit', resolve));
      rmSync(demoDir, { recursive: true, force: true });
    }
  }, 120_000);
});
