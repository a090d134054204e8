/**
 * Retries file operations that failed for a transient reason (an NFS hiccup, a busy or interrupted
 * call, a momentary shortage of file descriptors): up to `attempts` tries, waiting 50, 100, 200 ms...
 * between them. Anything else (a missing file, a full disk, a permission) fails at once.
 */
const TRANSIENT = new Set(['EIO', 'EAGAIN', 'EBUSY', 'EINTR', 'ETIMEDOUT', 'EMFILE', 'ENFILE', 'ESTALE']);

export function isTransient(err: unknown): boolean {
  return TRANSIENT.has((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}

export async function withTransientRetry<T>(operation: () => T | Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (err) {
      if (attempt >= attempts || !isTransient(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** (attempt - 1)));
    }
  }
}
