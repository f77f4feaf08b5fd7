import { createApiTokenFor, listTokens, revokeApiToken } from '../app/api-tokens.js';
import type { Config } from '../config.js';
import type { CliIo } from './io.js';
import { withDatabase } from './with-database.js';

/** Characters of a token's hashed id that `token list` shows and `token revoke` takes. */
const SHOWN_ID = 12;

/** `switchboard token create <email> --name <name> [--expires-days <n>]`: the token is printed once. */
export function tokenCreate(config: Config, io: CliIo, email: string, options: { name: string; expiresDays?: number }): Promise<number> {
  return withDatabase(config, async (ctx) => {
    const created = await createApiTokenFor(ctx, { email, name: options.name, expiresInDays: options.expiresDays });
    io.out(
      `token ${created.id.slice(0, SHOWN_ID)} "${created.name}" for ${email.trim().toLowerCase()}${created.expires_at ? `, expires ${created.expires_at}` : ''}\n`,
    );
    io.out(`${created.token}\n(shown only now: send it as Authorization: Bearer <token>)\n`);
  });
}

/** `switchboard token list [--email <email>]`: id, name, operator, created, expires, last used — never the secret. */
export function tokenList(config: Config, io: CliIo, options: { email?: string }): Promise<number> {
  return withDatabase(config, async (ctx) => {
    for (const t of await listTokens(ctx, options.email)) {
      io.out(
        `${t.id.slice(0, SHOWN_ID)}\t${t.name ?? ''}\t${t.operator_email}\t${t.created_at}\t${t.expires_at ?? 'never'}\t${t.last_used_at ?? 'unused'}\n`,
      );
    }
  });
}

/** `switchboard token revoke <id>`: the id (or a unique prefix of at least 8 characters) as `token list` shows it. */
export function tokenRevoke(config: Config, io: CliIo, id: string): Promise<number> {
  return withDatabase(config, async (ctx) => {
    const revoked = await revokeApiToken(ctx, id);
    io.out(`revoked token ${revoked.slice(0, SHOWN_ID)}\n`);
  });
}
