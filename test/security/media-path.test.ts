import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request as httpRequest } from 'node:http';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaFilePath } from '../../src/app/download-media.js';
import type { Running } from '../../src/main.js';
import { ApiClient, loginAdmin } from '../api/api-client.js';
import { sampleBytes } from '../media/support.js';
import { metaTextPayload, postMeta, startTestServer } from '../support/app.js';

/**
 * Issue 14: a media id is a database key, never a path. Traversal in every spelling (raw, encoded,
 * double-encoded, backslashes, NUL, absolute, very long) reaches no file, inside or outside the
 * media store; an uploaded file's name does not choose where it is written.
 */
const SECRET = 'TOP-SECRET-OUTSIDE-THE-MEDIA-STORE';
let server: Running;
let admin: ApiClient;
let dataDir: string;

beforeAll(async () => {
  // DATA_DIR inside a folder of our own, so "outside the store" is a place only this test writes to
  const root = mkdtempSync(join(tmpdir(), 'sb-sec-path-'));
  mkdirSync(join(root, 'data'));
  server = await startTestServer({ DATA_DIR: join(root, 'data'), DATABASE_URL: `sqlite:${join(root, 'data', 'sb.db')}` });
  dataDir = server.ctx.config.dataDir;
  admin = await loginAdmin(server.url);
  writeFileSync(join(dataDir, 'secret.txt'), SECRET);
  writeFileSync(join(dataDir, '..', `sb-secret-${process.pid}.txt`), SECRET);
});
afterAll(async () => {
  await server?.close();
});

/** A raw GET, the path sent byte for byte (fetch and URL would normalise `..` away). */
function rawGet(path: string, cookie: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', headers: { cookie } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

describe('media ids are not paths', () => {
  it('[§7 media] traversal in every spelling reaches no file: 400/404, never the bytes, never a 5xx', async () => {
    const cookie = admin.credentials.cookie!;
    const ids = [
      '../secret.txt',
      '..%2Fsecret.txt',
      '..%2fsecret.txt',
      '%2e%2e%2fsecret.txt',
      '%2e%2e/secret.txt',
      '..%252Fsecret.txt',
      '..\\secret.txt',
      '..%5csecret.txt',
      '....//secret.txt',
      '%2e%2e%2f%2e%2e%2fsb-secret.txt',
      `..%2F..%2Fsb-secret-${process.pid}.txt`,
      'secret.txt',
      'switchboard.db',
      '%2Fetc%2Fpasswd',
      '%2fetc%2fpasswd',
      'C:%5CWindows%5Cwin.ini',
      'md_x%00.txt',
      '%00',
      'md_x%00..%2F..%2Fsecret.txt',
      'x'.repeat(5_000),
      `${'..%2F'.repeat(400)}etc%2Fpasswd`,
      '%c0%ae%c0%ae%2fsecret.txt',
      '%ef%bc%8e%ef%bc%8e%ef%bc%8fsecret.txt',
    ];
    const wrong: string[] = [];
    for (const id of ids) {
      for (const path of [`/api/media/${id}`, `/api/media/../media/${id}`, `/api/media/${id}?download=1`]) {
        const res = await rawGet(path, cookie);
        if (res.body.includes(SECRET) || res.body.includes('SQLite format') || res.body.includes('root:')) wrong.push(`${path}: leaked`);
        if (![400, 401, 404, 414, 431].includes(res.status)) wrong.push(`${path.slice(0, 80)}: ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
    // also through the dashboard's file serving and the static root
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2Fsecret.txt', '/assets/..%2F..%2Fsecret.txt', '/secret.txt']) {
      const res = await rawGet(path, cookie);
      expect(res.body, path).not.toContain(SECRET);
      // 503 is the "dashboard not built" page when web/dist does not exist (tests run without a build)
      if (res.status === 503) expect(res.body).toContain('dashboard is not built');
      else expect(res.status, path).toBeLessThan(500);
    }
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('[§7 media] mediaFilePath refuses any id that is not a plain token, so no stored path can leave the media folder', () => {
    for (const id of ['../x', 'a/b', 'a\\b', '/etc/passwd', 'x\0y', '.', '..', '', 'a b', '%2e%2e']) {
      expect(() => mediaFilePath(id, new Date().toISOString()), JSON.stringify(id)).toThrow(/unsafe media id/);
    }
    const path = mediaFilePath('md_0123abcd', '2026-12-03T10:00:00.000Z');
    expect(path).toBe(join('media', '2026', '12', 'md_0123abcd'));
  });

  it('[§7 media] an uploaded file named ../../…: stored under the media store with our own id, nothing written outside it', async () => {
    const before = new Set(files(join(dataDir, '..')).filter((p) => !p.startsWith(dataDir)));
    const wamid = `wamid.PATH${Date.now()}`;
    expect((await postMeta(server.url, metaTextPayload(wamid, '16505550177'))).status).toBe(200);
    const list = (await admin.get('/api/conversations')).body;
    const conversation = (list.conversations ?? list.items).find((c: any) => JSON.stringify(c).includes('16505550177'));
    const id = conversation.conversation_id ?? conversation.id;
    expect((await admin.post(`/api/conversations/${id}/takeover`, {})).status).toBe(200);
    const form = new FormData();
    form.set('type', 'document');
    form.set(
      'file',
      new Blob([new Uint8Array(sampleBytes(2_000, 'escape'))], { type: 'application/pdf' }),
      `../../../escape-${process.pid}.pdf`,
    );
    const res = await fetch(`${server.url}/api/conversations/${id}/messages`, {
      method: 'POST',
      body: form,
      headers: { cookie: admin.credentials.cookie!, 'x-requested-with': 'test' },
    });
    expect(res.status).toBeLessThan(500);
    const after = files(join(dataDir, '..')).filter((p) => !p.startsWith(dataDir) && !before.has(p));
    expect(after.filter((p) => p.includes('escape'))).toEqual([]);
    const inside = files(dataDir).map((p) => relative(dataDir, p));
    expect(inside.filter((p) => p.includes('escape'))).toEqual([]);
    if (res.status === 201 || res.status === 200) {
      const stored = await server.ctx.store.reader
        .selectFrom('media')
        .select(['media_id', 'storage_path'])
        .orderBy('created_at', 'desc')
        .executeTakeFirstOrThrow();
      expect(stored.storage_path).toMatch(/^media[\\/]\d{4}[\\/]\d{2}[\\/]md_[0-9a-f]+$/);
    }
  });
});
