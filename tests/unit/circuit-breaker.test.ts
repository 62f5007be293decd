import type * as PromClient from 'prom-client';
import { register } from 'prom-client';
import type * as CacheMetrics from '../../activities/cache/metrics';
import { CircuitBreaker, CircuitOpenError } from '../../activities/cache/circuit-breaker';
import { LruCache } from '../../activities/cache/lru';

async function gauge(service: string): Promise<Record<string, number>> {
  const metric = await register.getSingleMetric('sophia_circuit_breaker_status')?.get();
  return Object.fromEntries(
    (metric?.values ?? []).filter((v) => v.labels.service === service).map((v) => [String(v.labels.state), v.value]),
  );
}

describe('circuit breaker', () => {
  test('opens after consecutive failures, lets one trial through after the timeout, and closes on success', async () => {
    let now = 0;
    const breaker = new CircuitBreaker('unit-dep', { failureThreshold: 2, resetTimeoutMs: 1_000, now: () => now });
    const failing = (): Promise<never> => Promise.reject(new Error('down'));

    await expect(breaker.execute(failing)).rejects.toThrow('down');
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(failing)).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
    expect(await gauge('unit-dep')).toEqual({ closed: 0, open: 1, half_open: 0 });
    await expect(breaker.execute(() => Promise.resolve(1))).rejects.toBeInstanceOf(CircuitOpenError);

    now = 1_000;
    expect(breaker.state).toBe('half_open');
    expect(breaker.allowRequest()).toBe(true);
    // Only one trial at a time while half-open.
    expect(breaker.allowRequest()).toBe(false);
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
    expect(await gauge('unit-dep')).toEqual({ closed: 1, open: 0, half_open: 0 });
  });

  test('a failed half-open trial opens the breaker again', () => {
    let now = 0;
    const breaker = new CircuitBreaker('unit-dep-2', { failureThreshold: 1, resetTimeoutMs: 10, now: () => now });
    breaker.recordFailure();
    now = 10;
    expect(breaker.allowRequest()).toBe(true);
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
  });

  test('loading the metrics module twice does not register a metric twice', () => {
    // The module loads again, but on the registry it already filled: prom-client stays the same instance.
    const promClient = jest.requireActual<typeof PromClient>('prom-client');
    const first = jest.requireActual<typeof CacheMetrics>('../../activities/cache/metrics');
    jest.isolateModules(() => {
      jest.doMock('prom-client', () => promClient);
      const again = jest.requireActual<typeof CacheMetrics>('../../activities/cache/metrics');
      expect(again.cacheHits).toBe(first.cacheHits);
      jest.dontMock('prom-client');
    });
    expect(register.getMetricsAsArray().filter((m) => m.name === 'cache_hits_total')).toHaveLength(1);
  });
});

describe('response cache helpers', () => {
  test('the in-process LRU evicts the least recently used entry and expires old ones', () => {
    let now = 0;
    const lru = new LruCache<string>(2, () => now);
    lru.set('a', '1', 10);
    lru.set('b', '2', 10);
    lru.get('a');
    lru.set('c', '3', 10);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe('1');
    now = 10_000;
    expect(lru.get('a')).toBeUndefined();
  });
});
