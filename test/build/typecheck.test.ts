import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

/** Runs tsc on a project; resolves with its exit code and what it printed. */
async function typecheck(project: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSC, ['--noEmit', '-p', project], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

// The type contracts (the wire-event map that `tx.emit` and the dashboard share, the API shapes)
// hold only if the sources are compiled: vitest strips types without checking them.
describe('the sources type-check', () => {
  it('the server, its tests and benches (tsconfig.json), with test/build/wire-events.typecheck.ts among them', async () => {
    const { code, output } = await typecheck('.');
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 180_000);

  it("the dashboard (web/tsconfig.json), which reads the server's shapes from src/api/types.ts", async () => {
    const { code, output } = await typecheck('web');
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 180_000);
});
