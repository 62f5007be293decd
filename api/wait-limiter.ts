import { HttpError } from './errors';

/**
 * Caps the requests that hold a connection open while a job runs (`?wait=`, SSE streams), overall
 * or per key (a tenant). Over the cap a request answers 429 with Retry-After at once instead of
 * holding a socket.
 */
export class WaitLimiter {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly what = 'waiting requests',
  ) {}

  /** Takes a slot or throws 429; the release function is idempotent. */
  acquire(key = '*'): () => void {
    const now = this.open.get(key) ?? 0;
    if (now >= this.max) {
      throw new HttpError(429, 'TooManyWaits', `Too many ${this.what} are open (at most ${this.max}); retry shortly.`, {
        retryAfterSeconds: 1,
      });
    }
    this.open.set(key, now + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left <= 0) this.open.delete(key);
      else this.open.set(key, left);
    };
  }

  async run<T>(fn: () => Promise<T>, key?: string): Promise<T> {
    const release = this.acquire(key);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  count(key = '*'): number {
    return this.open.get(key) ?? 0;
  }
}
