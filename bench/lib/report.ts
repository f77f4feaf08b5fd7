/** One figure of the results table: Switchboard's value beside its same-run baseline. */
export interface Row {
  scenario: string;
  figure: string;
  value: number;
  unit: string;
  baseline: number | null;
  baselineName: string;
  /** How the target reads: `ratio >= 0.6`, `value >= 1000`, `ratio <= 1.2` … (null: no target). */
  target: { on: 'ratio' | 'value'; op: '>=' | '<='; limit: number } | null;
}

/** A scenario's outcome: its rows and the notes (what limits each figure, checks, plans). */
export interface Section {
  name: string;
  title: string;
  rows: Row[];
  notes: string[];
}

export function ratioOf(row: Row): number | null {
  if (row.baseline === null || !Number.isFinite(row.baseline) || row.baseline === 0) return null;
  return row.value / row.baseline;
}

export function targetText(row: Row): string {
  if (!row.target) return '—';
  const { on, op, limit } = row.target;
  return on === 'ratio' ? `ratio ${op} ${limit}` : `${op} ${formatNumber(limit)} ${row.unit}`;
}

export function met(row: Row): 'yes' | 'NO' | '—' {
  if (!row.target) return '—';
  const subject = row.target.on === 'ratio' ? ratioOf(row) : row.value;
  if (subject === null || !Number.isFinite(subject)) return 'NO';
  return (row.target.op === '>=' ? subject >= row.target.limit : subject <= row.target.limit) ? 'yes' : 'NO';
}

export function formatNumber(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return 'n/a';
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function cells(row: Row): string[] {
  const ratio = ratioOf(row);
  return [
    row.scenario,
    row.figure,
    `${formatNumber(row.value)} ${row.unit}`,
    row.baseline === null ? '—' : `${formatNumber(row.baseline)} ${row.unit} (${row.baselineName})`,
    ratio === null ? '—' : `${ratio.toFixed(2)}×`,
    targetText(row),
    met(row),
  ];
}

const HEADER = ['scenario', 'figure', 'Switchboard', 'baseline (same run)', 'ratio', 'target', 'met'];

/** The one table printed at the end of a run. */
export function textTable(rows: Row[]): string {
  const all = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  return [
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
  ].join('\n');
}
