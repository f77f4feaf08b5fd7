import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { deflateSync, crc32 } from 'node:zlib';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Running } from '../../src/main.js';
import { appendMessage, type NewMessage } from '../../src/store/message.store.js';
import { postMeta, TEST_SECRETS } from '../support/app.js';
import { sampleMessage } from '../support/store-fixtures.js';

/** Shared by the dashboard's browser suites: login, axe, rows written straight into the store. */

export const WAIT_MS = 15_000;

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** A real PNG (solid colour), so the browser can decode the photo it is served. */
export function png(width: number, height: number, rgb: [number, number, number]): Buffer {
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

/** POSTs a signed Meta webhook and expects 200. */
export async function post(baseUrl: string, payload: unknown): Promise<void> {
  const res = await postMeta(baseUrl, payload);
  expect(res.status).toBe(200);
}

export function text(id: string, body: string): Record<string, unknown> & { id: string } {
  return { id, type: 'text', text: { body } };
}

export async function logIn(
  page: Page,
  baseUrl: string,
  email: string = TEST_SECRETS.ADMIN_EMAIL,
  password: string = TEST_SECRETS.ADMIN_PASSWORD,
): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-connection="live"]').waitFor({ timeout: WAIT_MS });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/**
 * axe-core run in the page (WCAG 2.x A and AA rules). Returns the serious and critical violations,
 * each with the selectors that failed, so an assertion failure says what to fix.
 */
export async function seriousAxeViolations(page: Page): Promise<{ id: string; help: string; targets: string[] }[]> {
  // Evaluated through the DevTools protocol: the dashboard's CSP (script-src 'self') refuses a script tag.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, help: v.help, targets: v.nodes.map((n) => `${n.target.join(' ')} — ${n.failureSummary ?? ''}`) }));
}

/** The conversation id of the contact named `name`, through the API with the page's session. */
export async function conversationIdOf(page: Page, baseUrl: string, name: string): Promise<string> {
  const res = await page.request.get(`${baseUrl}/api/conversations?q=${encodeURIComponent(name)}`);
  expect(res.status()).toBe(200);
  const { conversations } = (await res.json()) as { conversations: { conversation_id: string; contact: { name: string } }[] };
  const found = conversations.find((c) => c.contact.name === name);
  if (!found) throw new Error(`no conversation for ${name}`);
  return found.conversation_id;
}

/**
 * Messages written straight into the store, in one transaction (no events: open the thread after).
 * For what no merged server path produces yet (AI metadata, outbound rows with a provider id).
 */
export async function insertMessages(
  server: Running,
  conversationId: string,
  messages: (Partial<NewMessage> & { message_id: string })[],
): Promise<void> {
  await server.ctx.store.db.transaction().execute(async (trx) => {
    for (const m of messages) await appendMessage(trx, conversationId, sampleMessage(m.message_id, m));
  });
}

/** A Meta status webhook for one of our messages, in the real format (REFERENCE §1.7). */
export function metaStatus(providerId: string, status: 'sent' | 'delivered' | 'read' | 'failed', errors?: unknown[]) {
  const item: Record<string, unknown> = {
    id: providerId,
    status,
    timestamp: String(Math.floor(Date.now() / 1000)),
    recipient_id: '96170200001',
  };
  if (errors) item.errors = errors;
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: TEST_SECRETS.META_PHONE_NUMBER_ID },
              statuses: [item],
            },
            field: 'messages',
          },
        ],
      },
    ],
  };
}

/** Records every `new Notification(…)` of the page in `window.__notifications` (the real one still runs). */
export const RECORD_NOTIFICATIONS = `
  (() => {
    const Real = window.Notification;
    if (!Real) return;
    window.__notifications = [];
    class Recorded extends Real {
      constructor(title, options) {
        window.__notifications.push({ title, body: options && options.body, tag: options && options.tag });
        super(title, options);
      }
    }
    window.Notification = Recorded;
  })();
`;
