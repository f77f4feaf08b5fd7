import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';

/** What every scenario gets from the orchestrator. */
export interface BenchContext {
  /** Small sizes and short windows, for developing the bench. */
  readonly quick: boolean;
  /** Scratch folder of this run (databases, data dirs); removed at the end. */
  readonly workDir: string;
  /** When set, Switchboard runs with `--cpu-prof` and writes its profiles here. */
  readonly profileDir: string | null;
  /** PostgreSQL server for throwaway databases. */
  readonly postgresUrl: string;
  log(message: string): void;
  /** A fresh folder inside workDir. */
  scratch(prefix: string): string;
}

export function createBenchContext(options: {
  quick: boolean;
  workDir: string;
  profileDir: string | null;
  postgresUrl: string;
}): BenchContext {
  const started = performance.now();
  return {
    ...options,
    log: (message) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`),
    scratch: (prefix) => mkdtempSync(join(options.workDir, `${prefix}-`)),
  };
}
