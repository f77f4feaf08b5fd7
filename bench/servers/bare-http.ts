import { createServer } from 'node:http';

/**
 * The ingest ceiling: a bare node:http server that reads the whole request body and answers 200
 * with a small JSON body, nothing else. PORT from argv[2] (0 = any); prints `listening <port>`.
 */
const port = Number(process.argv[2] ?? 0);
const OK = Buffer.from('{"status":"ok"}');

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    // The body is assembled as a real handler would, then dropped.
    Buffer.concat(chunks);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': OK.length });
    res.end(OK);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
