import { Counter, Gauge, Histogram } from 'prom-client';
import { once } from '../../common/metrics';

/** Metrics of the cache, the limiter, the breakers and memory, on the default prom-client registry (see `once`). */
export const cacheHits = once(
  'cache_hits_total',
  () =>
    new Counter({
      name: 'cache_hits_total',
      help: 'Response-cache lookups that found an entry, by backend (redis or in-process).',
      labelNames: ['backend'] as const,
    }),
);

export const cacheMisses = once(
  'cache_misses_total',
  () =>
    new Counter({
      name: 'cache_misses_total',
      help: 'Response-cache lookups that found nothing, by backend (redis or in-process).',
      labelNames: ['backend'] as const,
    }),
);

export const memoryOperationLatency = once(
  'memory_operation_latency_seconds',
  () =>
    new Histogram({
      name: 'memory_operation_latency_seconds',
      help: 'Latency of memory-store operations (store, search, delete, stats, embed), by operation and store.',
      labelNames: ['operation', 'store'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
);

export const circuitBreakerStatus = once(
  'sophia_circuit_breaker_status',
  () =>
    new Gauge({
      name: 'sophia_circuit_breaker_status',
      help: 'Circuit breaker state per dependency: 1 for the current state, 0 for the others.',
      labelNames: ['service', 'state'] as const,
    }),
);

export const rateLimiterWaitSeconds = once(
  'sophia_rate_limiter_wait_seconds_total',
  () =>
    new Counter({
      name: 'sophia_rate_limiter_wait_seconds_total',
      help: 'Time callers spent waiting for a rate-limiter token, by limiter.',
      labelNames: ['limiter'] as const,
    }),
);

/** Times an async memory operation into `memory_operation_latency_seconds`, failures included. */
export async function timeMemoryOperation<T>(operation: string, store: string, run: () => Promise<T>): Promise<T> {
  const end = memoryOperationLatency.startTimer({ operation, store });
  try {
    return await run();
  } finally {
    end();
  }
}
