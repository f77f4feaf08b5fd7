import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import Database from 'better-sqlite3';

/**
 * The anchor for one busy conversation: the original system's storage model (a Firestore document
 * per conversation holding its whole `messages` array) on the same SQLite Switchboard uses, WAL with
 * synchronous=FULL. Every Meta webhook is verified like Switchboard verifies it, then each of its
 * messages is one transaction: read the conversation's row, parse the array, append, serialise,
 * write the row back. argv: port, database path, Meta app secret.
 */
const [portArg, dbPath, appSecret] = process.argv.slice(2);
if (!dbPath || !appSecret) throw new Error('usage: json-blob.ts <port> <db path> <meta app secret>');

const db = new Database(dbPath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('create table if not exists conversations (id text primary key, doc text not null)');
const read = db.prepare<[string], { doc: string }>('select doc from conversations where id = ?');
const write = db.prepare<[string, string]>(
  'insert into conversations (id, doc) values (?, ?) on conflict (id) do update set doc = excluded.doc',
);

interface LegacyDoc {
  user_id: string;
  status: string;
  last_updated: string;
  messages: unknown[];
}

// Run with `.immediate`: the write lock is taken before the read, as a read-modify-write must.
const appendMessage = db.transaction((userId: string, message: { id: string; text: string | null; timestamp: string }) => {
  const row = read.get(userId);
  const doc: LegacyDoc = row ? JSON.parse(row.doc) : { user_id: userId, status: 'active', last_updated: '', messages: [] };
  const at = new Date(Number(message.timestamp) * 1000).toISOString();
  doc.messages.push({
    role: 'user',
    text: message.text,
    timestamp: at,
    type: 'text',
    message_id: message.id,
    metadata: { handled_by: 'ai', source_message_id: message.id },
  });
  doc.last_updated = at;
  write.run(userId, JSON.stringify(doc));
});

function verified(raw: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', appSecret!).update(raw).digest('hex')}`);
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ready"}');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const signature = req.headers['x-hub-signature-256'];
    if (!verified(raw, Array.isArray(signature) ? signature[0] : signature)) {
      res.writeHead(401);
      res.end();
      return;
    }
    try {
      const body = JSON.parse(raw.toString('utf8'));
      for (const entry of body.entry ?? []) {
        for (const change of entry.changes ?? []) {
          for (const m of change.value?.messages ?? []) {
            appendMessage.immediate(String(m.from), { id: String(m.id), text: m.text?.body ?? null, timestamp: String(m.timestamp) });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    } catch {
      res.writeHead(503);
      res.end();
    }
  });
});
server.keepAliveTimeout = 72_000;
server.listen(Number(portArg ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : portArg}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => {
    db.close();
    process.exit(0);
  });
  server.closeAllConnections();
});
