import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { MetaGraphFake } from '../fakes/meta-graph.fake.js';
import { metaMessagesPayload, postMeta, startTestServer, TEST_SECRETS } from '../support/app.js';
import { buildDashboard, hasChromium, isBrowserSuiteRequired, launchBrowser, type Browser } from './browser.js';

const WAIT_MS = 15_000;

type MetaMessage = Record<string, unknown> & { id: string };

const metaPayload = metaMessagesPayload;

function text(id: string, body: string, timestamp?: number): MetaMessage {
  return { id, type: 'text', text: { body }, ...(timestamp !== undefined ? { timestamp: String(timestamp) } : {}) };
}

/** A real PNG (solid colour), so the browser can decode the photo it is served. */
function png(width: number, height: number, rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())]);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * POSTs a signed webhook and expects 200. A connection the previous server closed (after a restart
 * on the same port) is retried, as providers redeliver: the webhook is idempotent [ID5].
 */
async function post(baseUrl: string, payload: unknown): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await postMeta(baseUrl, payload);
      expect(res.status).toBe(200);
      return;
    } catch (err) {
      if (!(err instanceof TypeError) || attempt === 3) throw err;
    }
  }
}

describe.runIf(hasChromium || isBrowserSuiteRequired)('dashboard in Chromium (SPEC §11)', () => {
  let browser: Browser;
  let graph: MetaGraphFake;
  let server: Running;
  let page: Page;
  let dataDir: string;
  let env: Record<string, string>;

  const messagesPane = () => page.locator('.messages');
  const messageNode = (id: string) => messagesPane().locator(`[data-message-id="${id}"]`);
  const listItem = (name: string) => page.locator('.conversation-list .conversation-item', { hasText: name });
  const threadIds = () => page.$$eval('.messages [data-message-id]', (els) => els.map((e) => e.getAttribute('data-message-id')!));

  /** Waits until the message is shown, then asserts it is shown exactly once [ID7]. */
  async function expectShownOnce(id: string): Promise<void> {
    await messageNode(id).first().waitFor({ timeout: WAIT_MS });
    expect(await messageNode(id).count()).toBe(1);
  }

  async function expectNoDuplicates(): Promise<string[]> {
    const ids = await threadIds();
    expect(new Set(ids).size).toBe(ids.length);
    return ids;
  }

  async function open(name: string): Promise<void> {
    await listItem(name).click();
    await page.locator('.thread-header h2', { hasText: name }).waitFor({ timeout: WAIT_MS });
  }

  beforeAll(async () => {
    browser = await launchBrowser();
    graph = await MetaGraphFake.start(TEST_SECRETS.META_ACCESS_TOKEN);
    await buildDashboard();
    dataDir = mkdtempSync(join(tmpdir(), 'sb-browser-'));
    // Responder `none`: every new conversation waits for an operator, which fills the hand-over queue.
    env = { DATA_DIR: dataDir, AI_RESPONDER: 'none', META_GRAPH_URL: graph.graphUrl };
    server = await startTestServer(env);
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
  }, 120_000);

  afterEach(async (context) => {
    if (context.task.result?.state !== 'fail' || !page) return;
    const file = join(tmpdir(), `sb-dashboard-failure-${Date.now()}.png`);
    await page.screenshot({ path: file }).catch(() => {});
    console.error(`dashboard screenshot at failure: ${file}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await graph?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('[§11][§10] logs in (a wrong password is refused on screen) and opens the live stream', async () => {
    await page.goto(`${server.url}/`);
    await page.getByLabel('Email').fill(TEST_SECRETS.ADMIN_EMAIL);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong email or password' }).waitFor({ timeout: WAIT_MS });

    await page.getByLabel('Password').fill(TEST_SECRETS.ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-connection="live"]').waitFor({ timeout: WAIT_MS });

    await page.getByLabel('My status').selectOption('busy');
    await expect
      .poll(async () => (await (await page.request.get(`${server.url}/api/operators/me/status`)).json()).status, { timeout: WAIT_MS })
      .toBe('busy');
  });

  it('[§11][ID7] webhook messages appear live in the list and in the open thread, each exactly once', async () => {
    const from = '96170100001';
    await post(server.url, metaPayload(from, 'Rana Haddad', [text('wamid.A1', 'first message')]));
    await listItem('Rana Haddad').waitFor({ timeout: WAIT_MS });
    await listItem('Rana Haddad').locator('.unread-badge', { hasText: '1' }).waitFor({ timeout: WAIT_MS });

    await post(server.url, metaPayload(from, 'Rana Haddad', [text('wamid.A2', 'second message')]));
    await listItem('Rana Haddad').locator('.unread-badge', { hasText: '2' }).waitFor({ timeout: WAIT_MS });
    await listItem('Rana Haddad').locator('.preview', { hasText: 'second message' }).waitFor({ timeout: WAIT_MS });
    expect(await listItem('Rana Haddad').count()).toBe(1);

    await open('Rana Haddad');
    await expectShownOnce('wamid.A1');
    await expectShownOnce('wamid.A2');
    // Opening it marks it read.
    await listItem('Rana Haddad').locator('.unread-badge').waitFor({ state: 'detached', timeout: WAIT_MS });

    await post(server.url, metaPayload(from, 'Rana Haddad', [text('wamid.A3', 'third, while open')]));
    await expectShownOnce('wamid.A3');
    // A redelivery changes nothing [ID5]; the later A4 proves every event before it was handled.
    await post(server.url, metaPayload(from, 'Rana Haddad', [text('wamid.A3', 'third, while open')]));
    await post(server.url, metaPayload(from, 'Rana Haddad', [text('wamid.A4', 'fourth')]));
    await expectShownOnce('wamid.A4');
    expect(await expectNoDuplicates()).toEqual(['wamid.A1', 'wamid.A2', 'wamid.A3', 'wamid.A4']);
    expect(await messageNode('wamid.A3').locator('.text').textContent()).toBe('third, while open');
    expect(await listItem('Rana Haddad').count()).toBe(1);
  });

  it('[§11][AI4] the waiting conversation is in the customer queue with its waiting time; Take over makes it ours', async () => {
    const queued = page.locator('[data-queue="user"] li', { hasText: 'Rana Haddad' });
    await queued.waitFor({ timeout: WAIT_MS });
    expect(await queued.locator('.waited').textContent()).toMatch(/^\d+ (s|min)$/);
    expect(await page.locator('[data-queue="ai"] li').count()).toBe(0);

    await queued.getByRole('button', { name: 'Take over' }).click();
    await page.locator('.thread-header [data-state="operator"]').waitFor({ timeout: WAIT_MS });
    await queued.waitFor({ state: 'detached', timeout: WAIT_MS });
    expect(await page.getByLabel('Reply').isEnabled()).toBe(true);
    expect(await page.locator('.details [data-field="operator"]').textContent()).not.toBe('—');
  });

  it('[§11][OUT2][ID3] an operator reply appears once, although the POST answer and the SSE event both carry it', async () => {
    await page.getByLabel('Reply').fill('Hello Rana, Ana here.');
    await page.getByLabel('Reply').press('Enter');
    const mine = messagesPane().locator('.role-operator', { hasText: 'Hello Rana, Ana here.' });
    await mine.first().waitFor({ timeout: WAIT_MS });
    const id = (await mine.first().getAttribute('data-message-id'))!;
    expect(id).toMatch(/^msg_\d{14}_[0-9a-f]{8}$/);
    expect(await page.getByLabel('Reply').inputValue()).toBe('');
    // The list's preview names who wrote it apart from the text.
    const preview = listItem('Rana Haddad').locator('.preview');
    await preview.locator('.preview-text', { hasText: 'Hello Rana, Ana here.' }).waitFor({ timeout: WAIT_MS });
    expect(await preview.locator('.preview-who').textContent()).toBe('Operator:');

    // Events arrive in log order: once A5 is shown, the reply's own new_message was handled too.
    await post(server.url, metaPayload('96170100001', 'Rana Haddad', [text('wamid.A5', 'thanks!')]));
    await expectShownOnce('wamid.A5');
    expect(await messageNode(id).count()).toBe(1);
    expect(await mine.count()).toBe(1);
    const ids = await expectNoDuplicates();
    expect(ids.indexOf(id)).toBe(ids.indexOf('wamid.A5') - 1);
    expect(await messageNode(id).locator('.tick').getAttribute('aria-label')).toBe('sending');
  });

  it('[§11][AI5] release without an AI (AI_RESPONDER=none): "Back to queue", never "Hand back to AI"; the composer is disabled with the reason, the marker is shown', async () => {
    expect(await page.getByRole('button', { name: 'Hand back to AI' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Back to queue' }).click();
    await page.locator('.thread-header [data-state="waiting"]').waitFor({ timeout: WAIT_MS });
    expect(await page.getByLabel('Reply').isDisabled()).toBe(true);
    expect(await page.locator('[data-composer-block]').textContent()).toBe('Take over the conversation to reply.');
    await messagesPane().locator('.message.system', { hasText: 'put the conversation back in the queue' }).waitFor({ timeout: WAIT_MS });
    // Waiting, with no AI to release it to: nothing more to release.
    expect(await page.getByRole('button', { name: 'Back to queue' }).count()).toBe(0);
    await expectNoDuplicates();
  });

  it('[§10] message text is rendered as text, never as HTML', async () => {
    const body = '<img src=x onerror="window.__sbInjected=1"><b>bold</b> & <script>window.__sbInjected=2</script>';
    await post(server.url, metaPayload('96170100001', 'Rana Haddad', [text('wamid.A6', body)]));
    await expectShownOnce('wamid.A6');
    expect(await messageNode('wamid.A6').locator('.text').textContent()).toBe(body);
    expect(await messageNode('wamid.A6').locator('img, b, script').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __sbInjected?: number }).__sbInjected)).toBeUndefined();
  });

  it('[§11] an Arabic name and message read right to left in the list: the preview starts with its first word and is cut at its end', async () => {
    const name = 'رنا حداد';
    const body = 'مرحبا، أريد حجز موعد لتنظيف الأسنان يوم الثلاثاء القادم بعد الظهر إذا كان ذلك ممكنا من فضلكم';
    await post(server.url, metaPayload('96170100009', name, [text('wamid.AR1', body)]));
    const item = listItem(name);
    await item.locator('.preview-text', { hasText: 'مرحبا' }).waitFor({ timeout: WAIT_MS });
    const shown = await item.evaluate((el) => {
      const textEl = el.querySelector('.preview-text') as HTMLElement;
      const nameEl = el.querySelector('.name') as HTMLElement;
      const node = textEl.firstChild as Text;
      const firstWord = document.createRange();
      firstWord.setStart(node, 0);
      firstWord.setEnd(node, node.data.indexOf(' '));
      const word = firstWord.getBoundingClientRect();
      const box = textEl.getBoundingClientRect();
      return {
        text: textEl.textContent,
        direction: getComputedStyle(textEl).direction,
        nameDirection: getComputedStyle(nameEl).direction,
        cut: textEl.scrollWidth > textEl.clientWidth,
        firstWordInside: word.left >= box.left - 1 && word.right <= box.right + 1,
        firstWordAtRight: box.right - word.right < 4,
      };
    });
    expect(shown).toEqual({
      text: body,
      direction: 'rtl',
      nameDirection: 'rtl',
      cut: true,
      firstWordInside: true,
      firstWordAtRight: true,
    });
    expect(await item.locator('.preview-who').count()).toBe(0);
  });

  it('[§11] on a 1024 px screen the open thread keeps at least half the width, the list and the details beside it', async () => {
    await page.setViewportSize({ width: 1024, height: 700 });
    try {
      await open('Rana Haddad');
      const width = (selector: string) => page.locator(selector).evaluate((el) => el.getBoundingClientRect().width);
      expect(await width('.main')).toBeGreaterThanOrEqual(512);
      expect(await width('.details')).toBeGreaterThanOrEqual(200);
      expect(await width('.conversation-list')).toBeGreaterThanOrEqual(280);
    } finally {
      await page.setViewportSize({ width: 1400, height: 860 });
    }
  });

  it('[§11][AI2] photos, documents and voice notes are shown from the authenticated media URL; provider errors as a badge', async () => {
    graph.addMedia('media-photo-1', { bytes: png(96, 64, [40, 120, 200]), mimeType: 'image/png' });
    graph.addMedia('media-doc-1', { bytes: Buffer.from('%PDF-1.4\n% test document\n'), mimeType: 'application/pdf' });
    graph.addMedia('media-voice-1', { bytes: Buffer.from('OggS fake voice note'), mimeType: 'audio/ogg; codecs=opus' });
    await post(
      server.url,
      metaPayload('96170100002', 'Karim Nassar', [
        { id: 'wamid.B1', type: 'image', image: { id: 'media-photo-1', mime_type: 'image/png', caption: 'the broken part' } },
        { id: 'wamid.B2', type: 'document', document: { id: 'media-doc-1', mime_type: 'application/pdf', filename: 'invoice-0042.pdf' } },
        { id: 'wamid.B3', type: 'audio', audio: { id: 'media-voice-1', mime_type: 'audio/ogg; codecs=opus', voice: true } },
        { id: 'wamid.B4', type: 'unsupported', unsupported: { type: 'edit' }, errors: [{ code: 131051, title: 'Message type unknown' }] },
      ]),
    );
    await listItem('Karim Nassar').waitFor({ timeout: WAIT_MS });
    await open('Karim Nassar');

    const photo = messageNode('wamid.B1').locator('img');
    await photo.waitFor({ timeout: WAIT_MS });
    const photoUrl = await photo.getAttribute('src');
    expect(photoUrl).toMatch(/^\/api\/media\/[^/]+$/);
    await expect.poll(() => photo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: WAIT_MS }).toBe(96);
    expect(await messageNode('wamid.B1').locator('.text').textContent()).toBe('the broken part');

    const doc = messageNode('wamid.B2').locator('a.document');
    await doc.waitFor({ timeout: WAIT_MS });
    const docUrl = await doc.getAttribute('href');
    expect(docUrl).toMatch(/^\/api\/media\/[^/]+$/);
    // The link serves the document's own bytes, with the session cookie.
    const docRes = await page.request.get(`${server.url}${docUrl}`);
    expect(docRes.status()).toBe(200);
    expect((await docRes.body()).toString()).toContain('% test document');
    expect(await doc.textContent()).toContain('invoice-0042.pdf');

    const voice = messageNode('wamid.B3').locator('audio');
    await voice.waitFor({ timeout: WAIT_MS });
    const voiceUrl = await voice.getAttribute('src');
    expect(new Set([photoUrl, docUrl, voiceUrl]).size).toBe(3);

    expect(await messageNode('wamid.B4').locator('.error-badge').textContent()).toBe('131051: Message type unknown');
    expect(await expectNoDuplicates()).toEqual(['wamid.B1', 'wamid.B2', 'wamid.B3', 'wamid.B4']);
  });

  it("[§11][§3 window] after the 24 h window the owner's composer is disabled with the reason", async () => {
    const twoDaysAgo = Math.floor(Date.now() / 1000) - 2 * 24 * 3600;
    await post(server.url, metaPayload('96170100003', 'Layla Saad', [text('wamid.C1', 'are you open on sunday?', twoDaysAgo)]));
    await listItem('Layla Saad').waitFor({ timeout: WAIT_MS });
    await open('Layla Saad');
    await page.locator('.thread-header').getByRole('button', { name: 'Take over', exact: true }).click();
    await page.locator('.thread-header [data-state="operator"]').waitFor({ timeout: WAIT_MS });
    expect(await page.getByLabel('Reply').isDisabled()).toBe(true);
    expect(await page.locator('[data-composer-block]').textContent()).toContain('24-hour window closed');
  });

  it('[§11][§7 owned_by_other] a takeover by another operator shows live; only the owner may write', async () => {
    await open('Karim Nassar');
    const created = await page.request.post(`${server.url}/api/operators`, {
      data: { email: 'ben@example.test', name: 'Ben Operator', role: 'operator', password: 'ben-password-1' },
    });
    expect(created.status()).toBe(201);
    const login = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ben@example.test', password: 'ben-password-1' }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const conversationId = (await page.locator('.thread').getAttribute('data-thread-id'))!;
    const takeover = await fetch(`${server.url}/api/conversations/${conversationId}/takeover`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: '{}',
    });
    expect(takeover.status).toBe(200);

    await page.locator('.thread-header [data-state="operator"]', { hasText: 'Ben Operator' }).waitFor({ timeout: WAIT_MS });
    expect(await page.getByLabel('Reply').isDisabled()).toBe(true);
    expect(await page.locator('[data-composer-block]').textContent()).toBe('Ben Operator is handling this conversation.');
    // The admin may force it; a plain Take over is not offered.
    expect(await page.locator('.thread-header').getByRole('button', { name: 'Force take over' }).count()).toBe(1);
    expect(await page.locator('.thread-header').getByRole('button', { name: 'Take over', exact: true }).count()).toBe(0);
    expect(await page.locator('[data-queue] li', { hasText: 'Karim Nassar' }).count()).toBe(0);
  });

  it('[§11] a long thread shows its latest page, oldest at the top, and loads older pages on scroll-up', async () => {
    const ids = Array.from({ length: 70 }, (_, i) => `wamid.D${String(i + 1).padStart(3, '0')}`);
    await post(
      server.url,
      metaPayload(
        '96170100004',
        'Omar Khalil',
        ids.map((id, i) => text(id, `line ${i + 1}`)),
      ),
    );
    await listItem('Omar Khalil').waitFor({ timeout: WAIT_MS });
    await open('Omar Khalil');
    await expectShownOnce('wamid.D070');
    expect(await messageNode('wamid.D001').count()).toBe(0);
    // The first page is scrolled to its end: the newest message is in view.
    expect(await messageNode('wamid.D070').isVisible()).toBe(true);

    // A loaded page keeps the reader's place (the row at the top stays put): scroll up again to reach it.
    // A time budget, not a number of rounds: on a loaded machine each page takes longer to arrive.
    for (const deadline = Date.now() + 60_000; Date.now() < deadline && (await messageNode('wamid.D001').count()) === 0;) {
      await messagesPane().evaluate((el) => {
        el.scrollTop = 0;
      });
      await page.waitForTimeout(100);
    }
    // The last page is in: no more to load. The view settles as the new rows are measured (the
    // place is kept by the row at the top), so the first message is looked for at the top until
    // it is there, and then it is there once.
    await page.locator('.load-older').waitFor({ state: 'detached', timeout: WAIT_MS });
    await expect
      .poll(
        async () => {
          await messagesPane().evaluate((el) => {
            el.scrollTop = 0;
          });
          return messageNode('wamid.D001').count();
        },
        { timeout: WAIT_MS },
      )
      .toBe(1);
    // The list is virtualised: the rows in the DOM are a run of the thread, in order, from its start.
    const top = await expectNoDuplicates();
    expect(top).toEqual(ids.slice(0, top.length));
    await messagesPane().evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await expectShownOnce('wamid.D070');
    const bottom = await expectNoDuplicates();
    expect(bottom).toEqual(ids.slice(-bottom.length));
  }, 120_000);

  it('[RT1][§11] across a server restart the badge shows reconnecting, then live; messages sent meanwhile arrive once, by resuming', async () => {
    await open('Rana Haddad');
    await expectShownOnce('wamid.A6');
    const port = new URL(server.url).port;
    // Hold the stream down until the messages are in, so they can only arrive by the resume.
    await page.route('**/api/events**', (route) => route.abort());
    await server.close();
    await page.locator('[data-connection="reconnecting"]').waitFor({ timeout: WAIT_MS });

    server = await startTestServer({ ...env, PORT: port });
    await post(server.url, metaPayload('96170100001', 'Rana Haddad', [text('wamid.A7', 'are you still there?')]));
    await post(server.url, metaPayload('96170100001', 'Rana Haddad', [text('wamid.A8', 'hello?')]));
    expect(await messageNode('wamid.A7').count()).toBe(0);

    const resumed = page.waitForRequest((r) => r.url().includes('/api/events'), { timeout: WAIT_MS });
    await page.unroute('**/api/events**');
    const request = await resumed;
    const resumeFrom = (await request.allHeaders())['last-event-id'] ?? new URL(request.url()).searchParams.get('last_event_id');
    expect(resumeFrom).toMatch(/^\d+$/);
    await expectShownOnce('wamid.A7');
    await expectShownOnce('wamid.A8');
    await page.locator('[data-connection="live"]').waitFor({ timeout: WAIT_MS });
    const ids = await expectNoDuplicates();
    expect(ids.slice(-2)).toEqual(['wamid.A7', 'wamid.A8']);
  }, 60_000);

  it("[§8 reset][§11] after a restore from backup the browser's position is unknown: reset, the dashboard reloads everything and stays live", async () => {
    await open('Rana Haddad');
    const port = new URL(server.url).port;
    const db = join(dataDir, 'switchboard.db');
    const backup = join(dataDir, 'backup.db');
    // A backup taken with the server stopped (closing checkpoints the WAL into the file).
    await server.close();
    copyFileSync(db, backup);
    server = await startTestServer({ ...env, PORT: port });
    for (let i = 1; i <= 3; i++) {
      await post(server.url, metaPayload('96170100001', 'Rana Haddad', [text(`wamid.lost${i}`, `lost ${i}`)]));
    }
    await expectShownOnce('wamid.lost3');

    await server.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${db}${suffix}`, { force: true });
    copyFileSync(backup, db);
    server = await startTestServer({ ...env, PORT: port });
    await post(server.url, metaPayload('96170100009', 'Nadia Fares', [text('wamid.N1', 'first after the restore')]));

    // Only a reload can remove what the restored database no longer has.
    await messageNode('wamid.lost3').waitFor({ state: 'detached', timeout: WAIT_MS });
    expect(await messagesPane().locator('[data-message-id^="wamid.lost"]').count()).toBe(0);
    await listItem('Nadia Fares').waitFor({ timeout: WAIT_MS });
    await page.locator('[data-connection="live"]').waitFor({ timeout: WAIT_MS });
    await expectShownOnce('wamid.A8');

    // Live again: what follows arrives as events.
    await post(server.url, metaPayload('96170100001', 'Rana Haddad', [text('wamid.A9', 'after the restore')]));
    await expectShownOnce('wamid.A9');
    await post(server.url, metaPayload('96170100009', 'Nadia Fares', [text('wamid.N2', 'second')]));
    await listItem('Nadia Fares').locator('.preview', { hasText: 'second' }).waitFor({ timeout: WAIT_MS });
    await expectNoDuplicates();
  }, 60_000);
});
