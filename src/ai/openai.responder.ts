import OpenAI from 'openai';
import type { ChatCompletionContentPart, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { HistoryItem, Responder, ResponderInput, ResponderResult } from './responder.js';

/** A knowledge-base match given to the model as context (the faq responder's `search`). */
export interface KnowledgeMatch {
  id: string;
  question: string;
  answer: string;
  language: string | null;
  score: number;
}

/** What the openai responder needs of the knowledge base: its best matches for a query. */
export interface KnowledgeSearch {
  search(query: string, limit: number): Promise<KnowledgeMatch[]>;
}

export interface OpenAiResponderOptions {
  /** OPENAI_BASE_URL: OpenAI, Ollama (`http://localhost:11434/v1`), vLLM, llama.cpp server, a gateway. */
  baseUrl: string;
  /** Null for endpoints that need none (Ollama, a local vLLM): a placeholder is sent. */
  apiKey: string | null;
  model: string;
  /** The system prompt (AI_SYSTEM_PROMPT_FILE's text); null for the built-in one. */
  systemPrompt: string | null;
  /** AI_VISION: photos the customer just sent go to the model as images. */
  vision: boolean;
  timeoutMs: number;
  knowledge?: KnowledgeSearch | null;
  /** Knowledge entries given as context (default 3). */
  knowledgeLimit?: number;
}

export const BUILT_IN_SYSTEM_PROMPT = [
  'You are the assistant of a business answering its customers on WhatsApp.',
  'Answer briefly and politely, in the language the customer writes in.',
  'Use the knowledge base entries given to you when they answer the question; never invent prices, opening hours or medical advice.',
  "Messages marked as written by a human operator were sent by the business's staff; stay consistent with them.",
  'When you cannot help, when the customer needs a person, or when a question needs a human decision, call the `handover` tool instead of answering.',
].join(' ');

const HANDOVER_TOOL: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'handover',
    description: 'Hand the conversation to a human operator. Call it when you cannot help the customer or a person must decide.',
    parameters: {
      type: 'object',
      properties: { reason: { type: 'string', description: 'Why a human should take over, in one sentence, for the operator.' } },
      required: ['reason'],
      additionalProperties: false,
    },
  },
};

/** Raised when the endpoint answered but the answer cannot be used (no choice, empty text). */
export class ResponderAnswerError extends Error {
  override readonly name = 'ResponderAnswerError';
}

/**
 * The `openai` responder: chat completions on any OpenAI-compatible endpoint through the official
 * SDK. The bounded history goes with roles mapped (operator messages as assistant turns marked as
 * a human's, system events such as the hand-back marker [AI5] as short system lines), the knowledge
 * base's best matches as context, and a `handover` tool whose call hands the conversation over
 * (`ai_requested`) [AI4]. SDK retries are off: the worker's durable job retries instead, so a
 * failure counts towards `ai_failed` once per attempt.
 */
export function createOpenAiResponder(options: OpenAiResponderOptions): Responder {
  const client = new OpenAI({
    baseURL: options.baseUrl,
    apiKey: options.apiKey ?? 'not-needed',
    timeout: options.timeoutMs,
    maxRetries: 0,
  });
  const systemPrompt = options.systemPrompt?.trim() || BUILT_IN_SYSTEM_PROMPT;
  const limit = options.knowledgeLimit ?? 3;

  return {
    name: 'openai',
    async respond(input: ResponderInput): Promise<ResponderResult> {
      const query = input.pending
        .map((m) => m.text ?? '')
        .join('\n')
        .trim();
      const matches = options.knowledge && query ? await options.knowledge.search(query, limit) : [];
      const messages: ChatCompletionMessageParam[] = [
        { role: 'system', content: systemLines(systemPrompt, input, matches) },
        ...(await historyMessages(input, options.vision)),
      ];
      const completion = await client.chat.completions.create(
        { model: options.model, messages, tools: [HANDOVER_TOOL], tool_choice: 'auto' },
        { signal: input.signal, timeout: options.timeoutMs },
      );
      const best = matches[0];
      const origin = {
        handled_by: 'ai' as const,
        model: completion.model || options.model,
        knowledge_id: best?.id ?? null,
        knowledge_question: best?.question ?? null,
        score: best?.score ?? null,
      };
      const message = completion.choices[0]?.message;
      if (!message) throw new ResponderAnswerError('the endpoint answered without a choice');
      const call = message.tool_calls?.find((c) => c.type === 'function' && c.function.name === 'handover');
      if (call && call.type === 'function') {
        return { kind: 'handover', reason: 'ai_requested', note: handoverNote(call.function.arguments), origin };
      }
      const text = message.content?.trim();
      if (!text)
        throw new ResponderAnswerError(`the model's answer is empty (finish_reason ${completion.choices[0]?.finish_reason ?? 'none'})`);
      return { kind: 'reply', text, origin };
    },
  };
}

function systemLines(prompt: string, input: ResponderInput, matches: KnowledgeMatch[]): string {
  const lines = [prompt];
  if (input.contact_name) lines.push(`The customer's name: ${input.contact_name}.`);
  if (input.language) lines.push(`The customer's language: ${input.language}.`);
  if (matches.length > 0) {
    lines.push('', 'Knowledge base entries that may answer the customer (best first):');
    for (const m of matches) lines.push(`- [${m.id}] Q: ${m.question}\n  A: ${m.answer}`);
  }
  return lines.join('\n');
}

/** The history as chat messages; only the photos of this reply's own customer messages go as images. */
async function historyMessages(input: ResponderInput, vision: boolean): Promise<ChatCompletionMessageParam[]> {
  const pendingIds = new Set(input.pending.map((m) => m.message_id));
  const out: ChatCompletionMessageParam[] = [];
  for (const item of input.history) {
    switch (item.role) {
      case 'user':
        out.push({ role: 'user', content: await userContent(item, input, vision && pendingIds.has(item.message_id)) });
        break;
      case 'assistant':
        if (item.text) out.push({ role: 'assistant', content: item.text });
        break;
      case 'operator':
        out.push({
          role: 'assistant',
          content: `[written by a human operator${item.operator_name ? `, ${item.operator_name}` : ''}] ${describe(item)}`,
        });
        break;
      case 'system':
        if (item.type === 'event') out.push({ role: 'system', content: eventLine(item) });
        else if (item.text) out.push({ role: 'assistant', content: `[notice sent to the customer] ${item.text}` });
        break;
    }
  }
  return out;
}

async function userContent(item: HistoryItem, input: ResponderInput, asImage: boolean): Promise<string | ChatCompletionContentPart[]> {
  if (asImage && item.type === 'photo' && item.media) {
    const { bytes, mime_type } = await input.loadMedia(item.media.media_id);
    const parts: ChatCompletionContentPart[] = [];
    if (item.text) parts.push({ type: 'text', text: item.text });
    parts.push({ type: 'image_url', image_url: { url: `data:${mime_type};base64,${bytes.toString('base64')}` } });
    return parts;
  }
  return describe(item);
}

/** A message as text for the model: its text, or what it was when it has none. */
function describe(item: HistoryItem): string {
  const text = item.text?.trim() ?? '';
  switch (item.type) {
    case 'photo':
      return text ? `[the customer sent a photo] ${text}` : '[the customer sent a photo]';
    case 'voice':
    case 'audio':
      if (text) return text;
      return '[the customer sent a voice note that could not be transcribed]';
    case 'video':
    case 'document':
    case 'sticker':
      return text ? `[${item.type}] ${text}` : `[the customer sent a ${item.type}]`;
    default:
      return text || `[${item.type} message]`;
  }
}

const EVENT_LINES: Record<string, string> = {
  released: 'An operator handed the conversation back to you (the AI); the human stretch above has ended.',
  taken_over: 'A human operator took over the conversation.',
  resolved: 'An operator marked the conversation as resolved.',
};

function eventLine(item: HistoryItem): string {
  const line = (item.event && EVENT_LINES[item.event]) ?? item.text ?? item.event ?? 'event';
  return `[event: ${item.event ?? 'unknown'}] ${line}`;
}

function handoverNote(args: string): string | null {
  try {
    const parsed = JSON.parse(args) as { reason?: unknown };
    return typeof parsed.reason === 'string' && parsed.reason.trim() ? parsed.reason.trim().slice(0, 500) : null;
  } catch {
    return args.trim().slice(0, 500) || null;
  }
}
