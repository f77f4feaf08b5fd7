import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliIo } from './io.js';
import { loadCliConfig, UsageError } from './load-config.js';
import { runSimulator, simulatorSettings } from './simulate.command.js';
import { WhatsAppSimulator } from '../simulator/simulator.js';

export interface DemoOptions {
  port: number;
  dataDir: string;
  pace: number;
  interactive?: boolean;
  fresh?: boolean;
  duration?: number;
}

export const DEMO_ADMIN = { email: 'admin@demo.switchboard', password: 'switchboard-demo' };

/**
 * `switchboard demo` (`npm run demo`): Switchboard and the WhatsApp simulator together, with no
 * configuration. The server runs on SQLite in `--data-dir` (default ./data/demo) with the faq
 * responder and the sample knowledge base; its provider base URLs point at the simulator, whose
 * transcription endpoint gives voice notes a transcript labelled as simulated. The provider secrets
 * are made up for the run (both sides are this process).
 */
export async function demoCommand(env: Record<string, string | undefined>, io: CliIo, options: DemoOptions): Promise<number> {
  if (!(options.pace > 0 && options.pace <= 100)) throw new UsageError('--pace: a factor above 0 and at most 100 (1 = realistic)');
  const dataDir = resolve(options.dataDir);
  if (options.fresh) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const secret = () => randomBytes(16).toString('hex');
  const demoEnv: Record<string, string> = {
    META_APP_SECRET: secret(),
    META_VERIFY_TOKEN: secret(),
    META_ACCESS_TOKEN: `EAAdemo${secret()}`,
    META_PHONE_NUMBER_ID: '106540352242922',
    MONTYMOBILE_WEBHOOK_TOKEN: secret(),
    MONTYMOBILE_TENANT: '6f1c1a52-8d0e-4c5e-9d7e-3f2b1a0c9e11',
    MONTYMOBILE_API_KEY: secret() + secret(),
    MONTYMOBILE_SOURCE_NUMBER: '96181000000',
    QISCUS_WEBHOOK_SECRET: secret(),
    QISCUS_APP_CODE: 'lumiere-demo',
    QISCUS_SECRET_KEY: secret(),
    QISCUS_BOT_EMAIL: 'bot@lumiere-demo.example',
    ADMIN_EMAIL: DEMO_ADMIN.email,
    ADMIN_PASSWORD: DEMO_ADMIN.password,
    AI_RESPONDER: 'faq',
    AI_TRANSCRIBE_MODEL: 'simulated',
  };
  // The simulator starts first: its URLs are what the server is pointed at. It learns the server's
  // URL once the server listens (PORT=0 picks a free port).
  const host = env.HOST ?? '0.0.0.0';
  const base = loadCliConfig({ ...env, ...demoEnv, DATA_DIR: dataDir, DATABASE_URL: `sqlite:${resolve(dataDir, 'switchboard.db')}` });
  const simulator = new WhatsAppSimulator({
    ...simulatorSettings(base, 'http://127.0.0.1', 0, options.pace),
    onLog: (line) => io.out(`  ${line}\n`),
    onOutbound: (customer, text) => {
      if (options.interactive && customer?.key === 'you') io.out(`\n  ↩ ${text}\n`);
    },
  });
  const urls = await simulator.start();
  const config = loadCliConfig({
    ...env,
    ...demoEnv,
    ...urls,
    MEDIA_FETCH_ALLOW_HOSTS: '127.0.0.1',
    PORT: String(options.port),
    HOST: host,
    DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${resolve(dataDir, 'switchboard.db')}`,
    LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
  });
  const { createLogger, startServer } = await import('../main.js');
  const running = await startServer(config, createLogger(config));
  const port = new URL(running.url).port;
  simulator.target(`http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`);
  io.out(`
Switchboard demo: the dashboard is at ${running.url}
  log in as ${DEMO_ADMIN.email} with password ${DEMO_ADMIN.password}
Simulated customers write through Meta, MontyMobile and Qiscus; the AI (faq responder, sample clinic
knowledge) answers, and some ask for a human: take them over in the dashboard. Ctrl-C stops.

`);
  try {
    await runSimulator(simulator, io, { interactive: options.interactive, scenario: true, duration: options.duration });
  } finally {
    await running.close();
    await simulator.stop();
  }
  return 0;
}
