/**
 * Server-sent-events framing (WHATWG HTML §9.2). Pure functions: every frame is a complete block
 * ending in a blank line, so frames can be written to a stream one by one.
 */

/** `id:`, `event:` and one `data:` line per line of `data` (a newline inside data would end the field). */
export function sseEvent(id: number | null, event: string, data: string): string {
  const head = `${id === null ? '' : `id: ${id}\n`}event: ${event}\n`;
  return `${head}${data
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('')}\n`;
}

/** Tells the browser how long to wait before reconnecting. */
export function sseRetry(ms: number): string {
  return `retry: ${Math.round(ms)}\n\n`;
}

/** A comment line: ignored by clients, keeps proxies from closing an idle stream. */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}
