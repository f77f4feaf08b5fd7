import { addOperator } from '../app/add-operator.js';
import { listAllOperators } from '../app/authenticate.js';
import { disableOperator } from '../app/disable-operator.js';
import { resetPassword } from '../app/reset-password.js';
import type { Config } from '../config.js';
import type { CliIo } from './io.js';
import { withDatabase } from './with-database.js';

/** `switchboard user add <email> <name> [--admin] [--password <pw>]`; a generated password is printed once. */
export function userAdd(
  config: Config,
  io: CliIo,
  email: string,
  name: string,
  options: { admin?: boolean; password?: string },
): Promise<number> {
  return withDatabase(config, async (ctx) => {
    const added = await addOperator(ctx, { email, name, role: options.admin ? 'admin' : 'operator', password: options.password ?? null });
    io.out(`added ${added.operator.role} ${added.operator.email} (${added.operator.id})\n`);
    if (added.generatedPassword) io.out(`password: ${added.generatedPassword}\n(shown only now)\n`);
  });
}

/** `switchboard user list`: one operator a line, tab-separated (email, name, role, status, active|disabled). */
export function userList(config: Config, io: CliIo): Promise<number> {
  return withDatabase(config, async (ctx) => {
    for (const op of await listAllOperators(ctx)) {
      io.out(`${op.email}\t${op.name}\t${op.role}\t${op.status}\t${op.disabled_at ? 'disabled' : 'active'}\n`);
    }
  });
}

/** `switchboard user disable <email>`: no more logins; every session and token ends. */
export function userDisable(config: Config, io: CliIo, email: string): Promise<number> {
  return withDatabase(config, async (ctx) => {
    const op = await disableOperator(ctx, { email }, null);
    io.out(`disabled ${op.email}\n`);
  });
}

/** `switchboard user reset-password <email> [--password <pw>]`: a new password (printed once when generated); sessions end. */
export function userResetPassword(config: Config, io: CliIo, email: string, options: { password?: string }): Promise<number> {
  return withDatabase(config, async (ctx) => {
    const reset = await resetPassword(ctx, { email, password: options.password ?? null });
    io.out(`password reset for ${reset.operator.email}; their sessions ended\n`);
    if (reset.generatedPassword) io.out(`password: ${reset.generatedPassword}\n(shown only now)\n`);
  });
}
