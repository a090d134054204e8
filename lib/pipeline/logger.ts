/**
 * The logger a task receives in its context: three levels, a message and optional structured fields
 * (numbers, strings, booleans) that an executor can store with the quantum's record. lib/ never writes
 * to a console itself; the host decides where log entries go.
 */
export type LogLevel = 'debug' | 'info' | 'warn';

export type LogFields = Readonly<Record<string, number | string | boolean>>;

export interface TaskLogger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
}

export interface LogEntry {
  level: LogLevel;
  message: string;
  fields?: LogFields;
}

/** Discards everything. */
export const silentLogger: TaskLogger = {
  debug() {},
  info() {},
  warn() {},
};

/** Keeps every entry in `entries` (tests, and executors that store the log with the quantum). */
export function memoryLogger(): TaskLogger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const push = (level: LogLevel) => (message: string, fields?: LogFields): void => {
    entries.push(fields ? { level, message, fields } : { level, message });
  };
  return { entries, debug: push('debug'), info: push('info'), warn: push('warn') };
}

/** Milliseconds since the previous call (or since creation): a task's per-step timings for its log. */
export function stepTimer(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const ms = now - last;
    last = now;
    return Math.round(ms * 10) / 10;
  };
}
