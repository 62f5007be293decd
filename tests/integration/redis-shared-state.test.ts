import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { register } from 'prom-client';
import { createSharedState, type SharedState } from '../../activities/cache';
import { TestRedis } from '../support/redis-server';

let redis: TestRedis;
let inspector: Redis;
const opened: SharedState[] = [];

function worker(overrides: Partial<Parameters<typeof createSharedState>[0]> = {}): SharedState {
  const state = createSharedState({
    redisUrl: redis.url,
    rateLimitRpm: 0,
    cacheTtlSeconds: 60,
    keyPrefix: `t${opened.length}:`,
    breakerOptions: { failureThreshold: 2, resetTimeoutMs: 200 },
    commandTimeoutMs: 300,
    ...overrides,
  });
  opened.push(state);
  return state;
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await register.getSingleMetric(name)?.get();
  const found = metric?.values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return found?.value ?? 0;
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(100);
  }
}

beforeAll(async () => {
  redis = await TestRedis.start();
  inspector = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  inspector.on('error', () => undefined);
  await inspector.connect();
});

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  inspector.disconnect();
  await redis.stop();
});

describe('shared state on a real Redis', () => {
  test('a response cached by one worker is a hit for another worker, with its TTL set in Redis', async () => {
    const a = worker({ keyPrefix: 'shared:' });
    const b = worker({ keyPrefix: 'shared:' });
    const hitsBefore = await metricValue('cache_hits_total', { backend: 'redis' });

    expect(await b.cache.get('req-1')).toBeUndefined();
    await a.cache.set('req-1', { content: 'hello', usage: { total: 3 } }, 30);

    expect(await b.cache.get('req-1')).toEqual({ content: 'hello', usage: { total: 3 } });
    expect(await inspector.ttl('shared:cache:req-1')).toBeGreaterThan(25);
    expect(await metricValue('cache_hits_total', { backend: 'redis' })).toBe(hitsBefore + 1);
    expect(await metricValue('cache_misses_total', { backend: 'redis' })).toBeGreaterThanOrEqual(1);
  });

  test('two workers draw from one token bucket, so the fleet together stays under the limit', async () => {
    const a = worker({ keyPrefix: 'bucket:', rateLimitRpm: 60, rateLimitBurst: 2 });
    const b = worker({ keyPrefix: 'bucket:', rateLimitRpm: 60, rateLimitBurst: 2 });

    expect(await a.limiter.tryAcquire()).toBe(0);
    expect(await b.limiter.tryAcquire()).toBe(0);
    const wait = await a.limiter.tryAcquire();
    // 60 rpm is one token a second: the third request waits for close to a second.
    expect(wait).toBeGreaterThan(500);
    expect(wait).toBeLessThanOrEqual(1_000);
    expect(await inspector.exists('bucket:ratelimit:llm:bucket')).toBe(1);
  });

  test('a 429 penalty from one worker makes every worker back off', async () => {
    const a = worker({ keyPrefix: 'penalty:' });
    const b = worker({ keyPrefix: 'penalty:' });
    expect(await b.limiter.tryAcquire()).toBe(0);

    await a.limiter.penalize(400);

    const wait = await b.limiter.tryAcquire();
    expect(wait).toBeGreaterThan(200);
    const started = Date.now();
    await b.limiter.acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  test('reports Redis as up and every breaker closed when healthy', async () => {
    const state = worker();
    await state.cache.get('warm-up');
    expect(await state.health()).toEqual({ backend: 'redis', redis: 'up', breakers: { redis: 'closed' } });
  });

  test('when Redis is killed mid-run the cache and limiter degrade to in-process without failing, then recover', async () => {
    const state = worker({ keyPrefix: 'crash:', rateLimitRpm: 600, rateLimitBurst: 5 });
    await state.cache.set('before', 'cached-before-crash');
    expect(await inspector.get('crash:cache:before')).toBe('"cached-before-crash"');

    await redis.stop();

    // Nothing throws; what this worker cached itself is still served from its in-process copy.
    const started = Date.now();
    expect(await state.cache.get('before')).toBe('cached-before-crash');
    await expect(state.cache.set('during', 'cached-during-outage')).resolves.toBeUndefined();
    expect(await state.cache.get('during')).toBe('cached-during-outage');
    expect(await state.limiter.acquire()).toBeGreaterThanOrEqual(0);
    await state.limiter.penalize(1);
    expect(Date.now() - started).toBeLessThan(3_000);

    const health = await state.health();
    expect(health.redis).toBe('down');
    expect(health.breakers.redis).not.toBe('closed');
    expect(await metricValue('sophia_circuit_breaker_status', { service: 'redis', state: 'closed' })).toBe(0);

    await redis.start();
    await eventually(async () => (await state.health()).redis === 'up');
    expect((await state.health()).breakers.redis).toBe('closed');
    expect(await metricValue('sophia_circuit_breaker_status', { service: 'redis', state: 'closed' })).toBe(1);

    await state.cache.set('after', 'back-in-redis');
    expect(await inspector.get('crash:cache:after')).toBe('"back-in-redis"');
  });
});

describe('shared state without Redis', () => {
  test('runs the cache and limiter in-process when no Redis URL is configured', async () => {
    const state = createSharedState({ rateLimitRpm: 60, rateLimitBurst: 1, cacheTtlSeconds: 60 });
    opened.push(state);
    await state.cache.set('k', [1, 2, 3]);
    expect(await state.cache.get('k')).toEqual([1, 2, 3]);
    expect(await state.limiter.tryAcquire()).toBe(0);
    expect(await state.limiter.tryAcquire()).toBeGreaterThan(0);
    expect(await state.health()).toEqual({ backend: 'in-process', redis: 'disabled', breakers: {} });
  });

  test('falls back to in-process after one short connect wait when the configured Redis is unreachable from the start', async () => {
    const state = createSharedState({
      redisUrl: 'redis://127.0.0.1:1',
      rateLimitRpm: 0,
      cacheTtlSeconds: 60,
      commandTimeoutMs: 200,
    });
    opened.push(state);
    await state.cache.set('offline', 'yes');
    expect(await state.cache.get('offline')).toBe('yes');
    expect(await state.limiter.tryAcquire()).toBe(0);
    expect((await state.health()).redis).toBe('down');
  });
});
