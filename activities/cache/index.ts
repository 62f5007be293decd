import { config } from '../../common/config';
import { logger } from '../../common/logger';
import { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from './circuit-breaker';
import { RateLimiter } from './rate-limiter';
import { RedisLink } from './redis-link';
import { ResponseCache } from './response-cache';

export * from './circuit-breaker';
export { RateLimiter, type RateLimiterOptions } from './rate-limiter';
export { ResponseCache, type CacheValue } from './response-cache';
export { cacheHits, cacheMisses, circuitBreakerStatus, memoryOperationLatency, timeMemoryOperation } from './metrics';

export interface SharedStateHealth {
  /** The configured backend: `redis` when REDIS_URL is set, even while Redis is down. */
  backend: 'redis' | 'in-process';
  /** `up`/`down` for a configured Redis; `disabled` without REDIS_URL. */
  redis: 'up' | 'down' | 'disabled';
  breakers: Record<string, BreakerState>;
}

/** State shared by every worker of the fleet through Redis, or kept in-process without it. */
export interface SharedState {
  cache: ResponseCache;
  /** The LLM rate limiter (LLM_RATE_LIMIT_RPM). */
  limiter: RateLimiter;
  /** The circuit breaker of a dependency (`llm`, `qdrant`, `redis`…), one per name per process. */
  breaker(name: string): CircuitBreaker;
  backend: 'redis' | 'in-process';
  health(): Promise<SharedStateHealth>;
  close(): Promise<void>;
}

export interface SharedStateOptions {
  /** Unset: everything runs in-process. */
  redisUrl?: string;
  rateLimitRpm: number;
  rateLimitBurst?: number;
  cacheTtlSeconds: number;
  /** Namespaces the Redis keys, so deployments (or test files) sharing a Redis do not collide. */
  keyPrefix?: string;
  breakerOptions?: CircuitBreakerOptions;
  commandTimeoutMs?: number;
}

/** Builds a shared state from explicit options (tests, tools). Workers use `sharedState()`. */
export function createSharedState(options: SharedStateOptions): SharedState {
  const keyPrefix = options.keyPrefix ?? 'sophia:';
  const breakers = new Map<string, CircuitBreaker>();
  const breaker = (name: string): CircuitBreaker => {
    let found = breakers.get(name);
    if (!found) {
      found = new CircuitBreaker(name, options.breakerOptions);
      breakers.set(name, found);
    }
    return found;
  };
  const link = options.redisUrl
    ? new RedisLink({ url: options.redisUrl, breaker: breaker('redis'), commandTimeoutMs: options.commandTimeoutMs })
    : undefined;
  if (!link) logger('redis').info('REDIS_URL is unset: response cache and rate limiter run in-process, per worker');
  const backend = link ? 'redis' : 'in-process';
  return {
    cache: new ResponseCache(link, { keyPrefix, defaultTtlSeconds: options.cacheTtlSeconds }),
    limiter: new RateLimiter(link, {
      name: 'llm',
      requestsPerMinute: options.rateLimitRpm,
      burst: options.rateLimitBurst,
      keyPrefix,
    }),
    breaker,
    backend,
    async health() {
      const redis = link ? ((await link.ping()) ? 'up' : 'down') : 'disabled';
      return { backend, redis, breakers: Object.fromEntries([...breakers].map(([name, b]) => [name, b.state])) };
    },
    async close() {
      await link?.close();
    },
  };
}

let shared: SharedState | undefined;

/**
 * The process's shared state, built once from config (REDIS_URL, LLM_RATE_LIMIT_RPM,
 * LLM_CACHE_TTL_SECONDS). Never throws because Redis is missing or down.
 */
export function sharedState(): SharedState {
  if (!shared) {
    const cfg = config();
    shared = createSharedState({
      redisUrl: cfg.REDIS_URL,
      rateLimitRpm: cfg.LLM_RATE_LIMIT_RPM,
      cacheTtlSeconds: cfg.LLM_CACHE_TTL_SECONDS,
      keyPrefix: `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}:`,
    });
  }
  return shared;
}

/** Closes the process's Redis connection (worker shutdown). */
export async function closeSharedState(): Promise<void> {
  const current = shared;
  shared = undefined;
  await current?.close();
}
