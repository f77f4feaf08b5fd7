import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  it('PG_PREPARED_STATEMENTS: on by default, off when asked; anything else stops the start naming it', () => {
    expect(loadConfig({}).pgPreparedStatements).toBe(true);
    expect(loadConfig({ PG_PREPARED_STATEMENTS: 'on' }).pgPreparedStatements).toBe(true);
    expect(loadConfig({ PG_PREPARED_STATEMENTS: 'off' }).pgPreparedStatements).toBe(false);
    expect(() => loadConfig({ PG_PREPARED_STATEMENTS: 'sometimes' })).toThrow(ConfigError);
    expect(() => loadConfig({ PG_PREPARED_STATEMENTS: 'sometimes' })).toThrow(/PG_PREPARED_STATEMENTS/);
  });

  it('[AI6] AI_NOTICES: every kind by default, none, or a list; an unknown kind stops the start naming it', () => {
    expect(loadConfig({}).ai.notices).toEqual(['handover_requested', 'operator_joined', 'conversation_ended', 'handed_back']);
    expect(loadConfig({ AI_NOTICES: 'none' }).ai.notices).toEqual([]);
    expect(loadConfig({ AI_NOTICES: 'handover_requested, conversation_ended' }).ai.notices).toEqual([
      'handover_requested',
      'conversation_ended',
    ]);
    expect(() => loadConfig({ AI_NOTICES: 'handover_requested,goodbye' })).toThrow(/AI_NOTICES="handover_requested,goodbye"/);
  });
});
