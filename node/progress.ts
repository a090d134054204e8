/**
 * Progress for long commands: a redrawn bar on a terminal (stderr is a TTY), plain log lines
 * otherwise (at most one every 5 s, plus the last), so logs and CI output stay readable.
 */
export interface Progress {
  /** Sets the number of units done (out of `total`) and what is happening now. */
  update(done: number, what: string): void;
  done(summary: string): void;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  if (seconds < 60) return `${seconds.toFixed(0)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

export function progress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  const tty = stream.isTTY === true;
  let lastLog = 0;
  const line = (done: number, what: string): string => {
    const elapsed = (Date.now() - started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : Infinity;
    return `${label} ${done}/${total}  ${formatDuration(elapsed)} elapsed, ETA ${formatDuration(eta)}  ${what}`;
  };
  return {
    update(done, what) {
      if (tty) {
        const width = 24;
        const filled = Math.round((done / Math.max(total, 1)) * width);
        const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
        stream.write(`\r\x1b[2K${bar} ${line(done, what)}`.slice(0, (stream.columns ?? 120) + 8));
      } else if (Date.now() - lastLog >= 5000 || done === total) {
        lastLog = Date.now();
        stream.write(`${line(done, what)}\n`);
      }
    },
    done(summary) {
      if (tty) stream.write('\r\x1b[2K');
      stream.write(`${label}: ${summary} in ${formatDuration((Date.now() - started) / 1000)}\n`);
    },
  };
}
