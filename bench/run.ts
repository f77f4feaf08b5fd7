import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBenchContext, type BenchContext } from './lib/bench-context.js';
import { markdownTable, met, textTable, type Section } from './lib/report.js';
import { runBusyConversation } from './scenarios/busy.js';
import { runCapacity } from './scenarios/capacity.js';
import { runFaqEval } from './scenarios/faq-eval.js';
import { runFanout } from './scenarios/fanout.js';
import { runColdStart, runHistory } from './scenarios/history.js';
import { runIngest } from './scenarios/ingest.js';
import { runOutbound } from './scenarios/outbound.js';

/*
 * `npm run bench [-- <scenario>…] [--quick] [--profile] [--out <file>] [--keep]`
 *
 * Runs the scenarios of issue 5 (all by default, in this order), each beside its baseline measured
 * in the same run, prints one table and writes a Markdown report: bench/RESULTS.md for a full run,
 * bench/RESULTS.quick.md / RESULTS.partial.md otherwise (so a partial run never overwrites the
 * recorded results). Servers run as child processes; load comes from this process and from SSE
 * load processes; everything on 127.0.0.1.
 */

const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<Section>> = {
  ingest: runIngest,
  busy: runBusyConversation,
  fanout: runFanout,
  capacity: runCapacity,
  history: runHistory,
  coldstart: runColdStart,
  faq: runFaqEval,
  outbound: runOutbound,
};

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));

interface Args {
  names: string[];
  quick: boolean;
  profile: boolean;
  keep: boolean;
  out: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { names: [], quick: false, profile: false, keep: false, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--profile') args.profile = true;
    else if (a === '--keep') args.keep = true;
    else if (a === '--out') args.out = argv[++i] ?? null;
    else if (a in SCENARIOS) args.names.push(a);
    else
      throw new Error(
        `unknown argument ${JSON.stringify(a)}; scenarios: ${Object.keys(SCENARIOS).join(' ')}; flags: --quick --profile --keep --out <file>`,
      );
  }
  if (args.names.length === 0) args.names = Object.keys(SCENARIOS);
  else args.names = Object.keys(SCENARIOS).filter((n) => args.names.includes(n));
  return args;
}

function loadText(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

function diskOf(path: string): string {
  try {
    return execSync(`df -h --output=source,fstype,size ${JSON.stringify(path)} | tail -n 1`, { encoding: 'utf8' })
      .trim()
      .replace(/\s+/g, ' ');
  } catch {
    return 'unknown';
  }
}

/** This process and its ancestors (npm, the tsx launcher …): not "other" load. */
function ownPids(): Set<number> {
  const pids = new Set<number>([process.pid]);
  for (let pid = process.ppid, guard = 0; pid > 1 && guard < 20; guard++) {
    pids.add(pid);
    try {
      pid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    } catch {
      break;
    }
  }
  return pids;
}

function otherLoad(): string {
  try {
    // The busiest processes right now that this run did not start: a hint of shared-machine load.
    const own = ownPids();
    const lines = execSync('ps -eo pid=,ppid=,pcpu=,args= --sort=-pcpu', { encoding: 'utf8' }).trim().split('\n');
    const others = lines
      .map((l) => l.trim().split(/\s+/))
      .filter(([pid, ppid]) => !own.has(Number(pid)) && !own.has(Number(ppid)))
      .filter(([, , cpu, command]) => Number(cpu) >= 5 && command !== 'ps')
      .slice(0, 6)
      .map(([, , cpu, ...args]) => `${cpu} % ${args.join(' ').slice(0, 70)}`);
    return others.length > 0 ? others.join('; ') : 'none above 5 % CPU';
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const full = !args.quick && args.names.length === Object.keys(SCENARIOS).length;
  const out = args.out ?? join(BENCH_DIR, full ? 'RESULTS.md' : args.quick ? 'RESULTS.quick.md' : 'RESULTS.partial.md');
  const workDir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  const profileDir = args.profile ? join(BENCH_DIR, 'profiles') : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const ctx = createBenchContext({ quick: args.quick, workDir, profileDir, postgresUrl: 'postgres://postgres@127.0.0.1:5432/test' });

  const started = new Date();
  const loadBefore = loadText();
  const busyBefore = otherLoad();
  ctx.log(`scenarios: ${args.names.join(' ')}${args.quick ? ' (quick)' : ''}; load average ${loadBefore}; scratch ${workDir}`);
  const sections: Section[] = [];
  const failures: string[] = [];
  try {
    for (const name of args.names) {
      try {
        sections.push(await SCENARIOS[name]!(ctx));
      } catch (err) {
        ctx.log(`${name} FAILED: ${(err as Error).stack ?? String(err)}`);
        failures.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  } finally {
    if (!args.keep) rmSync(workDir, { recursive: true, force: true });
  }
  const finished = new Date();
  const loadAfter = loadText();

  const rows = sections.flatMap((s) => s.rows);
  const table = textTable(rows);
  process.stdout.write(`\n${table}\n\n`);
  if (failures.length > 0) process.stdout.write(`failed scenarios:\n${failures.map((f) => `  ${f}`).join('\n')}\n`);

  const cpu = cpus();
  const minutes = ((finished.getTime() - started.getTime()) / 60_000).toFixed(1);
  const md = [
    '# Switchboard benchmark results',
    '',
    `Written by \`npm run bench${args.quick ? ' -- --quick' : ''}${full ? '' : ` -- ${args.names.join(' ')}`}\` (bench/run.ts). Every figure stands beside a baseline measured in the same run;` +
      ' targets are goals from issue 5, not asserts. Load comes from other processes than the server (autocannon and the webhook sender in the bench process, SSE clients in forked load processes), all on 127.0.0.1, sharing the same cores as the server.',
    '',
    '## Machine',
    '',
    `- Date: ${started.toISOString()} (run took ${minutes} min)`,
    `- CPU: ${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`,
    `- Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB (free at start ${(freemem() / 2 ** 30).toFixed(1)} GiB)`,
    `- Node ${process.version}, ${process.platform} ${release()}`,
    `- Scratch disk: ${diskOf(tmpdir())}`,
    `- Load average (1 / 5 / 15 min): before ${loadBefore}; after ${loadAfter}. Other processes at start with ≥ 5 % CPU (ps: % of one core, averaged over each process's lifetime): ${busyBefore}.`,
    "  The machine is shared: other engineers' builds and test runs may have competed for the CPU during this run, and a load average above 0 before the start means they did.",
    '',
    '## Results',
    '',
    markdownTable(rows),
    '',
    'What each change to the code did to these figures, measured before and after: bench/HISTORY.md.',
    '',
    ...(failures.length > 0 ? ['**Scenarios that failed in this run:**', '', ...failures.map((f) => `- ${f}`), ''] : []),
    ...sections.flatMap((s) => [`## ${s.title}`, '', ...s.notes.flatMap((n) => [n, '']), '']),
  ].join('\n');
  writeFileSync(out, md);
  ctx.log(`wrote ${out}; ${rows.filter((r) => met(r) === 'NO').length} figure(s) short of target`);
  if (failures.length > 0) process.exitCode = 1;
}

await main();
