import { createServer, type ServerResponse } from 'node:http';

/**
 * The SSE ceiling: a bare node:http server that holds event streams and, for every Meta webhook
 * POSTed to it, answers 200 and pushes the same two events Switchboard pushes (`new_message` with a
 * Message, `conversation_updated` with a Conversation, in the same JSON shapes) to every stream.
 * No auth, no storage, no buffering policy: the floor of the work. Frames of one event-loop turn
 * are written together. `: ping` to every stream each
 * PING_MS (argv[3]), as Switchboard does. argv[2]: port.
 */
const port = Number(process.argv[2] ?? 0);
const pingMs = Number(process.argv[3] ?? 15_000);
const streams = new Set<ServerResponse>();
let nextEventId = 0;
let nextSeq = 0;

interface MetaMessage {
  id: string;
  from: string;
  timestamp: string;
  type: string;
  text?: { body: string };
}

function framesFor(message: MetaMessage, phoneNumberId: string, contactName: string | null): string {
  const now = new Date().toISOString();
  const conversationId = `c_${message.from}`;
  const seq = ++nextSeq;
  const presented = {
    message_id: message.id,
    conversation_id: conversationId,
    seq,
    role: 'user',
    type: message.type,
    text: message.text?.body ?? null,
    media: null,
    status: 'received',
    error: null,
    operator: null,
    reply_to: null,
    timestamp: new Date(Number(message.timestamp) * 1000).toISOString(),
    metadata: { provider: 'meta', message_id: message.id, source_message_id: message.id },
  };
  const conversation = {
    conversation_id: conversationId,
    channel: { id: `ch_${phoneNumberId}`, provider: 'meta', name: null },
    contact: { wa_id: message.from, name: contactName, user_id: null, language: null },
    state: 'ai',
    operator: null,
    handover: null,
    unread_count: seq,
    last_message: presented,
    window_expires_at: now,
    created_at: now,
    updated_at: now,
  };
  const a = ++nextEventId;
  const b = ++nextEventId;
  return (
    `id: ${a}\nevent: new_message\ndata: ${JSON.stringify(presented)}\n\n` +
    `id: ${b}\nevent: conversation_updated\ndata: ${JSON.stringify(conversation)}\n\n`
  );
}

let pending = '';

/**
 * Frames of one event-loop turn go out together, one write per stream: under load several
 * webhooks share a write (as Switchboard's event tail shares one read among a batch's events).
 */
function broadcast(text: string): void {
  if (pending === '') setImmediate(flush);
  pending += text;
}

function flush(): void {
  const text = pending;
  pending = '';
  for (const res of streams) res.write(text);
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ready"}');
    return;
  }
  if (req.method === 'GET') {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    res.write('retry: 2000\n\n');
    streams.add(res);
    res.on('close', () => streams.delete(res));
    res.on('error', () => {});
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const entry of body.entry ?? []) {
        for (const change of entry.changes ?? []) {
          const value = change.value ?? {};
          const name = value.contacts?.[0]?.profile?.name ?? null;
          for (const message of value.messages ?? []) broadcast(framesFor(message, value.metadata?.phone_number_id ?? '', name));
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    } catch {
      res.writeHead(400);
      res.end();
    }
  });
});
server.keepAliveTimeout = 72_000;
server.headersTimeout = 0;
server.requestTimeout = 0;
setInterval(() => broadcast(': ping\n\n'), pingMs).unref();
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
});
process.once('SIGTERM', () => {
  for (const res of streams) res.end();
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
