/** Where a command writes: the process's streams, or a test's buffers. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether `err` is a terminal (progress bars are drawn only there, or with --progress). */
  readonly isTTY: boolean;
}

export const processIo: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  isTTY: process.stderr.isTTY === true,
};

/**
 * A one-line progress bar on `io.err` (`label [#####-----] 50% 500/1000`), redrawn at most every
 * 100 ms and at the end. Drawn only on a terminal or when `force` is set; otherwise silent, so
 * scripts and logs get just the summary.
 */
export function progressBar(io: CliIo, label: string, force = false): (done: number, total: number) => void {
  if (!io.isTTY && !force) return () => {};
  let drawnAt = 0;
  return (done, total) => {
    const now = Date.now();
    const finished = done >= total;
    if (!finished && now - drawnAt < 100) return;
    drawnAt = now;
    const share = total === 0 ? 1 : Math.min(1, done / total);
    const width = 30;
    const filled = Math.round(share * width);
    io.err(
      `\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ${done}/${total}${finished ? '\n' : ''}`,
    );
  };
}
