import { describe, expect, it } from 'vitest';
import { runTool } from './run-tool.js';

// One formatter for the code (.prettierrc.json; .prettierignore leaves out prose, data and
// fixtures): a change that is not formatted fails here, and `npm run format` formats it.
describe('the code is formatted', () => {
  it('prettier --check . finds nothing to change', async () => {
    const { code, output } = await runTool('prettier', ['--list-different', '.']);
    expect(output, 'files Prettier would change (run npm run format)').toBe('');
    expect(code).toBe(0);
  }, 120_000);
});
