import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { MetaSendFake, graphError } from '../fakes/meta-send.fake.js';
import { OpenAiFake } from '../fakes/openai.fake.js';
import { metaMessagesPayload, startTestServer, TEST_SECRETS } from '../support/app.js';
import { buildDashboard, FAKE_MEDIA_ARGS, hasChromium, isBrowserSuiteRequired, launchBrowser, type Browser } from './browser.js';
import { logIn, png, post, RECORD_NOTIFICATIONS, seriousAxeViolations, text, WAIT_MS } from './dashboard-helpers.js';

/*
 * The dashboard end to end with the outbound sender (Meta send fake), the knowledge API and the AI
 * worker (OpenAI fake, then the faq responder): what the composer sends reaches the provider, a
 * recorded voice note plays back, Retry sends a failed message again, an AI reply saved as Q&A
 * answers the next question, a FAQ answer corrected in place applies to the next reply, and a
 * customer asking for a human raises the waiting alert. Needs the outbox and AI branches merged.
 */

const PHOTO = png(320, 200, [200, 90, 40]);
const PDF = Buffer.from('%PDF-1.4\n% price list\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

describe.runIf(hasChromium || isBrowserSuiteRequired)('dashboard with the sender, the knowledge API and the AI (issue 12)', () => {
  let browser: Browser;
  let meta: MetaSendFake;
  let openai: OpenAiFake;
  let server: Running;
  let page: Page;
  let dataDir: string;
  let env: Record<string, string>;

  const messagesPane = () => page.locator('.messages');
  const listItem = (name: string) => page.locator('.conversation-list .conversation-item', { hasText: name });
  const lastOperatorMessage = () => messagesPane().locator('.role-operator').last();
  const lastAssistantMessage = () => messagesPane().locator('.role-assistant').last();

  async function open(name: string): Promise<void> {
    await listItem(name).click();
    await page.locator('.thread-header h2', { hasText: name }).waitFor({ timeout: WAIT_MS });
  }

  async function restart(overrides: Record<string, string>): Promise<void> {
    const port = new URL(server.url).port;
    await server.close();
    env = { ...env, ...overrides };
    server = await startTestServer({ ...env, PORT: port });
    await page.locator('[data-connection="live"]').waitFor({ timeout: WAIT_MS });
  }

  /** A customer writes and the admin takes the conversation over: the composer is theirs. */
  async function takeOver(from: string, name: string): Promise<void> {
    await post(server.url, metaMessagesPayload(from, name, [text(`wamid.open.${from}`, 'hello, can you send me the details?')]));
    await listItem(name).waitFor({ timeout: WAIT_MS });
    await open(name);
    const takeOverButton = page.locator('.thread-header').getByRole('button', { name: 'Take over', exact: true });
    if (await takeOverButton.count()) await takeOverButton.click();
    await page.locator('.thread-header [data-state="operator"]').waitFor({ timeout: WAIT_MS });
    expect(await page.getByLabel('Reply').isEnabled()).toBe(true);
  }

  beforeAll(async () => {
    browser = await launchBrowser(FAKE_MEDIA_ARGS);
    meta = await MetaSendFake.start(TEST_SECRETS.META_ACCESS_TOKEN);
    openai = await OpenAiFake.start();
    await buildDashboard();
    dataDir = mkdtempSync(join(tmpdir(), 'sb-integration-'));
    env = {
      DATA_DIR: dataDir,
      META_GRAPH_URL: meta.graphUrl,
      AI_RESPONDER: 'none',
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: 'test-openai-key',
      AI_MODEL: 'gpt-test-mini',
      AI_DEBOUNCE_MS: '0',
      OUTBOX_RETRY_BASE_MS: '50',
      OUTBOX_RETRY_MAX_MS: '200',
    };
    server = await startTestServer(env);
    await browser.context.grantPermissions(['notifications', 'microphone'], { origin: server.url });
    await browser.context.addInitScript(RECORD_NOTIFICATIONS);
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await logIn(page, server.url);
  }, 120_000);

  afterEach(async (context) => {
    if (context.task.result?.state !== 'fail' || !page) return;
    const file = join(tmpdir(), `sb-integration-failure-${Date.now()}.png`);
    await page.screenshot({ path: file }).catch(() => {});
    console.error(`dashboard screenshot at failure: ${file}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await meta?.close();
    await openai?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('[§11][OUT1] a photo with a caption, previewed, discarded and attached again, reaches the provider; then a document', async () => {
    await takeOver('96170300001', 'Rana Haddad');
    const photoFile = join(dataDir, 'broken-part.png');
    writeFileSync(photoFile, PHOTO);
    await page.locator('input[aria-label="Photo file"]').setInputFiles(photoFile);
    await page.getByRole('img', { name: 'Preview of broken-part.png' }).waitFor({ timeout: WAIT_MS });
    await page.locator('[data-attachment]').getByRole('button', { name: 'Discard' }).click();
    expect(await page.locator('[data-attachment]').count()).toBe(0);
    await page.locator('input[aria-label="Photo file"]').setInputFiles(photoFile);
    await page.getByLabel('Reply').fill('is it this part?');
    await page.getByLabel('Reply').press('Enter');

    const sent = lastOperatorMessage();
    await sent.locator('img').waitFor({ timeout: WAIT_MS });
    await expect.poll(() => sent.locator('.tick').getAttribute('aria-label'), { timeout: WAIT_MS }).toBe('sent');
    const upload = meta.uploadsReceived().at(-1)!;
    expect(upload.parts!.find((p) => p.name === 'file')!.bytes!.equals(PHOTO)).toBe(true);
    expect(meta.sends().at(-1)!.json).toMatchObject({ to: '+96170300001', type: 'image', image: { caption: 'is it this part?' } });
    await expect
      .poll(() => sent.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: WAIT_MS })
      .toBe(320);
    expect(await page.locator('[data-attachment]').count()).toBe(0);
    expect(await page.getByLabel('Reply').inputValue()).toBe('');

    const docFile = join(dataDir, 'price-list.pdf');
    writeFileSync(docFile, PDF);
    await page.locator('input[aria-label="Document file"]').setInputFiles(docFile);
    await page.locator('[data-attachment="document"]', { hasText: 'price-list.pdf' }).waitFor({ timeout: WAIT_MS });
    await page.getByRole('button', { name: 'Send' }).click();
    const doc = lastOperatorMessage().locator('a.document');
    await doc.waitFor({ timeout: WAIT_MS });
    expect(await doc.textContent()).toContain('price-list.pdf');
    await expect.poll(() => lastOperatorMessage().locator('.tick').getAttribute('aria-label'), { timeout: WAIT_MS }).toBe('sent');
    expect(
      meta
        .uploadsReceived()
        .at(-1)!
        .parts!.find((p) => p.name === 'file')!
        .bytes!.equals(PDF),
    ).toBe(true);
    expect(meta.sends().at(-1)!.json).toMatchObject({ type: 'document', document: { filename: 'price-list.pdf' } });
  });

  it('[§11] a voice note recorded with the fake microphone: timer, preview, send; it reaches the provider as Ogg/Opus and plays back', async () => {
    await page.getByRole('button', { name: 'Record a voice note' }).click();
    const recording = page.locator('[data-recording]');
    await recording.waitFor({ timeout: WAIT_MS });
    await expect.poll(() => recording.textContent(), { timeout: WAIT_MS }).toMatch(/Recording 0:0[2-9] \/ 2:00/);
    await recording.getByRole('button', { name: 'Stop' }).click();
    const preview = page.getByLabel('Voice note preview');
    await preview.waitFor({ timeout: WAIT_MS });
    expect(await page.locator('[data-attachment="voice"]').textContent()).toMatch(/Voice note, 0:0[2-9]/);
    await page.getByRole('button', { name: 'Send' }).click();

    const voice = lastOperatorMessage();
    await voice.locator('audio').waitFor({ timeout: WAIT_MS });
    await expect.poll(() => voice.locator('.tick').getAttribute('aria-label'), { timeout: WAIT_MS }).toBe('sent');
    const file = meta
      .uploadsReceived()
      .at(-1)!
      .parts!.find((p) => p.name === 'file')!;
    expect(file.contentType).toBe('audio/ogg; codecs=opus');
    expect(file.bytes!.toString('latin1', 0, 4)).toBe('OggS');
    expect(meta.sends().at(-1)!.json).toMatchObject({ type: 'audio' });
    // It plays back in the thread, from Switchboard's own media URL.
    const played = await voice.locator('audio').evaluate(async (audio: HTMLAudioElement) => {
      audio.muted = true;
      await audio.play();
      await new Promise((resolve) => setTimeout(resolve, 600));
      return { time: audio.currentTime, duration: audio.duration, error: audio.error?.code ?? null };
    });
    expect(played.error).toBeNull();
    expect(played.time).toBeGreaterThan(0);
  }, 60_000);

  it('[OUT1][§11] a message refused with 131047 shows the code; Retry sends it again and the ticks move on', async () => {
    meta.script(
      '+96170300001',
      graphError(131047, 'Re-engagement message', 400, 'More than 24 hours have passed since the customer last replied.'),
    );
    await page.getByLabel('Reply').fill('one more thing');
    await page.getByLabel('Reply').press('Enter');
    const failed = messagesPane().locator('.role-operator', { hasText: 'one more thing' });
    await failed.locator('.error-badge').waitFor({ timeout: 3 * WAIT_MS });
    expect(await failed.locator('.error-badge').textContent()).toBe('131047: Re-engagement message');
    const mark = page.locator('.conversation-item.selected .preview-failed');
    await mark.waitFor({ timeout: WAIT_MS });
    await failed.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => failed.locator('.tick').getAttribute('aria-label'), { timeout: 3 * WAIT_MS }).toBe('sent');
    expect(await failed.locator('.error-badge').count()).toBe(0);
    // The list's "Not sent" goes with the retry's success.
    await mark.waitFor({ state: 'detached', timeout: WAIT_MS });
    expect(meta.sends().filter((s) => s.json?.text?.body === 'one more thing').length).toBe(2);
  }, 120_000);

  it('[AI7][§11] an AI reply saved as Q&A from the dialog answers the next question (faq responder)', async () => {
    await restart({ AI_RESPONDER: 'openai' });
    openai.push({ kind: 'text', content: 'Yes, we deliver to Tripoli every Tuesday.' });
    await post(server.url, metaMessagesPayload('96170300002', 'Karim Nassar', [text('wamid.ask1', 'Do you deliver to Tripoli?')]));
    await listItem('Karim Nassar').waitFor({ timeout: WAIT_MS });
    await open('Karim Nassar');
    const reply = lastAssistantMessage();
    await reply.locator('[data-producer="ai"]', { hasText: 'gpt-test-mini' }).waitFor({ timeout: WAIT_MS });
    await reply.getByRole('button', { name: 'Save as Q&A' }).click();
    const dialog = page.getByRole('dialog', { name: 'Save as Q&A' });
    expect(await dialog.getByLabel('Question').inputValue()).toBe('Do you deliver to Tripoli?');
    expect(await dialog.getByLabel('Answer').inputValue()).toBe('Yes, we deliver to Tripoli every Tuesday.');
    await dialog.getByLabel('Answer').fill('Yes: we deliver to Tripoli every Tuesday and Friday.');
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    await dialog.getByRole('status').filter({ hasText: 'Saved as a new Q&A' }).waitFor({ timeout: WAIT_MS });
    expect(await seriousAxeViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Close' }).click();

    const found = (await (await page.request.get(`${server.url}/api/knowledge?q=Tripoli`)).json()) as {
      entries: { id: string; question: string; answer: string }[];
    };
    expect(found.entries).toEqual([
      expect.objectContaining({ question: 'Do you deliver to Tripoli?', answer: 'Yes: we deliver to Tripoli every Tuesday and Friday.' }),
    ]);

    await restart({ AI_RESPONDER: 'faq' });
    await post(server.url, metaMessagesPayload('96170300003', 'Layla Saad', [text('wamid.ask2', 'do you deliver to tripoli')]));
    await listItem('Layla Saad').waitFor({ timeout: WAIT_MS });
    await open('Layla Saad');
    const answer = lastAssistantMessage();
    await answer.locator('.text', { hasText: 'every Tuesday and Friday' }).waitFor({ timeout: WAIT_MS });
    expect(await answer.locator('[data-producer="faq"]').textContent()).toContain('Do you deliver to Tripoli?');

    // Correct it in place (admin): the next reply uses the corrected answer.
    await answer.getByRole('button', { name: 'Correct the answer' }).click();
    const correct = page.getByRole('dialog', { name: 'Correct the answer' });
    await correct.locator('[data-field="faq-match"]', { hasText: 'Do you deliver to Tripoli?' }).waitFor({ timeout: WAIT_MS });
    await expect
      .poll(() => correct.getByLabel('Answer').inputValue(), { timeout: WAIT_MS })
      .toBe('Yes: we deliver to Tripoli every Tuesday and Friday.');
    await correct.getByLabel('Answer').fill('Yes: we deliver to Tripoli every day except Sunday.');
    await correct.getByRole('button', { name: 'Save in place' }).click();
    await correct.getByRole('status').filter({ hasText: 'Entry corrected' }).waitFor({ timeout: WAIT_MS });
    await correct.getByRole('button', { name: 'Close' }).click();
    await post(server.url, metaMessagesPayload('96170300003', 'Layla Saad', [text('wamid.ask3', 'Do you deliver to Tripoli?')]));
    await messagesPane().locator('.role-assistant .text', { hasText: 'every day except Sunday' }).waitFor({ timeout: WAIT_MS });
    const after = (await (await page.request.get(`${server.url}/api/knowledge?q=Tripoli`)).json()) as { entries: unknown[] };
    expect(after.entries.length).toBe(1);
  }, 90_000);

  it('[AI7][§11] the knowledge page finds, edits and deletes entries (admin)', async () => {
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('button', { name: 'Knowledge' }).click();
    await page.getByLabel('Search the knowledge base').fill('tripoli');
    const entry = page.locator('.knowledge-entry', { hasText: 'Do you deliver to Tripoli?' });
    await entry.waitFor({ timeout: WAIT_MS });
    expect(await seriousAxeViolations(page)).toEqual([]);
    await entry.getByRole('button', { name: 'Edit “Do you deliver to Tripoli?”' }).click();
    await entry.getByLabel('Answer').fill('We deliver to Tripoli daily.');
    await entry.getByRole('button', { name: 'Save' }).click();
    await entry.locator('.answer', { hasText: 'We deliver to Tripoli daily.' }).waitFor({ timeout: WAIT_MS });
    const id = (await entry.getAttribute('data-knowledge-id'))!;
    expect(((await (await page.request.get(`${server.url}/api/knowledge/${id}`)).json()) as { answer: string }).answer).toBe(
      'We deliver to Tripoli daily.',
    );
    await entry.getByRole('button', { name: 'Delete “Do you deliver to Tripoli?”' }).click();
    await entry.getByRole('button', { name: 'Delete for good' }).click();
    await entry.waitFor({ state: 'detached', timeout: WAIT_MS });
    // Gone from what the responder and the search use (whether the server keeps a soft-deleted row or not).
    const left = (await (await page.request.get(`${server.url}/api/knowledge?q=tripoli`)).json()) as { entries: { id: string }[] };
    expect(left.entries.map((e) => e.id)).not.toContain(id);
    await page.getByLabel('Search the knowledge base').fill('tripoli ');
    await page.getByText('No entry matches.').waitFor({ timeout: WAIT_MS });
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('button', { name: 'Conversations' }).click();
  });

  it('[AI4][§11] a customer asking for a human: the waiting alert fires (notification and title)', async () => {
    await page.locator('.brand').click();
    const before = await page.evaluate(() => (window as unknown as { __notifications: unknown[] }).__notifications.length);
    await post(server.url, metaMessagesPayload('96170300004', 'Nadia Fares', [text('wamid.human', 'I want to talk to a human please')]));
    await expect
      .poll(
        () => page.evaluate(() => (window as unknown as { __notifications: { title: string; body: string }[] }).__notifications.slice(-1)),
        { timeout: WAIT_MS },
      )
      .toEqual([expect.objectContaining({ title: 'Nadia Fares is waiting', body: 'customer asked for a human' })]);
    expect(await page.evaluate(() => (window as unknown as { __notifications: unknown[] }).__notifications.length)).toBe(before + 1);
    await expect.poll(() => page.title(), { timeout: WAIT_MS }).toMatch(/^\(\d+\) Switchboard$/);
    await page.locator('[data-queue="user"] li', { hasText: 'Nadia Fares' }).locator('.waited').waitFor({ timeout: WAIT_MS });
  });

  it('[AI5][§11] with a responder the release is "Hand back to AI": the AI owns the conversation again and the marker says so', async () => {
    // The page was loaded against a server without a responder; this one (faq) came after it, and
    // the dashboard learns that when its event stream comes back, without a reload.
    await open('Nadia Fares');
    await page.locator('.thread-header').getByRole('button', { name: 'Take over', exact: true }).click();
    await page.locator('.thread-header [data-state="operator"]').waitFor({ timeout: WAIT_MS });
    await page.getByRole('button', { name: 'Hand back to AI' }).waitFor({ timeout: WAIT_MS });
    expect(await page.getByRole('button', { name: 'Back to queue' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Hand back to AI' }).click();
    await page.locator('.thread-header [data-state="ai"]').waitFor({ timeout: WAIT_MS });
    await messagesPane().locator('.message.system', { hasText: 'handed the conversation back to the AI' }).waitFor({ timeout: WAIT_MS });
  });
});
