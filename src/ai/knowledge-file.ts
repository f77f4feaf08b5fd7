import { createHash } from 'node:crypto';
import { z } from 'zod';
import { foldText } from './normalise.js';

/** One Q&A as a knowledge file states it (Markdown or JSON). */
export interface KnowledgeFileEntry {
  /** An explicit stable id, when the file gives one: the seed key then survives rewording the question. */
  id: string | null;
  question: string;
  answer: string;
  language: string | null;
  alternates: string[];
  tags: string[];
}

/** A knowledge file that cannot be seeded; the message names the file and the entry. */
export class KnowledgeFileError extends Error {
  override readonly name = 'KnowledgeFileError';
}

const LANGUAGE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const MAX_TEXT = 4000;

/**
 * The seed key of an entry: its explicit id, else a hash of its language and folded question, so
 * the same entry seeded twice (or by two processes) is one row, and cosmetic edits of the file
 * (case, accents, spacing) do not make a second one.
 */
export function seedKeyOf(entry: Pick<KnowledgeFileEntry, 'id' | 'question' | 'language'>): string {
  if (entry.id !== null) return `id:${entry.id}`;
  const folded = foldText(entry.question)
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
  return `q:${createHash('sha256')
    .update(`${entry.language ?? ''}\n${folded}`)
    .digest('hex')
    .slice(0, 32)}`;
}

/** Parses a knowledge file by its name's extension (`.json`, else Markdown); throws KnowledgeFileError. */
export function parseKnowledgeFile(text: string, fileName: string): KnowledgeFileEntry[] {
  const entries = fileName.toLowerCase().endsWith('.json') ? parseJsonFile(text, fileName) : parseMarkdown(text, fileName);
  if (entries.length === 0) throw new KnowledgeFileError(`${fileName}: no entries (expected "## Q: …" headings or a JSON array)`);
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    const key = seedKeyOf(entry);
    const first = seen.get(key);
    if (first !== undefined) {
      throw new KnowledgeFileError(
        `${fileName}: entry ${index + 1} (${JSON.stringify(entry.question)}) repeats entry ${first + 1} (same ${entry.id !== null ? 'id' : 'question and language'})`,
      );
    }
    seen.set(key, index);
  });
  return entries;
}

function check(entry: KnowledgeFileEntry, where: string): KnowledgeFileEntry {
  const fail = (problem: string) => {
    throw new KnowledgeFileError(`${where}: ${problem}`);
  };
  if (entry.question.length === 0) fail('the question is empty');
  if (entry.answer.length === 0) fail('the answer is empty');
  if (entry.question.length > MAX_TEXT || entry.answer.length > MAX_TEXT)
    fail(`question and answer must be at most ${MAX_TEXT} characters`);
  if (entry.language !== null && !LANGUAGE.test(entry.language))
    fail(`language ${JSON.stringify(entry.language)} is not a language code like "en" or "ar"`);
  if (entry.id !== null && !ID.test(entry.id)) fail(`id ${JSON.stringify(entry.id)}: letters, digits, ".", "_" and "-" only`);
  return entry;
}

const JsonEntry = z
  .object({
    id: z.string().optional(),
    question: z.string(),
    answer: z.string(),
    language: z.string().nullable().optional(),
    alternates: z.array(z.string()).optional(),
    tags: z.array(z.string()).optional(),
  })
  .strict();

function parseJsonFile(text: string, fileName: string): KnowledgeFileEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new KnowledgeFileError(`${fileName}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(value))
    throw new KnowledgeFileError(`${fileName}: expected a JSON array of {question, answer, language?, alternates?, tags?}`);
  return value.map((item, index) => {
    const question =
      typeof (item as { question?: unknown })?.question === 'string' ? ` (${JSON.stringify((item as { question: string }).question)})` : '';
    const where = `${fileName}: entry ${index + 1}${question}`;
    const parsed = JsonEntry.safeParse(item);
    if (!parsed.success) {
      throw new KnowledgeFileError(
        `${where}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'entry'}: ${i.message}`).join('; ')}`,
      );
    }
    const e = parsed.data;
    return check(
      {
        id: e.id?.trim() || null,
        question: e.question.trim(),
        answer: e.answer.trim(),
        language: e.language?.trim() || null,
        alternates: (e.alternates ?? []).map((a) => a.trim()).filter(Boolean),
        tags: (e.tags ?? []).map((t) => t.trim()).filter(Boolean),
      },
      where,
    );
  });
}

const LIST = (value: string, separator: RegExp) =>
  value
    .split(separator)
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Markdown: each entry is a `## Q: <question>` heading followed by optional field lines
 * (`Id:`, `Language:`, `Also:` alternates separated by `|`, `Tags:` separated by `,`) and then the
 * answer (every following line up to the next heading). A `Language: xx` line before any entry,
 * or right under a `#` heading, sets the language of the entries after it. `#` headings and
 * HTML comments are otherwise ignored.
 */
function parseMarkdown(text: string, fileName: string): KnowledgeFileEntry[] {
  const lines = text
    .replace(/^\uFEFF/, '')
    .replace(/<!--[\s\S]*?-->/g, (c) => c.replace(/[^\n]/g, ''))
    .split(/\r?\n/);
  const entries: KnowledgeFileEntry[] = [];
  let language: string | null = null;
  let current: { entry: KnowledgeFileEntry; line: number; answer: string[]; inFields: boolean } | null = null;

  const finish = () => {
    if (!current) return;
    current.entry.answer = current.answer
      .join('\n')
      .trim()
      .replace(/\n{3,}/g, '\n\n');
    entries.push(
      check(current.entry, `${fileName}: entry ${entries.length + 1} (line ${current.line}: ${JSON.stringify(current.entry.question)})`),
    );
    current = null;
  };

  lines.forEach((raw, index) => {
    const line = raw.trimEnd();
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      finish();
      const level = heading[1]!.length;
      const title = heading[2]!.trim();
      const question = /^Q\s*[:：]\s*(.*)$/i.exec(title);
      if (level === 2 && question) {
        current = {
          entry: { id: null, question: question[1]!.trim(), answer: '', language, alternates: [], tags: [] },
          line: index + 1,
          answer: [],
          inFields: true,
        };
      } else if (level === 2) {
        throw new KnowledgeFileError(`${fileName}: line ${index + 1}: "## ${title}" — an entry heading must read "## Q: <question>"`);
      }
      return;
    }
    const field = /^(Id|Language|Also|Tags)\s*:\s*(.*)$/i.exec(line.trim());
    if (!current) {
      if (field && field[1]!.toLowerCase() === 'language') language = field[2]!.trim() || null;
      return;
    }
    if (current.inFields && field) {
      const value = field[2]!.trim();
      switch (field[1]!.toLowerCase()) {
        case 'id':
          current.entry.id = value || null;
          break;
        case 'language':
          current.entry.language = value || null;
          break;
        case 'also':
          current.entry.alternates.push(...LIST(value, /\|/));
          break;
        case 'tags':
          current.entry.tags.push(...LIST(value, /[,،]/));
          break;
      }
      return;
    }
    if (current.inFields && line.trim() === '') return;
    current.inFields = false;
    current.answer.push(line);
  });
  finish();
  return entries;
}
