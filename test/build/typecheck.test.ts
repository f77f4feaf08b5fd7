import { describe, expect, it } from 'vitest';
import { runTool } from './run-tool.js';

/** Runs tsc on a project. */
const typecheck = (project: string) => runTool('tsc', ['--noEmit', '-p', project]);

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
