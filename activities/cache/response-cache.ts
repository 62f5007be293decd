import { LruCache } from './lru';
import { cacheHits, cacheMisses } from './metrics';
import type { RedisLink } from './redis-link';

/** A JSON-serialisable cached value (an LLM response, typically). */
export type CacheValue = unknown;

/**
 * The LLM response cache, keyed by a hash of model + messages + parameters. Reads go to Redis when it
 * is up and to the in-process LRU otherwise; writes go to both, so a worker that loses Redis still
 * answers what it cached itself. Never throws because of Redis.
 */
export class ResponseCache {
  private readonly local: LruCache<string>;

  constructor(
    private readonly link: RedisLink | undefined,
    private readonly options: { keyPrefix: string; defaultTtlSeconds: number; maxLocalEntries?: number },
  ) {
    this.local = new LruCache(options.maxLocalEntries ?? 1_000);
    // Both series exist from the start, so a cache that never hits reads as a 0% hit rate, not as no data.
    for (const backend of link ? ['redis', 'in-process'] : ['in-process']) {
      cacheHits.inc({ backend }, 0);
      cacheMisses.inc({ backend }, 0);
    }
  }

  async get<T = CacheValue>(key: string): Promise<T | undefined> {
    const localHit = (): { raw: string | undefined; backend: 'redis' | 'in-process' } => ({
      raw: this.local.get(key),
      backend: 'in-process',
    });
    const { raw, backend } = this.link
      ? await this.link.run(
          'cache.get',
          async (c) => ({ raw: (await c.get(this.redisKey(key))) ?? undefined, backend: 'redis' as const }),
          localHit,
        )
      : localHit();
    if (raw === undefined) {
      cacheMisses.inc({ backend });
      return undefined;
    }
    cacheHits.inc({ backend });
    return JSON.parse(raw) as T;
  }

  /** Stores `value` for `ttlSeconds` (the configured LLM_CACHE_TTL_SECONDS when omitted; 0 = no expiry). */
  async set(key: string, value: CacheValue, ttlSeconds = this.options.defaultTtlSeconds): Promise<void> {
    const raw = JSON.stringify(value);
    this.local.set(key, raw, ttlSeconds);
    if (!this.link) return;
    await this.link.run(
      'cache.set',
      async (c) => {
        if (ttlSeconds > 0) await c.set(this.redisKey(key), raw, 'EX', ttlSeconds);
        else await c.set(this.redisKey(key), raw);
      },
      () => undefined,
    );
  }

  async delete(key: string): Promise<void> {
    this.local.delete(key);
    if (!this.link) return;
    await this.link.run(
      'cache.delete',
      async (c) => void (await c.del(this.redisKey(key))),
      () => undefined,
    );
  }

  private redisKey(key: string): string {
    return `${this.options.keyPrefix}cache:${key}`;
  }
}
