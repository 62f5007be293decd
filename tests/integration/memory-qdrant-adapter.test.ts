import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { QdrantMemoryStore, QDRANT_PAYLOAD_INDEXES } from '../../activities/memory/qdrant-store';
import { memoryId, type MemoryRecord } from '../../activities/memory/store';

interface Seen {
  method: string;
  path: string;
  body: unknown;
}

/**
 * A real HTTP server that answers like Qdrant's REST API, with responses shaped as Qdrant 1.x sends
 * them. It keeps just enough state (which collections exist, the meta points) for the adapter's
 * create-or-check logic, and records every request so the test can assert what went over the wire.
 */
class ScriptedQdrant {
  readonly seen: Seen[] = [];
  readonly collections = new Set<string>();
  readonly metaPoints = new Map<string, unknown>();
  /** Status codes to answer the next requests with, before behaving normally. */
  failNext: number[] = [];
  queryPoints: unknown[] = [];
  private server = http.createServer((req, res) => void this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  requests(method: string, pattern: RegExp): Seen[] {
    return this.seen.filter((s) => s.method === method && pattern.test(s.path));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const url = new URL(req.url ?? '/', 'http://x');
    const body: unknown = raw ? JSON.parse(raw) : undefined;
    this.seen.push({ method: req.method ?? '', path: url.pathname, body });
    const reply = (status: number, result: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(status < 400 ? { result, status: 'ok', time: 0.0001 } : { status: { error: result }, time: 0 }),
      );
    };
    const failure = this.failNext.shift();
    if (failure) return reply(failure, 'Service Unavailable');

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
    if (req.method === 'POST' && action === 'query') return reply(200, { points: this.queryPoints });
    if (req.method === 'POST' && action === 'delete') return reply(200, done);
    if (req.method === 'POST' && action === 'count') return reply(200, { count: 7 });
    return reply(404, `no script for ${req.method} ${url.pathname}`);
  }
}

const DIM = 4;
const EMBEDDER = { name: 'hash-code-v1', dimension: DIM };
let qdrant: ScriptedQdrant;
let url: string;

beforeEach(async () => {
  qdrant = new ScriptedQdrant();
  url = await qdrant.start();
});

afterEach(async () => {
  await qdrant.stop();
});

function records(n: number): MemoryRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    id: memoryId(`r${i}`),
    text: `record ${i}`,
    vector: [1, 0, 0, i / n],
    payload: { project: 'p', collection: 'code' as const, language: 'python', tags: ['t'] },
  }));
}

describe('Qdrant memory store over HTTP', () => {
  test('creates the collection with cosine distance, the embedder dimension and a payload index per filter field', async () => {
    const store = new QdrantMemoryStore({ url, collectionPrefix: 'acme' });
    await store.ensureCollection('code', EMBEDDER);

    expect(qdrant.requests('PUT', /^\/collections\/acme_code$/)[0]?.body).toEqual({
      vectors: { size: DIM, distance: 'Cosine' },
    });
    const indexes = qdrant.requests('PUT', /^\/collections\/acme_code\/index$/).map((s) => s.body);
    expect(indexes).toEqual(
      QDRANT_PAYLOAD_INDEXES.map((i) => ({ field_name: i.field_name, field_schema: i.field_schema })),
    );
    expect(indexes).toContainEqual({ field_name: 'survived', field_schema: 'bool' });
    // The embedder is recorded beside the collection, and a second worker reads it back instead of recreating.
    expect([...qdrant.metaPoints.values()]).toEqual([
      { id: memoryId('meta', 'code'), vector: [1], payload: { collection: 'code', ...EMBEDDER } },
    ]);
    const creates = qdrant.requests('PUT', /^\/collections\/acme_code$/).length;
    const other = new QdrantMemoryStore({ url, collectionPrefix: 'acme' });
    await other.ensureCollection('code', EMBEDDER);
    expect(qdrant.requests('PUT', /^\/collections\/acme_code$/)).toHaveLength(creates);
    await expect(
      other.ensureCollection('code', { name: 'openai:text-embedding-3-small', dimension: DIM }),
    ).rejects.toMatchObject({
      type: 'EmbedderMismatch',
      nonRetryable: true,
    });
  });

  test('upserts in batches with the text in the payload and waits for each write', async () => {
    const store = new QdrantMemoryStore({ url, collectionPrefix: 'acme', batchSize: 2 });
    await store.ensureCollection('code', EMBEDDER);
    await store.upsert('code', records(5));

    const batches = qdrant
      .requests('PUT', /^\/collections\/acme_code\/points$/)
      .map((s) => s.body as { points: unknown[] });
    expect(batches.map((b) => b.points.length)).toEqual([2, 2, 1]);
    expect(batches[0]!.points[0]).toEqual({
      id: memoryId('r0'),
      vector: [1, 0, 0, 0],
      payload: { project: 'p', collection: 'code', language: 'python', tags: ['t'], text: 'record 0' },
    });
  });

  test('translates a memory filter into Qdrant must-conditions and maps the points back to hits', async () => {
    const store = new QdrantMemoryStore({ url, collectionPrefix: 'acme' });
    await store.ensureCollection('code', EMBEDDER);
    qdrant.queryPoints = [
      { id: memoryId('r1'), version: 3, score: 0.91, payload: { project: 'p', collection: 'code', text: 'record 1' } },
    ];

    const hits = await store.search({
      collection: 'code',
      vector: [0, 1, 0, 0],
      topK: 3,
      filter: { project: 'p', language: 'python', tags: ['auth', 'fix'], survived: true },
    });

    expect(qdrant.requests('POST', /^\/collections\/acme_code\/points\/query$/)[0]?.body).toEqual({
      query: [0, 1, 0, 0],
      limit: 3,
      with_payload: true,
      filter: {
        must: [
          { key: 'project', match: { value: 'p' } },
          { key: 'language', match: { value: 'python' } },
          { key: 'survived', match: { value: true } },
          { key: 'tags', match: { value: 'auth' } },
          { key: 'tags', match: { value: 'fix' } },
        ],
      },
    });
    expect(hits).toEqual([
      { id: memoryId('r1'), score: 0.91, text: 'record 1', payload: { project: 'p', collection: 'code' } },
    ]);
  });

  test('retries transient 503s and succeeds, but fails fast on a 400', async () => {
    const store = new QdrantMemoryStore({ url, collectionPrefix: 'acme', retryDelayMs: 5 });
    await store.ensureCollection('code', EMBEDDER);
    qdrant.failNext = [503, 503];
    await expect(store.upsert('code', records(1))).resolves.toBeUndefined();
    expect(qdrant.requests('PUT', /^\/collections\/acme_code\/points$/)).toHaveLength(3);

    qdrant.failNext = [400];
    await expect(store.delete('code', [memoryId('r0')])).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
    });
  });

  test('gives up after its attempts with a retryable DependencyUnavailable when Qdrant stays down', async () => {
    const store = new QdrantMemoryStore({ url, collectionPrefix: 'acme', retryDelayMs: 5, attempts: 3 });
    qdrant.failNext = [502, 502, 502];
    const failure = store.ensureCollection('code', EMBEDDER);
    await expect(failure).rejects.toMatchObject({ type: 'DependencyUnavailable' });
    await expect(failure).rejects.not.toMatchObject({ nonRetryable: true });
  });
});
