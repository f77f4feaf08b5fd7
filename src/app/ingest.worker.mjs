// Entry of the webhook writer thread (see ingest-thread.ts). Plain JavaScript: a worker thread does
// not inherit the TypeScript loader of the main thread, so it registers its own first.
import { register } from 'tsx/esm/api';

register();
await import('./ingest-worker.ts');
