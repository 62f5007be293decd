import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CircuitBreaker } from '../../activities/cache/circuit-breaker';
import { QdrantMemoryStore } from '../../activities/memory/qdrant-store';
import { memoryId, type MemoryRecord } from '../../activities/memory/store';

/**
 * What a real Qdrant cannot be made to do on demand: answer 503, 502 or 400 to the next requests. The
 * adapter's everyday behaviour is tested on the real server (memory-qdrant-adapter, the contract suite,
 * memory-qdrant-outage); this is the one place a scripted stand-in is used.
 */
class QdrantWithInjectedFaults {
  readonly seen: { method: string; path: string }[] = [];
  private readonly collections = new Set<string>();
  private readonly metaPoints = new Map<string, unknown>();
  /** Status codes to answer the next requests with, before answering like Qdrant again. */
  failNext: number[] = [];
  private server = http.createServer((req, res) => void this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  requests(method: string, pattern: RegExp): number {
    return this.seen.filter((s) => s.method === method && pattern.test(s.path)).length;
  }

  /** Just enough of Qdrant's REST API (shapes as 1.x sends them) for ensureCollection, upsert and delete. */
  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const url = new URL(req.url ?? '/', 'http://x');
    const body: unknown = raw ? JSON.parse(raw) : undefined;
    this.seen.push({ method: req.method ?? '', path: url.pathname });
    const reply = (status: number, result: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(status < 400 ? { result, status: 'ok', time: 0.0001 } : { status: { error: result }, time: 0 }),
      );
    };
    const failure = this.failNext.shift();
    if (failure) return reply(failure, 'injected fault');

    const [, , name, sub, action] = url.pathname.split('/');
    const done = { operation_id: this.seen.length, status: 'completed' };
    if (req.method === 'GET' && sub === 'exists') return reply(200, { exists: this.collections.has(name!) });
    if (req.method === 'PUT' && name && !sub) {
      this.collections.add(name);
      return reply(200, true);
    }
    if (req.method === 'PUT' && sub === 'index') return reply(200, done);
    if (req.method === 'PUT' && sub === 'points') {
      if (name?.endsWith('_meta')) {
        for (const p of (body as { points: { id: string }[] }).points) this.metaPoints.set(p.id, p);
      }
      return reply(200, done);
    }
    if (req.method === 'POST' && sub === 'points' && !action) {
      const ids = (body as { ids: string[] }).ids;
      return reply(
        200,
        ids.flatMap((id) => (this.metaPoints.has(id) ? [this.metaPoints.get(id)] : [])),
      );
    }
    if (req.method === 'POST' && action === 'delete') return reply(200, done);
    return reply(404, `no script for ${req.method} ${url.pathname}`);
  }
}

const EMBEDDER = { name: 'hash-code-v1', dimension: 4 };
let qdrant: QdrantWithInjectedFaults;
let url: string;

beforeEach(async () => {
  qdrant = new QdrantWithInjectedFaults();
  url = await qdrant.start();
});

afterEach(async () => {
  await qdrant.stop();
});

const record: MemoryRecord = {
  id: memoryId('r0'),
  text: 'record 0',
  vector: [1, 0, 0, 0],
  payload: { project: 'p', collection: 'code' },
};

describe('Qdrant memory store under injected faults', () => {
  test('a 503 fails the request at once, retryable for Temporal; the next attempt succeeds; a 400 fails for good', async () => {
    const store = new QdrantMemoryStore({ url, collectionPrefix: 'acme' });
    await store.ensureCollection('code', EMBEDDER);
    qdrant.failNext = [503];
    const first = store.upsert('code', [record]);
    await expect(first).rejects.toMatchObject({ type: 'DependencyUnavailable', nonRetryable: false });
    // One request: no retry loop inside the activity, where no heartbeat or history would show it.
    expect(qdrant.requests('PUT', /^\/collections\/acme_code\/points$/)).toBe(1);
    // The activity's next attempt, as its retry policy makes it.
    await expect(store.upsert('code', [record])).resolves.toBeUndefined();
    expect(qdrant.requests('PUT', /^\/collections\/acme_code\/points$/)).toBe(2);

    qdrant.failNext = [400];
    await expect(store.delete('code', [record.id])).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
    });
  });

  test('once the breaker opens on repeated 502s, a request fails without reaching Qdrant', async () => {
    const breaker = new CircuitBreaker('qdrant-injected', { failureThreshold: 2, resetTimeoutMs: 60_000 });
    const store = new QdrantMemoryStore({ url, collectionPrefix: 'acme', breaker });
    qdrant.failNext = [502, 502];
    for (let i = 0; i < 2; i++) {
      await expect(store.ensureCollection('code', EMBEDDER)).rejects.toMatchObject({ type: 'DependencyUnavailable' });
    }
    expect(qdrant.seen).toHaveLength(2);
    const refused = store.ensureCollection('code', EMBEDDER);
    await expect(refused).rejects.toMatchObject({
      type: 'DependencyUnavailable',
      message: expect.stringContaining('circuit breaker open'),
    });
    await expect(refused).rejects.not.toMatchObject({ nonRetryable: true });
    expect(qdrant.seen).toHaveLength(2);
  });
});
