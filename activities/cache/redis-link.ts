import Redis from 'ioredis';
import { logger } from '../../common/logger';
import type { CircuitBreaker } from './circuit-breaker';

export interface RedisLinkOptions {
  url: string;
  breaker: CircuitBreaker;
  /** A command slower than this counts as a failure, so a hung Redis degrades like a dead one. */
  commandTimeoutMs?: number;
  /** How long the first command waits for the initial connection before using the fallback. */
  connectWaitMs?: number;
}

/**
 * One ioredis connection guarded by a circuit breaker. `run` never throws because of Redis: when
 * Redis is down, slow or the breaker is open it returns the caller's fallback, so no job fails for
 * want of a cache. ioredis keeps reconnecting in the background; its `ready` event closes the breaker.
 */
export class RedisLink {
  readonly client: Redis;
  private readonly log = logger('redis');
  private readonly breaker: CircuitBreaker;
  private readonly connectWaitMs: number;
  private everReady = false;
  private degraded = false;
  private closed = false;
  private initialWait?: Promise<void>;

  constructor(options: RedisLinkOptions) {
    this.breaker = options.breaker;
    this.connectWaitMs = options.connectWaitMs ?? 1_000;
    this.client = new Redis(options.url, {
      lazyConnect: true,
      // Fail commands at once while disconnected instead of queueing them behind a dead socket.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 1_000,
      connectTimeout: 2_000,
      // ioredis waits this long for a dead socket to close on disconnect, holding the process open.
      disconnectTimeout: 200,
      // Never give up reconnecting: Redis coming back should heal the fleet without a restart.
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    });
    this.client.on('ready', () => {
      this.everReady = true;
      this.breaker.reset();
      if (this.degraded) this.log.info('Redis is back: shared cache and rate limiter restored');
      this.degraded = false;
    });
    this.client.on('close', () => {
      if (this.closed) return;
      this.breaker.trip();
      this.markDegraded('connection closed');
    });
    // Without a listener ioredis re-emits socket errors as unhandled 'error' events and crashes the process.
    this.client.on('error', (err: Error) => this.markDegraded(err.message));
    this.client.connect().catch((err: Error) => this.markDegraded(err.message));
  }

  /** Whether Redis answered its last command and the connection is open. */
  get up(): boolean {
    return this.client.status === 'ready' && this.breaker.state === 'closed';
  }

  /** Runs `fn` against Redis, or returns `fallback()` when Redis cannot serve. Never throws for Redis. */
  async run<T>(operation: string, fn: (client: Redis) => Promise<T>, fallback: () => T | Promise<T>): Promise<T> {
    if (!(await this.usable())) return fallback();
    if (!this.breaker.allowRequest()) return fallback();
    try {
      const result = await fn(this.client);
      this.breaker.recordSuccess();
      return result;
    } catch (err) {
      this.breaker.recordFailure();
      this.markDegraded(`${operation}: ${(err as Error).message}`);
      return fallback();
    }
  }

  async ping(): Promise<boolean> {
    return this.run(
      'ping',
      async (c) => (await c.ping()) === 'PONG',
      () => false,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.client.status === 'ready') await this.client.quit().catch(() => undefined);
    // Also stops a pending reconnect timer, which quit() leaves running on a dead connection.
    this.client.disconnect();
  }

  private async usable(): Promise<boolean> {
    if (this.client.status === 'ready') return true;
    // Only the first commands wait (once, together) for the initial connection; after that a
    // missing Redis costs nothing but a status check.
    if (this.everReady || this.closed || this.connectWaitMs <= 0) return false;
    this.initialWait ??= new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, this.connectWaitMs);
      this.client.once('ready', done);
    });
    await this.initialWait;
    return (this.client.status as string) === 'ready';
  }

  private markDegraded(reason: string): void {
    if (this.degraded || this.closed) return;
    this.degraded = true;
    this.log.warn({ reason }, 'Redis unavailable: cache and rate limiter run in-process until it is back');
  }
}
