import type { ChildServer } from './child-server.js';

/** Keeps the last `limit` characters a child server wrote (stdout and stderr), for failure messages. */
export function captureOutput(server: ChildServer, limit = 8000): () => string {
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString('utf8')).slice(-limit));
  server.process.stdout?.on('data', keep);
  server.process.stderr?.on('data', keep);
  return () => tail;
}
