import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { metaMessagesPayload, startTestServer } from '../support/app.js';
import { META_BUSINESS, metaEnvelope } from '../support/webhook-senders.js';
import { buildDashboard, hasChromium, isBrowserSuiteRequired, launchBrowser, type Browser } from './browser.js';
import { logIn, post, seriousAxeViolations, text, WAIT_MS } from './dashboard-helpers.js';

/*
 * A message's later life in the dashboard (issue 16, docs/SPEC-lifecycle.md): an edit arriving
 * while the thread is open shows the new text and "edited" with the earlier version; a revoke
 * replaces the message by "This message was deleted"; number and identity changes are event lines.
 * The screenshot docs/dashboard-lifecycle.png is taken here.
 */

const DOCS = join(import.meta.dirname, '..', '..', 'docs');
const FROM = '96170300001';

describe.runIf(hasChromium || isBrowserSuiteRequired)('dashboard: edited, deleted and system messages in Chromium (issue 16)', () => {
  let browser: Browser;
  let server: Running;
  let page: Page;
  let dataDir: string;

  const messageNode = (id: string) => page.locator(`.messages [data-message-id="${id}"]`);

  beforeAll(async () => {
    browser = await launchBrowser();
    await buildDashboard();
    dataDir = mkdtempSync(join(tmpdir(), 'sb-lifecycle-'));
    server = await startTestServer({ DATA_DIR: dataDir, AI_RESPONDER: 'none' });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.setViewportSize({ width: 1280, height: 800 });
  }, 120_000);

  afterEach(async (context) => {
    if (context.task.result?.state !== 'fail' || !page) return;
    const file = join(tmpdir(), `sb-lifecycle-failure-${Date.now()}.png`);
    await page.screenshot({ path: file }).catch(() => {});
    console.error(`dashboard screenshot at failure: ${file}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('[ED1][RV1][SY1] an edit shows the new text and "edited" with the earlier version; a revoke shows the deleted notice; event lines for number and identity', async () => {
    await post(
      server.url,
      metaMessagesPayload(FROM, 'Layla Haddad', [
        text('wamid.LC.1', 'Hi, can I book a table for 2 at 7pm?'),
        text('wamid.LC.2', 'My card number is 4242 4242 4242 4242'),
      ]),
    );
    await logIn(page, server.url);
    await page.locator('.conversation-list .conversation-item', { hasText: 'Layla Haddad' }).click();
    await messageNode('wamid.LC.2').waitFor({ timeout: WAIT_MS });

    // Live, over SSE: the edit and the revoke arrive while the thread is open.
    await post(
      server.url,
      metaMessagesPayload(FROM, 'Layla Haddad', [
        {
          id: 'wamid.LC.1.edit',
          type: 'edit',
          edit: { original_message_id: 'wamid.LC.1', message: { type: 'text', text: { body: 'Hi, can I book a table for 3 at 7pm?' } } },
        },
        { id: 'wamid.LC.2.revoke', type: 'revoke', revoke: { original_message_id: 'wamid.LC.2' } },
      ]),
    );
    const edited = messageNode('wamid.LC.1');
    await expect.poll(() => edited.locator('.text').textContent(), { timeout: WAIT_MS }).toBe('Hi, can I book a table for 3 at 7pm?');
    expect(await edited.getAttribute('data-edited')).toBe('true');
    const mark = edited.getByRole('button', { name: 'edited' });
    expect(await mark.getAttribute('title')).toContain('Hi, can I book a table for 2 at 7pm?');

    const deleted = messageNode('wamid.LC.2');
    await expect.poll(() => deleted.textContent(), { timeout: WAIT_MS }).toContain('This message was deleted');
    expect(await deleted.getAttribute('data-deleted')).toBe('true');
    expect(await page.locator('.messages').textContent()).not.toContain('4242');
    await expect
      .poll(() => page.locator('.conversation-list .conversation-item', { hasText: 'Layla Haddad' }).textContent(), { timeout: WAIT_MS })
      .toContain('This message was deleted');

    await post(
      server.url,
      metaEnvelope([
        {
          metadata: META_BUSINESS,
          messages: [
            {
              from: FROM,
              id: 'wamid.LC.sys.1',
              timestamp: String(Math.floor(Date.now() / 1000)),
              type: 'system',
              system: {
                body: `Layla Haddad changed from ${FROM} to 96170300009`,
                wa_id: '96170300009',
                type: 'user_changed_number',
                customer: FROM,
              },
            },
            {
              from: '96170300009',
              id: 'wamid.LC.sys.2',
              timestamp: String(Math.floor(Date.now() / 1000)),
              type: 'system',
              system: { body: "Layla Haddad's security code changed", identity: 'c0ffee', type: 'customer_identity_changed' },
            },
          ],
        },
      ]),
    );
    const numberLine = page.locator('.messages .message.system[data-event="user_changed_number"]');
    await numberLine.waitFor({ timeout: WAIT_MS });
    expect(await numberLine.textContent()).toContain('changed from 96170300001 to 96170300009');
    // The identity notice comes from the new number: the contact moved, so it is the same thread.
    const identityLine = page.locator('.messages .message.system[data-event="customer_identity_changed"]');
    await identityLine.waitFor({ timeout: WAIT_MS });
    expect(await identityLine.textContent()).toContain('security code changed');

    await mark.click();
    const history = edited.getByRole('region', { name: 'Earlier versions' });
    await history.waitFor({ timeout: WAIT_MS });
    expect(await history.textContent()).toContain('Hi, can I book a table for 2 at 7pm?');
    expect(await seriousAxeViolations(page)).toEqual([]);
    // The README's picture is rewritten only on purpose (SCREENSHOTS=1), like the other screenshots.
    const shot = await page.screenshot(process.env.SCREENSHOTS === '1' ? { path: join(DOCS, 'dashboard-lifecycle.png') } : {});
    expect(shot.length).toBeGreaterThan(10_000);
  });
});
