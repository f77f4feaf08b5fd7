import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/main.js';
import { loginAdmin, type ApiClient } from './api-client.js';
import { postMeta, startTestServer } from '../support/app.js';
import { sharedDatabases, type TestDatabase } from '../support/databases.js';
import { fixture } from '../support/webhook-senders.js';

/** Issue 14's finding: a customer known only by Meta's business-scoped user id (no phone) must be searchable, by it and by username. */
for (const factory of sharedDatabases()) {
  describe(`search by BSUID on ${factory.kind} (SPEC §7)`, () => {
    let database: TestDatabase;
    let server: Running;
    let admin: ApiClient;
    beforeAll(async () => {
      database = await factory.create();
      server = await startTestServer({
        DATABASE_URL: database.url,
        DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-bsuid-')),
        AI_DEBOUNCE_MS: '600000',
      });
      admin = await loginAdmin(server.url);
      expect((await postMeta(server.url, fixture('meta', 'bsuid-only'))).status).toBe(200);
    });
    afterAll(async () => {
      await server.close();
      await database.destroy();
    });

    it('[§7 q] a BSUID-only customer (no number) is found by the whole user id, a part of it, in any case, and by username', async () => {
      for (const q of ['US.13491208655302741918', 'US.1349120865', 'us.134912', 'jo.travels', 'JO.TRAV']) {
        const res = await admin.get(`/api/conversations?q=${encodeURIComponent(q)}`);
        expect(res.status, q).toBe(200);
        expect(
          res.body.conversations.map((c: any) => c.contact),
          q,
        ).toEqual([{ wa_id: null, name: 'Jo', user_id: 'US.13491208655302741918', username: 'jo.travels', language: null }]);
      }
      const none = await admin.get('/api/conversations?q=US.99999');
      expect(none.body.conversations).toEqual([]);
    });
  });
}
