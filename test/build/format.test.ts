import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const PRETTIER = join(ROOT, 'node_modules', '.bin', 'prettier');

// One formatter for the code (.prettierrc.json; .prettierignore leaves out prose, data and
// fixtures): a change that is not formatted fails here, and `npm run format` formats it.
describe('the code is formatted', () => {
  it('prettier --check . finds nothing to change', async () => {
    let listed = '';
    let code = 0;
    try {
      await promisify(execFile)(PRETTIER, ['--list-different', '.'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      code = typeof e.code === 'number' ? e.code : 1;
      listed = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    expect(listed, 'files Prettier would change (run npm run format)').toBe('');
    expect(code).toBe(0);
  }, 120_000);
});
