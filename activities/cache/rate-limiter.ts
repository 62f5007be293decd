import { setTimeout as sleep } from 'node:timers/promises';
import { rateLimiterWaitSeconds } from './metrics';
import type { RedisLink } from './redis-link';

/**
 * Token bucket in one Lua script, so every worker draws from the same bucket atomically. Redis's own
 * clock (TIME) is used, so workers with skewed clocks agree. Returns 0 when a token was taken, else
 * the milliseconds to wait before trying again.
 *   KEYS[1] bucket hash {tokens, ts}; KEYS[2] penalty key (epoch ms until which everyone waits)
 *   ARGV[1] capacity; ARGV[2] refill tokens per ms; ARGV[3] cost
 */
const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > now then return blocked - now end
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or capacity
local ts = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = math.ceil((cost - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return wait
`;

/** Extends the shared penalty to now + ARGV[1] ms, never shortening one already in force. */
const PENALIZE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > current then redis.call('SET', KEYS[1], tostring(untilMs), 'PX', tonumber(ARGV[1])) end
return untilMs - now
`;

export interface RateLimiterOptions {
  name: string;
  /** Requests per minute for the whole fleet; 0 turns the bucket off (429 penalties still apply). */
  requestsPerMinute: number;
  /** Bucket size: how many requests may burst at once. Defaults to a tenth of a minute's worth, at least 1. */
  burst?: number;
  keyPrefix: string;
}

/**
 * A fleet-wide token bucket for LLM calls, shared through Redis, with an in-process bucket of the same
 * shape when Redis is absent or down (each worker then limits itself alone: a degraded but safe mode).
 * `penalize` makes every worker back off after a 429.
 */
export class RateLimiter {
  private readonly capacity: number;
  private readonly ratePerMs: number;
  private localTokens: number;
  private localTs = Date.now();
  private localBlockedUntil = 0;

  constructor(
    private readonly link: RedisLink | undefined,
    private readonly options: RateLimiterOptions,
  ) {
    this.capacity = Math.max(1, options.burst ?? Math.ceil(options.requestsPerMinute / 10));
    this.ratePerMs = options.requestsPerMinute / 60_000;
    this.localTokens = this.capacity;
  }

  get enabled(): boolean {
    return this.options.requestsPerMinute > 0;
  }

  /** Takes a token if one is free. Returns 0 on success, else the milliseconds to wait. */
  async tryAcquire(cost = 1): Promise<number> {
    if (!this.link) return this.takeLocal(cost);
    return this.link.run(
      'limiter.take',
      async (c) =>
        Number(
          await c.eval(
            TAKE_SCRIPT,
            2,
            this.bucketKey,
            this.penaltyKey,
            // With the bucket off only the penalty matters: an endless bucket never makes anyone wait.
            this.enabled ? this.capacity : 1e12,
            this.enabled ? this.ratePerMs : 1e12,
            cost,
          ),
        ),
      () => this.takeLocal(cost),
    );
  }

  /**
   * Waits until a token is free and takes it. `onWait` is called before each sleep (an activity
   * heartbeats there); `signal` aborts the wait. Returns the milliseconds waited.
   */
  async acquire(
    options: { cost?: number; signal?: AbortSignal; onWait?: (waitMs: number) => void } = {},
  ): Promise<number> {
    const started = Date.now();
    for (;;) {
      const waitMs = await this.tryAcquire(options.cost ?? 1);
      if (waitMs <= 0) break;
      options.onWait?.(waitMs);
      // Re-check at least every second: another worker's penalty or a Redis outage can change the answer.
      await sleep(Math.min(waitMs, 1_000), undefined, { signal: options.signal });
    }
    const waited = Date.now() - started;
    if (waited > 0) rateLimiterWaitSeconds.inc({ limiter: this.options.name }, waited / 1000);
    return waited;
  }

  /** After a 429: every worker sharing this limiter waits `retryAfterMs` before its next call. */
  async penalize(retryAfterMs: number): Promise<void> {
    const ms = Math.max(1, Math.ceil(retryAfterMs));
    this.localBlockedUntil = Math.max(this.localBlockedUntil, Date.now() + ms);
    if (!this.link) return;
    await this.link.run(
      'limiter.penalize',
      async (c) => void (await c.eval(PENALIZE_SCRIPT, 1, this.penaltyKey, ms)),
      () => undefined,
    );
  }

  private takeLocal(cost: number): number {
    const now = Date.now();
    if (this.localBlockedUntil > now) return this.localBlockedUntil - now;
    if (!this.enabled) return 0;
    this.localTokens = Math.min(this.capacity, this.localTokens + Math.max(0, now - this.localTs) * this.ratePerMs);
    this.localTs = now;
    if (this.localTokens >= cost) {
      this.localTokens -= cost;
      return 0;
    }
    return Math.ceil((cost - this.localTokens) / this.ratePerMs);
  }

  private get bucketKey(): string {
    return `${this.options.keyPrefix}ratelimit:${this.options.name}:bucket`;
  }

  private get penaltyKey(): string {
    return `${this.options.keyPrefix}ratelimit:${this.options.name}:penalty`;
  }
}
