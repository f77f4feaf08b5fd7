import { countOperators, findOperatorByEmail } from '../store/operator.store.js';
import { DomainError } from '../chat/errors.js';
import type { AppContext } from './context.js';
import { addOperator } from './add-operator.js';
import { normaliseEmail } from './login.js';

/** The email of the generated first admin when ADMIN_EMAIL is not set. */
export const DEFAULT_ADMIN_EMAIL = 'admin@localhost';

export interface BootstrapResult {
  /** The admin created now, or null when nothing was created. */
  createdEmail: string | null;
  /** The generated password: the caller prints it once; it is stored only as a hash. */
  generatedPassword: string | null;
}

/**
 * The first admin (SPEC §10). With ADMIN_EMAIL (and ADMIN_PASSWORD) set, that admin is created if
 * no operator has that email; an existing operator is left as it is (its password is not reset).
 * With no ADMIN_EMAIL and no operator at all, `admin@localhost` is created with a generated
 * password. When two processes start at once only one creates it (the email is unique), so the
 * password is printed once.
 */
export async function bootstrapAdmin(ctx: Pick<AppContext, 'config' | 'store' | 'committer'>): Promise<BootstrapResult> {
  const { email: configuredEmail, password } = ctx.config.admin;
  const none: BootstrapResult = { createdEmail: null, generatedPassword: null };
  if (configuredEmail === null) {
    if ((await countOperators(ctx.store.db)) > 0) return none;
  } else if (await findOperatorByEmail(ctx.store.db, normaliseEmail(configuredEmail))) {
    return none;
  }
  const email = configuredEmail ?? DEFAULT_ADMIN_EMAIL;
  try {
    const added = await addOperator(ctx, { email, name: 'Administrator', role: 'admin', password });
    return { createdEmail: added.operator.email, generatedPassword: added.generatedPassword };
  } catch (err) {
    if (err instanceof DomainError && err.code === 'conflict') return none;
    throw err;
  }
}
