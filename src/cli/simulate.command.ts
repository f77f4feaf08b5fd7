import { createInterface } from 'node:readline';
import type { Config } from '../config.js';
import { CUSTOMERS } from '../simulator/scenario.js';
import { WhatsAppSimulator, type SimulatorOptions } from '../simulator/simulator.js';
import type { CliIo } from './io.js';
import { UsageError } from './load-config.js';

export interface SimulateOptions {
  url: string;
  port: number;
  pace: number;
  interactive?: boolean;
  scenario: boolean;
  /** Stop after this many seconds (default: run until Ctrl-C). */
  duration?: number;
}

/** The simulator's settings from the same environment as the server's: each missing secret is named. */
export function simulatorSettings(config: Config, switchboardUrl: string, port: number, pace: number): SimulatorOptions {
  const missing: string[] = [];
  const need = (name: string, value: string | null): string => {
    if (value === null) missing.push(name);
    return value ?? '';
  };
  const settings: SimulatorOptions = {
    switchboardUrl: switchboardUrl.replace(/\/+$/, ''),
    port,
    pace,
    meta: {
      appSecret: need('META_APP_SECRET', config.meta.appSecret),
      accessToken: need('META_ACCESS_TOKEN', config.meta.accessToken),
      phoneNumberId: need('META_PHONE_NUMBER_ID', config.meta.phoneNumberId),
    },
    montymobile: {
      webhookToken: need('MONTYMOBILE_WEBHOOK_TOKEN', config.montymobile.webhookToken),
      tenant: need('MONTYMOBILE_TENANT', config.montymobile.tenant),
      apiKey: need('MONTYMOBILE_API_KEY', config.montymobile.apiKey),
      sourceNumber: need('MONTYMOBILE_SOURCE_NUMBER', config.montymobile.sourceNumber),
    },
    qiscus: {
      webhookSecret: need('QISCUS_WEBHOOK_SECRET', config.qiscus.webhookSecret),
      appCode: need('QISCUS_APP_CODE', config.qiscus.appCode),
      secretKey: need('QISCUS_SECRET_KEY', config.qiscus.secretKey),
    },
  };
  if (missing.length > 0)
    throw new UsageError(`the simulator signs and sends as the providers: set ${missing.join(', ')} (the same values as the server's)`);
  return settings;
}

/**
 * Plays the script (in the background) and serves until Ctrl-C, the end of `duration`, or the end
 * of stdin in interactive mode, where each line typed is a message of the interactive customer.
 */
export async function runSimulator(
  simulator: WhatsAppSimulator,
  io: CliIo,
  options: Pick<SimulateOptions, 'interactive' | 'scenario' | 'duration'>,
): Promise<void> {
  if (options.scenario) simulator.playScenario().catch((err: unknown) => io.err(`the scenario stopped: ${(err as Error).message}\n`));
  let timer: NodeJS.Timeout | undefined;
  let lines: ReturnType<typeof createInterface> | undefined;
  let stop!: () => void;
  await new Promise<void>((resolve) => {
    stop = resolve;
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (options.duration !== undefined) timer = setTimeout(stop, options.duration * 1000);
    if (!options.interactive) return;
    const you = CUSTOMERS.find((c) => c.key === 'you')!;
    io.out(`Type as ${you.name} (+${you.waId}); each line is a WhatsApp message. Ctrl-D or Ctrl-C stops.\n`);
    lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      if (line.trim())
        simulator.customerWrites(you, line.trim()).catch((err: unknown) => io.err(`could not send: ${(err as Error).message}\n`));
    });
    lines.on('close', stop);
  });
  // Nothing of the wait may keep the process alive once it stops.
  clearTimeout(timer);
  lines?.close();
  process.removeListener('SIGINT', stop);
  process.removeListener('SIGTERM', stop);
}

/**
 * `switchboard simulate`: a simulated WhatsApp for a Switchboard running elsewhere. It prints the
 * base URLs the server must be started with, then plays the scripted customers.
 */
export async function simulateCommand(config: Config, io: CliIo, options: SimulateOptions): Promise<number> {
  if (!(options.pace > 0 && options.pace <= 100)) throw new UsageError('--pace: a factor above 0 and at most 100 (1 = realistic)');
  const simulator = new WhatsAppSimulator({
    ...simulatorSettings(config, options.url, options.port, options.pace),
    onLog: (line) => io.out(`${line}\n`),
    onOutbound: (customer, text) => {
      if (options.interactive && customer?.key === 'you') io.out(`\n  ↩ ${text}\n`);
    },
  });
  const urls = await simulator.start();
  io.out(
    `Simulated WhatsApp for ${options.url}. Start the server with:\n${Object.entries(urls)
      .map(([k, v]) => `  ${k}=${v}`)
      .join('\n')}\n  AI_TRANSCRIBE_MODEL=simulated (voice notes get transcripts labelled as simulated)\n`,
  );
  try {
    await runSimulator(simulator, io, options);
  } finally {
    await simulator.stop();
  }
  return 0;
}
