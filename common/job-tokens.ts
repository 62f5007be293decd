import { EventEmitter } from 'node:events';
import Redis from 'ioredis';
import { config } from './config';
import { logger } from './logger';

/**
 * The model's tokens of a job, on their way from the llm pool (which generates them) to the API
 * (which streams them to clients over WebSocket and SSE). Not durable and not in workflow history:
 * a job's result never depends on them; they are what a person watches while it runs.
 *
 * With REDIS_URL, one Redis stream per job (`XADD`, capped and expiring), so the llm pool and the API
 * may be different processes or machines, and a client that reconnects reads the stream from where it
 * stopped (each piece carries its stream id). Without Redis, an in-process bus serves the processes
 * that run both the llm pool and the API (tests, a single process); across processes there are then
 * no tokens, and the streams carry the status and the result only.
 */

/** One piece of a model answer, as generated. */
export interface TokenPiece {
  /** Position in the job's stream, `<ms>-<n>` (when it was published): read again `after` it to go on. */
  id: string;
  /** What the call is for (`generate`, `review`, `refactor`…). */
  purpose: string;
  /** The model call it belongs to (`<activityId>:<attempt>`): a retried call streams again. */
  call: string;
  content: string;
}

export interface TokenReader {
  /**
   * The pieces after `after` (from the start when undefined), waiting up to `waitMs` for the first
   * one when there is none yet. Answers [] on timeout, on `signal` abort or when the bus is down.
   */
  read(after: string | undefined, waitMs: number, signal?: AbortSignal): Promise<TokenPiece[]>;
  close(): void;
}

export interface TokenBus {
  /** Appends a piece to the job's stream. Never throws: tokens are best effort. */
  publish(workflowId: string, piece: Omit<TokenPiece, 'id'>): Promise<void>;
  /** A reader of one job's stream, for one follower; close it when done. */
  reader(workflowId: string): TokenReader;
  close(): Promise<void>;
}

/** Pieces kept per job (the oldest go first) and how long a job's stream outlives its last piece. */
const MAX_PIECES = 20_000;
const TTL_SECONDS = 3_600;
const READ_BATCH = 500;

class RedisTokenBus implements TokenBus {
  private readonly writer: Redis;
  private readonly readers = new Set<Redis>();
  private readonly log = logger('tokens');

  constructor(
    private readonly url: string,
    private readonly prefix: string,
  ) {
    this.writer = this.connect();
  }

  private connect(blocking = false): Redis {
    const redis = new Redis(this.url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 2_000,
      commandTimeout: blocking ? undefined : 1_000,
      disconnectTimeout: 200,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    });
    redis.on('error', (err: Error) => this.log.debug({ err: err.message }, 'token stream: Redis error'));
    return redis;
  }

  private key(workflowId: string): string {
    return `${this.prefix}tokens:${workflowId}`;
  }

  async publish(workflowId: string, piece: Omit<TokenPiece, 'id'>): Promise<void> {
    const key = this.key(workflowId);
    try {
      await this.writer
        .multi()
        .xadd(key, 'MAXLEN', '~', MAX_PIECES, '*', 'p', piece.purpose, 'c', piece.call, 't', piece.content)
        .expire(key, TTL_SECONDS)
        .exec();
    } catch (err) {
      this.log.debug({ err: String(err), workflowId }, 'token stream: publish failed');
    }
  }

  reader(workflowId: string): TokenReader {
    // A blocking read holds its connection: each follower gets its own.
    const connection = this.connect(true);
    this.readers.add(connection);
    const key = this.key(workflowId);
    return {
      read: async (after, waitMs, signal) => {
        if (signal?.aborted) return [];
        // Aborting a blocking read means dropping its connection; the next read reconnects.
        const onAbort = () => connection.disconnect(true);
        signal?.addEventListener('abort', onAbort);
        try {
          const res = await connection.xread(
            'COUNT',
            READ_BATCH,
            'BLOCK',
            Math.max(1, waitMs),
            'STREAMS',
            key,
            after ?? '0-0',
          );
          const entries = res?.[0]?.[1] ?? [];
          return entries.map(([id, fields]) => {
            const get = (name: string) => fields[fields.indexOf(name) + 1] ?? '';
            return { id, purpose: get('p'), call: get('c'), content: get('t') };
          });
        } catch (err) {
          if (!signal?.aborted) this.log.debug({ err: String(err), workflowId }, 'token stream: read failed');
          return [];
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
      },
      close: () => {
        this.readers.delete(connection);
        connection.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    for (const reader of this.readers) reader.disconnect();
    this.writer.disconnect();
  }
}

/** The bus within one process: the last MAX_PIECES pieces of the last 200 jobs. */
export class InProcessTokenBus implements TokenBus {
  private readonly jobs = new Map<string, TokenPiece[]>();
  private readonly events = new EventEmitter().setMaxListeners(0);
  private seq = 0;

  async publish(workflowId: string, piece: Omit<TokenPiece, 'id'>): Promise<void> {
    let pieces = this.jobs.get(workflowId);
    if (!pieces) {
      pieces = [];
      this.jobs.set(workflowId, pieces);
      if (this.jobs.size > 200) this.jobs.delete(this.jobs.keys().next().value!);
    }
    // Ids as Redis makes them, `<ms>-<n>`: the time orders pieces against phase changes; n orders them here.
    pieces.push({ id: `${Date.now()}-${++this.seq}`, ...piece });
    if (pieces.length > MAX_PIECES) pieces.splice(0, pieces.length - MAX_PIECES);
    this.events.emit(workflowId);
  }

  reader(workflowId: string): TokenReader {
    const since = (after: string | undefined) => {
      const n = after ? Number(after.split('-')[1]) : 0;
      return (this.jobs.get(workflowId) ?? []).filter((p) => Number(p.id.split('-')[1]) > n).slice(0, READ_BATCH);
    };
    return {
      read: async (after, waitMs, signal) => {
        const now = since(after);
        if (now.length > 0 || waitMs <= 0 || signal?.aborted) return now;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            this.events.off(workflowId, done);
            signal?.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, waitMs);
          this.events.on(workflowId, done);
          signal?.addEventListener('abort', done);
        });
        return since(after);
      },
      close: () => undefined,
    };
  }

  async close(): Promise<void> {
    this.jobs.clear();
  }
}

let bus: TokenBus | undefined;

/**
 * The process's token bus: Redis streams with REDIS_URL, else in-process. Keys are namespaced by the
 * Temporal namespace, so deployments sharing a Redis do not read each other's jobs.
 */
export function tokenBus(): TokenBus {
  if (!bus) {
    const cfg = config();
    bus = cfg.REDIS_URL
      ? new RedisTokenBus(cfg.REDIS_URL, `sophia:${cfg.TEMPORAL_NAMESPACE}:`)
      : new InProcessTokenBus();
  }
  return bus;
}

/** Closes and forgets the process's bus (tests, shutdown). */
export async function resetTokenBus(): Promise<void> {
  const old = bus;
  bus = undefined;
  await old?.close();
}

/**
 * Collects the deltas of one model call and publishes them in pieces of about `flushChars`
 * characters or every `flushMs`, whichever comes first, so a fast stream costs a few writes a second.
 */
export class TokenPublisher {
  private buffer = '';
  private timer?: NodeJS.Timeout;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly target: { bus: TokenBus; workflowId: string; purpose: string; call: string },
    private readonly flushChars = 256,
    private readonly flushMs = 100,
  ) {}

  push(delta: string): void {
    if (!delta) return;
    this.buffer += delta;
    if (this.buffer.length >= this.flushChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.buffer) return;
    const content = this.buffer;
    this.buffer = '';
    const { bus, workflowId, purpose, call } = this.target;
    // In order: each write starts when the one before it has ended.
    this.pending = this.pending.then(() => bus.publish(workflowId, { purpose, call, content }));
  }

  /** Publishes what is left and waits for every write. */
  async end(): Promise<void> {
    this.flush();
    await this.pending;
  }
}
