import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { spoolUpload } from './spool-upload.js';

describe('spoolUpload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('[§10 media] a body that fails before the temp file is open leaves no temp file behind', async () => {
    for (let i = 0; i < 100; i++) {
      const body = new Readable({
        read() {
          setImmediate(() => this.destroy(new Error('cut short')));
        },
      });
      await expect(spoolUpload(body, dir, 1000)).rejects.toThrow('cut short');
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a body over the limit is refused with payload_too_large and leaves no temp file', async () => {
    await expect(spoolUpload(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), dir, 1000)).rejects.toMatchObject({
      code: 'payload_too_large',
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a body within the limit is spooled with its size, hash and head', async () => {
    const got = await spoolUpload(Readable.from([Buffer.from('hello ')]), dir, 1000);
    expect(got).toMatchObject({ size: 6, sha256: '5e3235a8346e5a4585f8c58562f5052b8fe26a3bb122e1e96c76784964dfc461' });
    expect(got.head.toString()).toBe('hello ');
    rmSync(got.path);
  });
});
