import Redis from 'ioredis';

/**
 * What each tenant (and each job) has spent on the model today: tokens and cost, per UTC day. In
 * Redis when REDIS_URL is set, so every API replica and LLM worker sees the same figures; in process
 * otherwise (one machine, one process: the figures reset on restart). The API reads it to refuse a
 * new job over the tenant's daily quota; the LLM worker adds each call and checks the next one.
 */

export interface Usage {
  tokens: number;
  costUsd: number;
}

export interface UsageLedger {
  add(scope: string, day: string, usage: Usage): Promise<void>;
  get(scope: string, day: string): Promise<Usage>;
  close(): Promise<void>;
}

/** `YYYY-MM-DD` in UTC. */
export function utcDay(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** Seconds until the next UTC midnight, when the daily quotas start again. */
export function secondsUntilUtcMidnight(now = new Date()): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

/** The scope key of a tenant's daily usage. */
export const tenantScope = (tenant: string) => `tenant:${tenant}`;

export class InProcessLedger implements UsageLedger {
  private readonly entries = new Map<string, Usage>();

  async add(scope: string, day: string, usage: Usage): Promise<void> {
    const key = `${day}|${scope}`;
    const now = this.entries.get(key) ?? { tokens: 0, costUsd: 0 };
    this.entries.set(key, { tokens: now.tokens + usage.tokens, costUsd: now.costUsd + usage.costUsd });
    // Keep only today and yesterday: a long-running process must not grow without bound.
    if (this.entries.size > 10_000) {
      for (const k of this.entries.keys()) if (!k.startsWith(day)) this.entries.delete(k);
    }
  }

  async get(scope: string, day: string): Promise<Usage> {
    return this.entries.get(`${day}|${scope}`) ?? { tokens: 0, costUsd: 0 };
  }

  async close(): Promise<void> {}
}

export class RedisLedger implements UsageLedger {
  private readonly redis: Redis;

  constructor(url: string) {
    this.redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: 1_000,
      connectTimeout: 2_000,
      disconnectTimeout: 200,
    });
    // Without a listener ioredis re-emits socket errors as unhandled events.
    this.redis.on('error', () => undefined);
  }

  private key(scope: string, day: string) {
    return `sophia:usage:${day}:${scope}`;
  }

  async add(scope: string, day: string, usage: Usage): Promise<void> {
    const key = this.key(scope, day);
    await this.redis
      .multi()
      .hincrby(key, 'tokens', Math.round(usage.tokens))
      // Micro-dollars as an integer: floats summed in Redis drift.
      .hincrby(key, 'microUsd', Math.round(usage.costUsd * 1e6))
      .expire(key, 3 * 24 * 3600)
      .exec();
  }

  async get(scope: string, day: string): Promise<Usage> {
    const values = await this.redis.hmget(this.key(scope, day), 'tokens', 'microUsd');
    return { tokens: Number(values[0] ?? 0), costUsd: Number(values[1] ?? 0) / 1e6 };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

const ledgers = new Map<string, UsageLedger>();

/** The process's ledger for a Redis URL (or in process when there is none). */
export function usageLedger(redisUrl: string | undefined): UsageLedger {
  const key = redisUrl ?? '';
  let ledger = ledgers.get(key);
  if (!ledger) {
    ledger = redisUrl ? new RedisLedger(redisUrl) : new InProcessLedger();
    ledgers.set(key, ledger);
  }
  return ledger;
}

/** Closes every ledger of the process (their Redis connections reconnect for ever otherwise). */
export async function closeUsageLedgers(): Promise<void> {
  const open = [...ledgers.values()];
  ledgers.clear();
  await Promise.all(open.map((l) => l.close()));
}

/**
 * The tenant of a workflow id the API made: `job-<tenant>.…`, `review-<tenant>:…`,
 * `index-repository:<tenant>:…`, `memory-…:<tenant>:…`. Undefined for any other id.
 */
export function tenantOfWorkflowId(workflowId: string): string | undefined {
  const match =
    /^job-([A-Za-z0-9][A-Za-z0-9_-]{0,62})\./.exec(workflowId) ??
    /^(?:review-|index-repository:|memory-search:|memory-store:)([A-Za-z0-9][A-Za-z0-9_-]{0,62}):/.exec(workflowId);
  return match?.[1];
}
