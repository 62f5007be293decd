/**
 * The response cache seam of the model client. A completed model call is never paid for twice: the
 * client stores each validated answer under its request hash, so the retry of an activity that
 * crashed after the model answered gets the answer back instead of calling the model again.
 *
 * The default is in-process (enough for one worker, and for tests). A worker wires the shared Redis
 * cache with one line at start-up: `setResponseCache(sharedState().cache)`.
 */

/**
 * A string key/value store with expiry (`ttlSeconds` 0: no expiry). Errors are survivable: the client
 * then just calls the model.
 */
export interface ResponseCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
}

/** A Map with expiry and a size bound (oldest entry out first), for one process. */
export class InProcessResponseCache implements ResponseCache {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();

  constructor(
    private readonly maxEntries = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return Promise.resolve(undefined);
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(entry.value);
  }

  set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.entries.delete(key);
    // 0 means no expiry, as in the shared Redis cache: LLM_CACHE_TTL_SECONDS has one meaning.
    this.entries.set(key, { value, expiresAt: ttlSeconds > 0 ? this.now() + ttlSeconds * 1000 : Infinity });
    // Map iteration is insertion order, so the first key is the oldest write.
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return Promise.resolve();
  }

  /** Number of live and expired entries held; for tests. */
  get size(): number {
    return this.entries.size;
  }
}

let current: ResponseCache = new InProcessResponseCache();

/** Replaces the process's response cache; `undefined` goes back to a fresh in-process cache. */
export function setResponseCache(cache: ResponseCache | undefined): void {
  current = cache ?? new InProcessResponseCache();
}

/** The process's response cache. */
export function responseCache(): ResponseCache {
  return current;
}
