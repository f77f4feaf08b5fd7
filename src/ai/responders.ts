import { readFileSync } from 'node:fs';
import type { Config } from '../config.js';
import { createOpenAiResponder, type KnowledgeSearch } from './openai.responder.js';
import { createOpenAiTranscriber } from './openai-transcriber.js';
import type { Responder, Transcriber } from './responder.js';

type AiConfig = Pick<Config, 'ai'>;

/** Whether voice notes can be transcribed: an endpoint and a transcription model (with any responder) [AI2]. */
export function isTranscriberConfigured(config: AiConfig): boolean {
  return config.ai.openaiBaseUrl !== null && config.ai.transcribeModel !== null;
}

/** The transcriber AI_TRANSCRIBE_MODEL asks for, or null. */
export function createTranscriber(config: AiConfig): Transcriber | null {
  const { openaiBaseUrl, openaiApiKey, transcribeModel, timeoutMs } = config.ai;
  if (!openaiBaseUrl || !transcribeModel) return null;
  return createOpenAiTranscriber({ baseUrl: openaiBaseUrl, apiKey: openaiApiKey, model: transcribeModel, timeoutMs });
}

/**
 * The responder AI_RESPONDER names: `openai` (needs OPENAI_BASE_URL; AI_MODEL, default
 * `gpt-4o-mini`), `faq` (built by the caller from the knowledge base and passed in), or null for
 * `none` (no AI worker: every conversation starts `waiting`). `knowledge` is the faq responder's
 * search, given to the openai responder as context.
 */
export function chooseResponder(config: AiConfig, parts: { faq: Responder | null; knowledge: KnowledgeSearch | null }): Responder | null {
  const ai = config.ai;
  switch (ai.responder) {
    case 'none':
      return null;
    case 'faq':
      return parts.faq;
    case 'openai':
      return createOpenAiResponder({
        baseUrl: ai.openaiBaseUrl!,
        apiKey: ai.openaiApiKey,
        model: ai.model ?? DEFAULT_MODEL,
        systemPrompt: ai.systemPromptFile ? readFileSync(ai.systemPromptFile, 'utf8') : null,
        vision: ai.vision,
        timeoutMs: ai.timeoutMs,
        knowledge: parts.knowledge,
      });
  }
}

export const DEFAULT_MODEL = 'gpt-4o-mini';
