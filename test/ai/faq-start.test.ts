import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));

describe('switchboard start with a malformed AI_KNOWLEDGE_FILE', () => {
  it('stops with exit code 2 and a message naming the entry, before listening', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-faq-start-'));
    const file = join(dir, 'knowledge.json');
    writeFileSync(
      file,
      JSON.stringify([
        { question: 'Open on Sundays?', answer: 'No.' },
        { question: 'Where are you?', answer: '' },
      ]),
    );
    const result = spawnSync(process.execPath, [BIN, 'start'], {
      env: {
        PATH: process.env.PATH,
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        DATABASE_URL: `sqlite:${join(dir, 'sb.db')}`,
        LOG_LEVEL: 'silent',
        AI_RESPONDER: 'faq',
        AI_KNOWLEDGE_FILE: file,
        ADMIN_EMAIL: 'admin@example.test',
        ADMIN_PASSWORD: 'admin-password-1',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain('switchboard: knowledge.json: entry 2 ("Where are you?"): the answer is empty');
    expect(result.stdout).not.toContain('Switchboard is running');
  });
});
