import { randomUUID } from 'node:crypto';
import { QdrantMemoryStore, qdrantFilter } from '../../activities/memory/qdrant-store';
import { FILTER_FIELDS, memoryId, tenantMemoryId, type MemoryRecord } from '../../activities/memory/store';
import { dropQdrantCollections, qdrantRest } from '../support/qdrant-server';

/**
 * The Qdrant adapter against a real Qdrant: the pinned 1.18.3 server the global setup started, or the
 * user's own at QDRANT_URL. What went over the wire is read back from Qdrant itself.
 */

const url = process.env.QDRANT_URL!;
const DIM = 4;
const EMBEDDER = { name: 'hash-code-v1', dimension: DIM };
let prefix: string;

beforeEach(() => {
  prefix = `adapter_${randomUUID().slice(0, 8)}`;
});

afterEach(async () => {
  await dropQdrantCollections(url, prefix);
});

function open(options: { batchSize?: number } = {}): QdrantMemoryStore {
  return new QdrantMemoryStore({ url, apiKey: process.env.QDRANT_API_KEY, collectionPrefix: prefix, ...options });
}

function records(n: number, tenant?: string, project = 'p'): MemoryRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    id: tenantMemoryId(tenant, `r${i}`),
    text: `record ${i} of ${tenant ?? 'local'}`,
    vector: [1, 0, 0, i / n],
    payload: { project, collection: 'code' as const, language: 'python', tags: ['t'] },
    tenant,
  }));
}

async function pointCount(): Promise<number> {
  const { count } = await qdrantRest<{ count: number }>(url, 'POST', `/collections/${prefix}_code/points/count`, {
    exact: true,
  });
  return count;
}

interface CollectionInfo {
  config: { params: { vectors: { size: number; distance: string } } };
  payload_schema: Record<string, { data_type: string; params?: Record<string, unknown> }>;
}

describe('Qdrant memory store on a real Qdrant', () => {
  test('creates each collection with cosine distance, the embedder dimension and a payload index per filter field, tenant and project as tenant keys', async () => {
    await open().ensureCollection('code', EMBEDDER);

    const info = await qdrantRest<CollectionInfo>(url, 'GET', `/collections/${prefix}_code`);
    expect(info.config.params.vectors).toEqual({ size: DIM, distance: 'Cosine' });
    expect(Object.keys(info.payload_schema).sort()).toEqual([...FILTER_FIELDS].sort());
    expect(info.payload_schema.tenant).toMatchObject({
      data_type: 'keyword',
      params: { type: 'keyword', is_tenant: true },
    });
    expect(info.payload_schema.project).toMatchObject({
      data_type: 'keyword',
      params: { type: 'keyword', is_tenant: true },
    });
    expect(info.payload_schema.language).toMatchObject({ data_type: 'keyword' });
    expect(info.payload_schema.survived).toMatchObject({ data_type: 'bool' });
  });

  test('a second worker reads the recorded embedder instead of recreating the collection, and refuses another one', async () => {
    const first = open();
    await first.ensureCollection('code', EMBEDDER);
    await first.upsert('code', records(3));

    const second = open();
    await second.ensureCollection('code', EMBEDDER);
    expect(await pointCount()).toBe(3);
    expect(await second.embedderOf('code')).toEqual(EMBEDDER);
    await expect(
      open().ensureCollection('code', { name: 'openai:text-embedding-3-small', dimension: DIM }),
    ).rejects.toMatchObject({ type: 'EmbedderMismatch', nonRetryable: true });
  });

  test('upserts in batches, each point carrying its text and its tenant in the payload', async () => {
    const store = open({ batchSize: 2 });
    await store.ensureCollection('code', EMBEDDER);
    await store.upsert('code', [...records(3), ...records(2, 'acme')]);

    expect(await pointCount()).toBe(5);
    const [point] = await qdrantRest<{ payload: unknown }[]>(url, 'POST', `/collections/${prefix}_code/points`, {
      ids: [tenantMemoryId('acme', 'r1')],
      with_payload: true,
    });
    expect(point!.payload).toEqual({
      project: 'p',
      collection: 'code',
      language: 'python',
      tags: ['t'],
      tenant: 'acme',
      text: 'record 1 of acme',
    });
  });

  test("puts the tenant's condition first in every search, so no filter widens it", () => {
    expect(qdrantFilter(undefined, undefined)).toEqual({ must: [{ key: 'tenant', match: { value: 'local' } }] });
    expect(qdrantFilter('acme', { project: 'p', language: 'python', tags: ['auth', 'fix'], survived: true })).toEqual({
      must: [
        { key: 'tenant', match: { value: 'acme' } },
        { key: 'project', match: { value: 'p' } },
        { key: 'language', match: { value: 'python' } },
        { key: 'survived', match: { value: true } },
        { key: 'tags', match: { value: 'auth' } },
        { key: 'tags', match: { value: 'fix' } },
      ],
    });
  });

  test("one tenant never sees another's points, though they share the collection and the project", async () => {
    const store = open();
    await store.ensureCollection('code', EMBEDDER);
    await store.upsert('code', [...records(5, 'acme'), ...records(5, 'globex'), ...records(5)]);

    // Qdrant itself, asked without the tenant condition, returns every tenant's points.
    const raw = await qdrantRest<{ points: { payload: { tenant: string } }[] }>(
      url,
      'POST',
      `/collections/${prefix}_code/points/query`,
      {
        query: [1, 0, 0, 0.5],
        limit: 15,
        with_payload: true,
        filter: { must: [{ key: 'project', match: { value: 'p' } }] },
      },
    );
    expect(new Set(raw.points.map((p) => p.payload.tenant))).toEqual(new Set(['acme', 'globex', 'local']));

    for (const tenant of ['acme', 'globex', undefined]) {
      const hits = await store.search({
        collection: 'code',
        vector: [1, 0, 0, 0.5],
        topK: 15,
        tenant,
        filter: { project: 'p', tags: ['t'] },
      });
      expect(hits).toHaveLength(5);
      expect(hits.every((h) => h.payload.tenant === (tenant ?? 'local'))).toBe(true);
      expect(hits.every((h) => h.text.endsWith(`of ${tenant ?? 'local'}`))).toBe(true);
    }
    expect(await store.search({ collection: 'code', vector: [1, 0, 0, 0], topK: 5, tenant: 'initech' })).toEqual([]);

    // A delete naming another tenant's ids removes nothing.
    await store.delete(
      'code',
      records(5, 'acme').map((r) => r.id),
      'globex',
    );
    expect(await pointCount()).toBe(15);
    await store.delete(
      'code',
      records(5, 'acme').map((r) => r.id),
      'acme',
    );
    expect(await pointCount()).toBe(10);
    expect(memoryId('r0')).toBe(tenantMemoryId('local', 'r0'));
  });
});
