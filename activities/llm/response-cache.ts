import { LruCache } from '../cache/lru';

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

/** The in-process LRU with expiry, as a ResponseCache: enough for one worker, and for tests. */
export class InProcessResponseCache implements ResponseCache {
  private readonly entries: LruCache<string>;

  constructor(maxEntries = 1000, now: () => number = Date.now) {
    this.entries = new LruCache(maxEntries, now);
  }

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.entries.get(key));
  }

  set(key: string, value: string, ttlSeconds: number): Promise<void> {
    // 0 means no expiry, as in the shared Redis cache: LLM_CACHE_TTL_SECONDS has one meaning.
    this.entries.set(key, value, ttlSeconds);
    return Promise.resolve();
  }

  /** Number of entries held; for tests. */
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
