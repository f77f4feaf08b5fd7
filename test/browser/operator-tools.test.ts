import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { MetaGraphFake } from '../fakes/meta-graph.fake.js';
import { metaMessagesPayload, startTestServer, TEST_SECRETS } from '../support/app.js';
import { buildDashboard, hasChromium, isBrowserSuiteRequired, launchBrowser, type Browser } from './browser.js';
import {
  conversationIdOf,
  insertMessages,
  logIn,
  metaStatus,
  png,
  post,
  RECORD_NOTIFICATIONS,
  seriousAxeViolations,
  text,
  WAIT_MS,
} from './dashboard-helpers.js';

/*
 * The operator's toolset in the dashboard (issue 12, SPEC §11) with what the server has today:
 * ticks driven by real status webhooks, failed messages, AI and notice labels, transcripts, system
 * markers, quotes, the photo viewer, the teach dialog, waiting alerts, a 10,000-message thread,
 * keyboard navigation and axe on the main screens. What needs the outbound sender, the knowledge
 * API or the AI worker is in dashboard-integration.test.ts.
 */

const ERROR_131047 = {
  code: 131047,
  title: 'Re-engagement message',
  message: 'Re-engagement message',
  error_data: { details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' },
};

const THREAD_SIZE = 10_000;
/** What a virtualised list may hold: a screen of rows plus the overscan, far below the thread. */
const MAX_ROWS_IN_DOM = 60;

describe.runIf(hasChromium || isBrowserSuiteRequired)('dashboard operator tools in Chromium (issue 12)', () => {
  let browser: Browser;
  let graph: MetaGraphFake;
  let server: Running;
  let page: Page;
  let dataDir: string;

  const messagesPane = () => page.locator('.messages');
  const messageNode = (id: string) => messagesPane().locator(`[data-message-id="${id}"]`);
  const listItem = (name: string) => page.locator('.conversation-list .conversation-item', { hasText: name });
  const notifications = () =>
    page.evaluate(() => (window as unknown as { __notifications: { title: string; body: string }[] }).__notifications);
  const rowIds = () => page.$$eval('.messages [data-message-id]', (els) => els.map((e) => e.getAttribute('data-message-id')!));

  async function open(name: string): Promise<void> {
    await listItem(name).click();
    await page.locator('.thread-header h2', { hasText: name }).waitFor({ timeout: WAIT_MS });
  }

  async function expectNoSeriousViolations(screen: string): Promise<void> {
    const violations = await seriousAxeViolations(page);
    expect(violations, `axe on ${screen}`).toEqual([]);
  }

  beforeAll(async () => {
    browser = await launchBrowser();
    graph = await MetaGraphFake.start(TEST_SECRETS.META_ACCESS_TOKEN);
    await buildDashboard();
    dataDir = mkdtempSync(join(tmpdir(), 'sb-tools-'));
    // Responder `none`: every new conversation starts waiting, a real way into the queue.
    server = await startTestServer({ DATA_DIR: dataDir, AI_RESPONDER: 'none', META_GRAPH_URL: graph.graphUrl });
    await browser.context.grantPermissions(['notifications'], { origin: server.url });
    await browser.context.addInitScript(RECORD_NOTIFICATIONS);
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
  }, 120_000);

  afterEach(async (context) => {
    if (context.task.result?.state !== 'fail' || !page) return;
    const file = join(tmpdir(), `sb-tools-failure-${Date.now()}.png`);
    await page.screenshot({ path: file }).catch(() => {});
    console.error(`dashboard screenshot at failure: ${file}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await graph?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('[§11] axe finds no serious or critical violation on the login screen', async () => {
    await page.goto(`${server.url}/`);
    await page.getByLabel('Email').waitFor({ timeout: WAIT_MS });
    await expectNoSeriousViolations('login');
    await logIn(page, server.url);
    expect(await page.title()).toBe('Switchboard');
  });

  it('[§11][AI4] a conversation entering waiting: a notification, and the waiting count in the tab title', async () => {
    // A user gesture on the page (the permission is granted by the context, so nothing is asked).
    await page.locator('.brand').click();
    expect(await notifications()).toEqual([]);
    await post(server.url, metaMessagesPayload('96170200001', 'Mona Aziz', [text('wamid.M1', 'I need a person please')]));
    await expect.poll(notifications, { timeout: WAIT_MS }).toEqual([expect.objectContaining({ title: 'Mona Aziz is waiting' })]);
    await expect.poll(() => page.title(), { timeout: WAIT_MS }).toBe('(1) Switchboard');

    await post(server.url, metaMessagesPayload('96170200002', 'Karim Nassar', [text('wamid.K1', 'hello')]));
    await expect.poll(() => page.title(), { timeout: WAIT_MS }).toBe('(2) Switchboard');
    await expect.poll(async () => (await notifications()).length, { timeout: WAIT_MS }).toBe(2);
    // A further message in a conversation already waiting is no new alert.
    await post(server.url, metaMessagesPayload('96170200002', 'Karim Nassar', [text('wamid.K2', 'anyone?')]));
    await listItem('Karim Nassar').locator('.preview', { hasText: 'anyone?' }).waitFor({ timeout: WAIT_MS });
    expect((await notifications()).length).toBe(2);

    // The queue shows the reason and a live waiting time.
    const queued = page.locator('[data-queue="user"] li', { hasText: 'Mona Aziz' });
    expect(await queued.locator('.waited').textContent()).toMatch(/^\d+ (s|min)$/);
    expect(await queued.textContent()).toContain('new conversation');

    await queued.getByRole('button', { name: 'Take over' }).click();
    await expect.poll(() => page.title(), { timeout: WAIT_MS }).toBe('(1) Switchboard');
  });

  it('[§11] the alert off switch is kept across a reload: no notification while off, the title still counts', async () => {
    await page.getByRole('button', { name: 'Alerts on' }).click();
    await page.reload();
    await page.locator('[data-connection="live"]').waitFor({ timeout: WAIT_MS });
    expect(await page.getByRole('button', { name: 'Alerts off' }).getAttribute('aria-pressed')).toBe('false');
    await post(server.url, metaMessagesPayload('96170200003', 'Layla Saad', [text('wamid.L1', 'hi')]));
    await expect.poll(() => page.title(), { timeout: WAIT_MS }).toBe('(2) Switchboard');
    expect(await notifications()).toEqual([]);
    await page.getByRole('button', { name: 'Alerts off' }).click();
    expect(await page.evaluate(() => localStorage.getItem('switchboard.alerts'))).toBe('on');
  });

  it('[ST1][§11] ticks move as status webhooks arrive; read is blue; a late sent changes nothing', async () => {
    const conversationId = await conversationIdOf(page, server.url, 'Mona Aziz');
    await insertMessages(server, conversationId, [
      {
        message_id: 'msg_20260301120000_0000aa01',
        role: 'operator',
        text: 'We can help, one moment.',
        status: 'pending',
        provider_message_id: 'wamid.OUT1',
        operator_name: 'Admin',
      },
    ]);
    // Written without an event: the thread is loaded again to show it.
    await open('Karim Nassar');
    await open('Mona Aziz');
    const tick = messageNode('msg_20260301120000_0000aa01').locator('.tick');
    expect(await tick.getAttribute('aria-label')).toBe('sending');
    const colours: Record<string, string> = {};
    for (const status of ['sent', 'delivered', 'read'] as const) {
      await post(server.url, metaStatus('wamid.OUT1', status));
      await expect.poll(() => tick.getAttribute('aria-label'), { timeout: WAIT_MS }).toBe(status);
      colours[status] = await tick.evaluate((el) => getComputedStyle(el).color);
    }
    expect(await tick.textContent()).toBe('✓✓');
    // Read is blue, and apart from delivered (same marks).
    expect(colours.read).toBe('rgb(11, 87, 208)');
    expect(colours.delivered).not.toBe(colours.read);
    await post(server.url, metaStatus('wamid.OUT1', 'sent'));
    await post(server.url, metaMessagesPayload('96170200001', 'Mona Aziz', [text('wamid.M2', 'ok')]));
    await messageNode('wamid.M2').waitFor({ timeout: WAIT_MS });
    expect(await tick.getAttribute('aria-label')).toBe('read');
  });

  it("[OUT1][§11] a failed message shows the provider's code and title and a Retry button", async () => {
    const conversationId = await conversationIdOf(page, server.url, 'Mona Aziz');
    await insertMessages(server, conversationId, [
      {
        message_id: 'msg_20260301120100_0000aa02',
        role: 'operator',
        text: 'Are you still there?',
        status: 'pending',
        provider_message_id: 'wamid.OUT2',
        operator_name: 'Admin',
      },
    ]);
    await open('Karim Nassar');
    await open('Mona Aziz');
    const node = messageNode('msg_20260301120100_0000aa02');
    await node.waitFor({ timeout: WAIT_MS });
    expect(await node.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    await post(server.url, metaStatus('wamid.OUT2', 'failed', [ERROR_131047]));
    await node.locator('.error-badge').waitFor({ timeout: WAIT_MS });
    expect(await node.locator('.error-badge').textContent()).toBe('131047: Re-engagement message');
    expect(await node.locator('.tick').getAttribute('aria-label')).toBe('failed');
    expect(await node.getByRole('button', { name: 'Retry' }).isVisible()).toBe(true);
    // The list, too, says the conversation's last message did not go, with the provider's reason.
    const mark = page.locator('.conversation-item', { hasText: 'Mona Aziz' }).locator('.preview-failed');
    await mark.waitFor({ timeout: WAIT_MS });
    expect(await mark.textContent()).toBe('Not sent');
    expect(await mark.getAttribute('title')).toBe('Not sent — 131047: Re-engagement message');
    // The delivered message beside it offers no retry.
    expect(await messageNode('msg_20260301120000_0000aa01').getByRole('button', { name: 'Retry' }).count()).toBe(0);
  });

  it('[AI7][AI5][AI6][AI2][§11] AI replies say what produced them; notices, markers, transcripts and quotes are shown', async () => {
    graph.addMedia('media-photo-k', { bytes: png(240, 160, [40, 120, 200]), mimeType: 'image/png' });
    await post(
      server.url,
      metaMessagesPayload('96170200002', 'Karim Nassar', [
        { id: 'wamid.K3', type: 'image', image: { id: 'media-photo-k', mime_type: 'image/png', caption: 'the broken part' } },
      ]),
    );
    const conversationId = await conversationIdOf(page, server.url, 'Karim Nassar');
    const voice = (id: string, status: string | null, transcript: string | null) => ({
      message_id: id,
      type: 'voice' as const,
      text: transcript,
      media: JSON.stringify({
        media_id: `md_${id}`,
        mime_type: 'audio/ogg',
        status: 'ready',
        caption: null,
        transcript,
        filename: null,
        size: 2048,
        ...(status ? { transcript_status: status } : {}),
      }),
    });
    await insertMessages(server, conversationId, [
      { message_id: 'wamid.K4', text: 'Do you deliver to Tripoli?' },
      {
        message_id: 'msg_20260301121000_0000bb01',
        role: 'assistant',
        text: 'Yes, we deliver to Tripoli every Tuesday.',
        status: 'read',
        provider_message_id: 'wamid.OUT.bb01',
        metadata: JSON.stringify({
          handled_by: 'faq',
          knowledge_id: 'kn_delivery',
          knowledge_question: 'Do you deliver outside Beirut?',
          score: 0.87,
        }),
      },
      {
        message_id: 'msg_20260301121001_0000bb02',
        role: 'assistant',
        text: 'Our shop opens at 9.',
        status: 'delivered',
        metadata: JSON.stringify({ handled_by: 'ai', model: 'gpt-4o-mini', latency_ms: 1240 }),
      },
      {
        message_id: 'msg_20260301121002_0000bb03',
        role: 'assistant',
        text: 'Could you tell me which product you mean?',
        status: 'sent',
        metadata: JSON.stringify({ handled_by: 'ai', model: 'gpt-4o-mini', clarifying: true }),
      },
      {
        message_id: 'msg_20260301121003_0000bb04',
        role: 'system',
        text: 'An operator will be with you shortly.',
        status: 'delivered',
        metadata: JSON.stringify({ notice: 'handover_requested' }),
      },
      voice('wamid.K5', 'pending', null),
      voice('wamid.K6', 'failed', null),
      voice('wamid.K7', 'done', 'I would like two of them'),
      {
        message_id: 'msg_20260301121004_0000bb05',
        role: 'system',
        type: 'event',
        text: null,
        metadata: JSON.stringify({ event: 'released' }),
        operator_name: 'Admin',
      },
      {
        message_id: 'msg_20260301121005_0000bb06',
        role: 'operator',
        text: 'Tuesday it is.',
        status: 'delivered',
        reply_to: 'wamid.K4',
        operator_name: 'Admin',
      },
      {
        message_id: 'msg_20260301121006_0000bb07',
        role: 'operator',
        text: 'About your first question…',
        status: 'sent',
        reply_to: 'wamid.not-loaded',
        operator_name: 'Admin',
      },
    ]);
    await open('Mona Aziz');
    await open('Karim Nassar');
    await messageNode('msg_20260301121006_0000bb07').waitFor({ timeout: WAIT_MS });

    expect(await messageNode('msg_20260301121000_0000bb01').locator('[data-producer="faq"]').textContent()).toBe(
      ' · FAQ match 87%: “Do you deliver outside Beirut?”',
    );
    expect(await messageNode('msg_20260301121001_0000bb02').locator('[data-producer="ai"]').textContent()).toBe(' · gpt-4o-mini · 1.2 s');
    expect(await messageNode('msg_20260301121002_0000bb03').locator('[data-producer="ai"]').textContent()).toContain('clarifying question');
    // A notice is a system message sent to the customer: a bubble with its ticks, labelled automatic.
    expect(await messageNode('msg_20260301121003_0000bb04').locator('[data-producer="notice"]').textContent()).toBe(
      ' · automatic notice: hand-over requested',
    );
    expect(await messageNode('msg_20260301121003_0000bb04').locator('.tick').getAttribute('aria-label')).toBe('delivered');
    expect(
      await messageNode('msg_20260301121003_0000bb04')
        .getByRole('button', { name: /Save as Q&A|Correct the answer/ })
        .count(),
    ).toBe(0);
    expect(await messageNode('wamid.K5').locator('[data-transcript]').textContent()).toBe('Transcribing…');
    expect(await messageNode('wamid.K6').locator('[data-transcript]').textContent()).toBe('Transcript failed');
    expect(await messageNode('wamid.K7').locator('[data-transcript="done"]').textContent()).toBe('Transcript: I would like two of them');
    expect(await messageNode('msg_20260301121004_0000bb05').getAttribute('data-event')).toBe('released');
    expect(await messageNode('msg_20260301121004_0000bb05').textContent()).toContain('handed the conversation back to the AI');
    expect(await messageNode('msg_20260301121005_0000bb06').locator('.quote').textContent()).toBe('Do you deliver to Tripoli?');
    expect(await messageNode('msg_20260301121006_0000bb07').locator('.quote').textContent()).toBe('earlier message');
    // [ID9] The customer quotes the AI's reply, then reacts to it: both name it by the provider's id, shown as the reply quoted.
    await post(
      server.url,
      metaMessagesPayload('96170200002', 'Karim Nassar', [
        { id: 'wamid.K8', type: 'text', text: { body: 'Every Tuesday, even in August?' }, context: { id: 'wamid.OUT.bb01' } },
        { id: 'wamid.K9', type: 'reaction', reaction: { message_id: 'wamid.OUT.bb01', emoji: '👍' } },
      ]),
    );
    await messageNode('wamid.K9').waitFor({ timeout: WAIT_MS });
    expect(await messageNode('wamid.K8').locator('.quote').textContent()).toBe('Yes, we deliver to Tripoli every Tuesday.');
    expect(await messageNode('wamid.K9').locator('.reaction-line').textContent()).toBe('Reacted 👍 to');
    expect(await messageNode('wamid.K9').locator('.quote').textContent()).toBe('Yes, we deliver to Tripoli every Tuesday.');
    expect(await messageNode('wamid.K9').getByRole('button').count()).toBe(0);
    const preview = page.locator('.conversation-item', { hasText: 'Karim Nassar' }).locator('.preview-text');
    await expect.poll(() => preview.textContent(), { timeout: WAIT_MS }).toBe('Reacted 👍');
    // Teach actions: correct a FAQ answer, save a model's reply; nothing on customer messages.
    expect(await messageNode('msg_20260301121000_0000bb01').getByRole('button', { name: 'Correct the answer' }).count()).toBe(1);
    expect(await messageNode('msg_20260301121001_0000bb02').getByRole('button', { name: 'Save as Q&A' }).count()).toBe(1);
    expect(
      await messageNode('wamid.K4')
        .getByRole('button', { name: /Save as Q&A|Correct the answer/ })
        .count(),
    ).toBe(0);
  });

  it('[§11] a photo opens in a viewer with the full image; Escape closes it', async () => {
    const photo = messageNode('wamid.K3').getByRole('button', { name: 'Open photo: the broken part' });
    await photo.scrollIntoViewIfNeeded();
    await photo.click();
    const viewer = page.getByRole('dialog', { name: 'Photo' });
    await viewer.waitFor({ timeout: WAIT_MS });
    await expect
      .poll(() => viewer.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: WAIT_MS })
      .toBe(240);
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'detached', timeout: WAIT_MS });
  });

  it('[AI7][§11] "Save as Q&A" prefills the customer question it answered and the reply; axe passes on the dialog', async () => {
    await messageNode('msg_20260301121001_0000bb02').getByRole('button', { name: 'Save as Q&A' }).click();
    const dialog = page.getByRole('dialog', { name: 'Save as Q&A' });
    await dialog.waitFor({ timeout: WAIT_MS });
    // The nearest customer message before the reply.
    expect(await dialog.getByLabel('Question').inputValue()).toBe('Do you deliver to Tripoli?');
    expect(await dialog.getByLabel('Answer').inputValue()).toBe('Our shop opens at 9.');
    await dialog.getByLabel('Question').fill('');
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    expect(await dialog.getByRole('alert').textContent()).toBe('Both the question and the answer are needed.');
    await expectNoSeriousViolations('teach dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached', timeout: WAIT_MS });

    await messageNode('msg_20260301121000_0000bb01').getByRole('button', { name: 'Correct the answer' }).click();
    const correct = page.getByRole('dialog', { name: 'Correct the answer' });
    await correct.waitFor({ timeout: WAIT_MS });
    expect(await correct.locator('[data-field="faq-match"]').textContent()).toBe(
      'Matched the stored question “Do you deliver outside Beirut?” with score 87%.',
    );
    expect(await correct.getByRole('button', { name: 'Save in place' }).isEnabled()).toBe(true);
    expect(await correct.getByRole('button', { name: 'Save as new entry' }).count()).toBe(1);
    await page.keyboard.press('Escape');
    await correct.waitFor({ state: 'detached', timeout: WAIT_MS });
  });

  it('[§11] axe finds no serious violation on the list and thread; the details panel shows language, hand-over, window and counts', async () => {
    await expectNoSeriousViolations('list + thread');
    expect(await page.locator('.details [data-field="language"]').textContent()).toBe('not detected yet');
    expect(await page.locator('.details [data-field="window"]').getAttribute('data-window')).toBe('open');
    expect(await page.locator('.details [data-field="window"]').textContent()).toMatch(/^open, (23 h \d\d|24 h 00) min left/);
    expect(await page.locator('.details [data-field="counts"]').textContent()).toMatch(/^\d+ \/ 0$/);
  });

  it('[§11] keyboard: arrow keys move between conversations, Enter opens one, focus is visible', async () => {
    const items = page.locator('.conversation-list .conversation-item');
    const names = await items.locator('.name').allTextContents();
    expect(names.length).toBeGreaterThanOrEqual(3);
    await items.first().focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => document.activeElement?.querySelector('.name')?.textContent)).toBe(names[1]);
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    expect(await page.evaluate(() => document.activeElement?.querySelector('.name')?.textContent)).toBe(names[0]);
    await page.keyboard.press('End');
    expect(await page.evaluate(() => document.activeElement?.querySelector('.name')?.textContent)).toBe(names.at(-1));
    await page.keyboard.press('Enter');
    await page.locator('.thread-header h2', { hasText: names.at(-1)! }).waitFor({ timeout: WAIT_MS });
  });

  it(`[§11] a ${THREAD_SIZE}-message thread: the DOM holds a bounded number of rows; scrolling up loads every page in order, keeping the place`, async () => {
    await post(server.url, metaMessagesPayload('96170200009', 'Omar Khalil', [text('wamid.T0', 'start')]));
    const conversationId = await conversationIdOf(page, server.url, 'Omar Khalil');
    const id = (i: number) => `wamid.T${String(i).padStart(5, '0')}`;
    await insertMessages(
      server,
      conversationId,
      Array.from({ length: THREAD_SIZE }, (_, i) => ({
        message_id: id(i + 1),
        text: `line ${i + 1}${i % 7 === 0 ? '\nwith a second line' : ''}`,
      })),
    );
    await open('Omar Khalil');
    await messageNode(id(THREAD_SIZE)).waitFor({ timeout: WAIT_MS });
    expect(await messageNode(id(THREAD_SIZE)).isVisible()).toBe(true);

    // One page up: the row at the top stays where it was. The page is held until that row is noted.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const isOlderPage = (url: URL) => url.pathname.endsWith('/messages') && url.searchParams.has('before_seq');
    await page.route(isOlderPage, async (route) => {
      await held;
      await route.continue();
    });
    const olderRequest = page.waitForRequest((r) => isOlderPage(new URL(r.url())), { timeout: WAIT_MS });
    await messagesPane().evaluate((el) => {
      el.scrollTop = 0;
    });
    await olderRequest;
    await page.waitForTimeout(200);
    const before = await page.evaluate(() => {
      const pane = document.querySelector('.messages')!;
      const top = pane.getBoundingClientRect().top;
      const row = Array.from(pane.querySelectorAll('[data-message-id]')).find((el) => el.getBoundingClientRect().bottom > top)!;
      return { id: row.getAttribute('data-message-id')!, y: row.getBoundingClientRect().top };
    });
    release();
    await expect.poll(async () => (await rowIds()).some((x) => x < before.id && x.startsWith('wamid.T')), { timeout: WAIT_MS }).toBe(true);
    await page.unroute(isOlderPage);
    const after = await messageNode(before.id).evaluate((el) => el.getBoundingClientRect().top);
    expect(Math.abs(after - before.y)).toBeLessThan(8);

    // All the way up, a page at a time; the DOM stays bounded throughout.
    // 100 pages of 100: bounded by time, not by rounds (a busy CI machine takes longer per page).
    let maxRows = 0;
    for (const until = Date.now() + 150_000; Date.now() < until;) {
      const ids = await rowIds();
      maxRows = Math.max(maxRows, ids.length);
      if (ids.includes('wamid.T0')) break;
      await messagesPane().evaluate((el) => {
        el.scrollTop = 0;
      });
      await page.waitForTimeout(25);
    }
    // The last page keeps the place too: the row that was on top stays put, so the first message may
    // sit above the viewport, outside the rendered window. Back at the top, it is shown.
    await expect
      .poll(
        async () => {
          await messagesPane().evaluate((el) => {
            el.scrollTop = 0;
          });
          return messageNode('wamid.T0').isVisible();
        },
        { timeout: WAIT_MS },
      )
      .toBe(true);
    expect(maxRows).toBeGreaterThan(5);
    expect(maxRows).toBeLessThanOrEqual(MAX_ROWS_IN_DOM);
    await page.locator('.load-older').waitFor({ state: 'detached', timeout: WAIT_MS });
    const top = await rowIds();
    expect(top.slice(0, 3)).toEqual(['wamid.T0', id(1), id(2)]);
    // Every message is in the store, once, in order: counted by the details panel.
    expect(await page.locator('.details dd', { hasText: 'older ones above' }).count()).toBe(0);
    expect(await page.locator('.details [data-field="counts"]').textContent()).toBe(`${THREAD_SIZE + 1} / 0`);
    // Back to the end by scrolling: the newest row is rendered again.
    await messagesPane().evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await messageNode(id(THREAD_SIZE)).waitFor({ timeout: WAIT_MS });
    expect((await rowIds()).length).toBeLessThanOrEqual(MAX_ROWS_IN_DOM);
  }, 300_000);

  it('[AI7][§11] the knowledge page is reachable from the navigation and passes axe', async () => {
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('button', { name: 'Knowledge' }).click();
    await page.getByRole('heading', { name: 'Knowledge base' }).waitFor({ timeout: WAIT_MS });
    expect(new URL(page.url()).pathname).toBe('/knowledge');
    await page.getByLabel('Search the knowledge base').waitFor({ timeout: WAIT_MS });
    await expectNoSeriousViolations('knowledge page');
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('button', { name: 'Conversations' }).click();
    await page.locator('.thread-header h2').waitFor({ timeout: WAIT_MS });
  });
});
