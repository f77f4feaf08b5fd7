import OpenAI, { toFile } from 'openai';
import type { Transcriber } from './responder.js';

export interface OpenAiTranscriberOptions {
  baseUrl: string;
  apiKey: string | null;
  /** AI_TRANSCRIBE_MODEL (`whisper-1`, `gpt-4o-mini-transcribe`, a local whisper server's model …). */
  model: string;
  timeoutMs: number;
}

const EXTENSIONS: Record<string, string> = {
  'audio/ogg': 'ogg',
  'audio/opus': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/mp4': 'm4a',
  'audio/m4a': 'm4a',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/webm': 'webm',
  'audio/flac': 'flac',
};

/**
 * A file name for an upload: the customer's own when it has an extension, else one made from the
 * MIME type (transcription servers tell the format by the extension; WhatsApp voice notes are Ogg/Opus).
 */
export function uploadFilename(filename: string | null, mimeType: string, fallbackStem = 'voice'): string {
  if (filename && /\.[A-Za-z0-9]{2,5}$/.test(filename)) return filename;
  const base = mimeType.split(';')[0]!.trim().toLowerCase();
  return `${filename ?? fallbackStem}.${EXTENSIONS[base] ?? 'ogg'}`;
}

/**
 * Speech to text through the endpoint's `POST /audio/transcriptions` (multipart: `file`, `model`) [AI2].
 * SDK retries are off: the `media.transcribe` job retries durably.
 */
export function createOpenAiTranscriber(options: OpenAiTranscriberOptions): Transcriber {
  const client = new OpenAI({
    baseURL: options.baseUrl,
    apiKey: options.apiKey ?? 'not-needed',
    timeout: options.timeoutMs,
    maxRetries: 0,
  });
  return {
    async transcribe(audio, signal) {
      const file = await toFile(audio.bytes, audio.filename, { type: audio.mime_type.split(';')[0]!.trim() });
      const result = await client.audio.transcriptions.create({ file, model: options.model }, { signal, timeout: options.timeoutMs });
      return { text: result.text.trim(), language: null, model: options.model };
    },
  };
}
