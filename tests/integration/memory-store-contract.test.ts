import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { EmbeddedMemoryStore } from '../../activities/memory/embedded-store';
import { QdrantMemoryStore } from '../../activities/memory/qdrant-store';
import { dropQdrantCollections } from '../support/qdrant-server';
import { memoryId, tenantMemoryId, type MemoryRecord, type MemoryStore } from '../../activities/memory/store';

/** Opens a store; calling `open` again on the same adapter instance reopens the same data. */
interface Adapter {
  name: string;
  open(): MemoryStore;
  /** Removes what the test stored, when the store outlives the run (a user's Qdrant). */
  drop?(): Promise<void>;
}

const DIM = 8;
const EMBEDDER = { name: 'test-embedder', dimension: DIM };

function tempDirAdapter(name: string, options: { exactScanBelow?: number }): () => Adapter {
  return () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-memory-contract-'));
    return { name, open: () => new EmbeddedMemoryStore({ dir, ...options }) };
  };
}

const embedded = tempDirAdapter('embedded (graph search)', { exactScanBelow: 0 });
const embeddedExact = tempDirAdapter('embedded (exact scan under selective filters)', {});
const qdrant = (): Adapter => {
  const collectionPrefix = `contract_${randomUUID().slice(0, 8)}`;
  const url = process.env.QDRANT_URL!;
  return {
    name: 'qdrant',
    open: () => new QdrantMemoryStore({ url, apiKey: process.env.QDRANT_API_KEY, collectionPrefix }),
    drop: () => dropQdrantCollections(url, collectionPrefix),
  };
};

const adapters = [embedded, embeddedExact, ...(process.env.QDRANT_URL ? [qdrant] : [])];

/** A unit vector pointing mostly along one axis, so the nearest neighbours are known by construction. */
function axis(i: number, wobble = 0): number[] {
  const v = Array.from({ length: DIM }, (_, j) => (j === i % DIM ? 1 : 0.05 * (((j + wobble) % 3) - 1)));
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

function record(text: string, vector: number[], payload: Partial<MemoryRecord['payload']> = {}): MemoryRecord {
  return {
    id: memoryId(text),
    text,
    vector,
    payload: { project: 'alpha', collection: 'code', language: 'typescript', tags: [], ...payload },
  };
}

describe.each(adapters.map((make) => [make().name, make] as const))('%s memory store', (_name, make) => {
  let adapter: Adapter;
  let store: MemoryStore;

  beforeEach(async () => {
    adapter = make();
    store = adapter.open();
    await store.ensureCollection('code', EMBEDDER);
  });

  afterEach(async () => {
    await store.close();
    await adapter.drop?.();
  });

  test('finds the nearest records first, with descending cosine scores', async () => {
    await store.upsert('code', [record('zero', axis(0)), record('one', axis(1)), record('two', axis(2))]);
    const hits = await store.search({ collection: 'code', vector: axis(1, 1), topK: 2 });
    expect(hits.map((h) => h.text)).toEqual(['one', expect.any(String)]);
    expect(hits[0]!.score).toBeGreaterThan(0.95);
    expect(hits[0]!.score).toBeGreaterThanOrEqual(hits[1]!.score);
    expect(hits[0]!.payload).toMatchObject({ project: 'alpha', collection: 'code', language: 'typescript' });
    expect(hits[0]!.id).toBe(memoryId('one'));
  });

  test('storing the same record twice keeps one copy, and a changed text under the same id replaces it', async () => {
    const first = record('same', axis(3));
    await store.upsert('code', [first]);
    await store.upsert('code', [first]);
    await store.upsert('code', [{ ...first, text: 'same, edited', vector: axis(4) }]);
    const stats = await store.stats();
    expect(stats.collections.find((c) => c.collection === 'code')).toMatchObject({ records: 1, embedder: EMBEDDER });
    const hits = await store.search({ collection: 'code', vector: axis(4), topK: 5 });
    expect(hits.map((h) => h.text)).toEqual(['same, edited']);
  });

  test('filters by project, language, tags and survival, and never returns records outside the filter', async () => {
    await store.upsert('code', [
      record('alpha ts survived', axis(0), { tags: ['fix', 'auth'], survived: true }),
      record('alpha ts failed', axis(0, 1), { tags: ['fix'], survived: false }),
      record('alpha py', axis(0, 2), { language: 'python', tags: ['auth'] }),
      record('beta ts', axis(0, 3), { project: 'beta', tags: ['fix', 'auth'] }),
      ...Array.from({ length: 20 }, (_, i) => record(`alpha filler ${i}`, axis(i + 1, i))),
    ]);
    const search = (filter: Parameters<MemoryStore['search']>[0]['filter']) =>
      store.search({ collection: 'code', vector: axis(0), topK: 3, filter }).then((hits) => hits.map((h) => h.text));

    expect(await search({ project: 'beta' })).toEqual(['beta ts']);
    expect((await search({ project: 'alpha', language: 'python' }))[0]).toBe('alpha py');
    expect(await search({ project: 'alpha', language: 'python' })).not.toContain('alpha ts survived');
    expect((await search({ tags: ['fix', 'auth'] })).sort()).toEqual(['alpha ts survived', 'beta ts']);
    expect(await search({ project: 'alpha', survived: true })).toEqual(['alpha ts survived']);
    expect(await search({ project: 'gamma' })).toEqual([]);
  });

  test('keeps tenants apart: a search sees only its own tenant whatever the filter, and a delete only its own records', async () => {
    const owned = (tenant: string, text: string, vector: number[]): MemoryRecord => ({
      ...record(text, vector, { tags: ['shared'] }),
      id: tenantMemoryId(tenant, text),
      tenant,
    });
    await store.upsert('code', [
      owned('acme', 'same text', axis(0)),
      owned('globex', 'same text', axis(0)),
      owned('globex', 'globex only', axis(0, 1)),
      // The default tenant's records: most of the collection, so the graph path is taken too.
      ...Array.from({ length: 20 }, (_, i) => record(`local ${i}`, axis(0, i))),
    ]);
    const texts = (tenant: string | undefined, filter?: Parameters<MemoryStore['search']>[0]['filter']) =>
      store
        .search({ collection: 'code', vector: axis(0), topK: 30, tenant, filter })
        .then((hits) => hits.map((h) => `${h.payload.tenant}:${h.text}`).sort());

    expect(tenantMemoryId('acme', 'same text')).not.toBe(tenantMemoryId('globex', 'same text'));
    expect(tenantMemoryId('local', 'same text')).toBe(memoryId('same text'));
    expect(await texts('acme')).toEqual(['acme:same text']);
    expect(await texts('globex')).toEqual(['globex:globex only', 'globex:same text']);
    expect(await texts('globex', { project: 'alpha', tags: ['shared'] })).toEqual([
      'globex:globex only',
      'globex:same text',
    ]);
    expect(await texts('initech')).toEqual([]);
    const local = await texts(undefined);
    expect(local).toHaveLength(20);
    expect(local.every((t) => t.startsWith('local:local '))).toBe(true);
    expect(await texts('local', { tags: ['shared'] })).toEqual([]);

    // Knowing another tenant's id is not enough to delete its record.
    await store.delete('code', [tenantMemoryId('acme', 'same text')], 'globex');
    await store.delete('code', [tenantMemoryId('acme', 'same text')]);
    expect(await texts('acme')).toEqual(['acme:same text']);
    await store.delete('code', [tenantMemoryId('acme', 'same text')], 'acme');
    expect(await texts('acme')).toEqual([]);
    expect(await texts('globex')).toEqual(['globex:globex only', 'globex:same text']);
  });

  test('deletes records by id and ignores ids it does not know', async () => {
    await store.upsert('code', [record('keep', axis(0)), record('drop', axis(0, 1))]);
    await store.delete('code', [memoryId('drop'), memoryId('never-stored')]);
    const hits = await store.search({ collection: 'code', vector: axis(0), topK: 5 });
    expect(hits.map((h) => h.text)).toEqual(['keep']);
  });

  test('a collection that was never written has no hits and no embedder', async () => {
    expect(await store.search({ collection: 'reviews', vector: axis(0), topK: 5 })).toEqual([]);
    expect(await store.embedderOf('reviews')).toBeUndefined();
  });

  test('refuses another embedder or dimension on an existing collection with a non-retryable EmbedderMismatch', async () => {
    const mismatch = store.ensureCollection('code', { name: 'other-embedder', dimension: DIM });
    await expect(mismatch).rejects.toBeInstanceOf(ApplicationFailure);
    await expect(mismatch).rejects.toMatchObject({ type: 'EmbedderMismatch', nonRetryable: true });
    await expect(store.ensureCollection('code', { name: EMBEDDER.name, dimension: DIM * 2 })).rejects.toMatchObject({
      type: 'EmbedderMismatch',
    });
    await expect(store.upsert('code', [record('wrong size', [1, 0, 0])])).rejects.toMatchObject({
      type: 'EmbedderMismatch',
    });
    await expect(store.search({ collection: 'code', vector: [1, 0], topK: 1 })).rejects.toMatchObject({
      type: 'EmbedderMismatch',
    });
  });

  test('keeps its records, payloads and embedder across a close and reopen', async () => {
    await store.upsert('code', [record('persisted', axis(5), { tags: ['kept'] }), record('deleted', axis(6))]);
    await store.delete('code', [memoryId('deleted')]);
    await store.close();

    store = adapter.open();
    expect(await store.embedderOf('code')).toEqual(EMBEDDER);
    await expect(store.ensureCollection('code', { name: 'other-embedder', dimension: DIM })).rejects.toMatchObject({
      type: 'EmbedderMismatch',
    });
    const hits = await store.search({ collection: 'code', vector: axis(5), topK: 5, filter: { tags: ['kept'] } });
    expect(hits.map((h) => h.text)).toEqual(['persisted']);
    expect((await store.search({ collection: 'code', vector: axis(6), topK: 5 })).map((h) => h.text)).toEqual([
      'persisted',
    ]);
  });

  test('reports the record count and embedder of every collection', async () => {
    await store.ensureCollection('fixes', EMBEDDER);
    await store.upsert('fixes', [record('a fix', axis(1), { collection: 'fixes' })]);
    await store.upsert('code', [record('c1', axis(1)), record('c2', axis(2))]);
    const stats = await store.stats();
    expect(stats.store).toBe(store.kind);
    expect(stats.collections).toEqual(
      expect.arrayContaining([
        { collection: 'code', records: 2, embedder: EMBEDDER },
        { collection: 'fixes', records: 1, embedder: EMBEDDER },
        { collection: 'docs', records: 0, embedder: undefined },
      ]),
    );
  });
});

describe('embedded memory store', () => {
  test('reopens from its saved graph plus the records written after the snapshot', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-memory-snapshot-'));
    const first = new EmbeddedMemoryStore({ dir, snapshotEvery: 5 });
    await first.ensureCollection('docs', EMBEDDER);
    const records = Array.from({ length: 8 }, (_, i) => record(`doc ${i}`, axis(i, i), { collection: 'docs' }));
    await first.upsert('docs', records);
    expect(fs.existsSync(path.join(dir, 'docs', 'index.usearch'))).toBe(true);
    // Simulates a crash: no close, so the last three records exist only in the log.
    await first.upsert('docs', [record('late', axis(7), { collection: 'docs' })]);

    const second = new EmbeddedMemoryStore({ dir, snapshotEvery: 5 });
    const hits = await second.search({ collection: 'docs', vector: axis(7), topK: 2 });
    expect(hits.map((h) => h.text).sort()).toEqual(['doc 7', 'late']);
    expect((await second.stats()).collections.find((c) => c.collection === 'docs')?.records).toBe(9);
    await second.close();
  });

  test('a graph that loses records (a sparse graph over many equal vectors) still answers every search in full', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-memory-sparse-'));
    // A degree-2 graph searched with a candidate list of 1 reaches a fraction of 200 records made of
    // three distinct vectors; the store must notice the short answer and scan instead.
    const store = new EmbeddedMemoryStore({
      dir,
      exactScanBelow: 0,
      hnsw: { connectivity: 2, expansionAdd: 2, expansionSearch: 1 },
    });
    await store.ensureCollection('code', EMBEDDER);
    const locals = Array.from({ length: 200 }, (_, i) =>
      record(`local ${i}`, axis(0, i), { project: i % 2 ? 'alpha' : 'beta', tags: i % 4 ? [] : ['four'] }),
    );
    await store.upsert('code', locals);
    const count = (filter?: Parameters<MemoryStore['search']>[0]['filter'], topK = 300, tenant?: string) =>
      store.search({ collection: 'code', vector: axis(0), topK, tenant, filter }).then((hits) => hits.length);

    expect(await count()).toBe(200);
    expect(await count(undefined, 150)).toBe(150);
    expect(await count({ project: 'alpha' })).toBe(100);
    expect(await count({ tags: ['four'] })).toBe(50);
    // Another tenant's record: the default tenant's searches are now filtered ones.
    await store.upsert('code', [
      { ...record('theirs', axis(0)), id: tenantMemoryId('acme', 'theirs'), tenant: 'acme' },
    ]);
    expect(await count()).toBe(200);
    expect(await count(undefined, 300, 'acme')).toBe(1);
    const best = await store.search({ collection: 'code', vector: axis(0, 0), topK: 5 });
    expect(best.map((h) => h.score)).toEqual([...best.map((h) => h.score)].sort((a, b) => b - a));
    await store.close();
  });

  test('ignores a torn last log line left by a crash mid-write', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-memory-torn-'));
    const first = new EmbeddedMemoryStore({ dir });
    await first.ensureCollection('code', EMBEDDER);
    await first.upsert('code', [record('whole', axis(0))]);
    fs.appendFileSync(path.join(dir, 'code', 'log.jsonl'), '{"op":"put","key":1,"id":"x","te');

    const second = new EmbeddedMemoryStore({ dir });
    expect((await second.search({ collection: 'code', vector: axis(0), topK: 3 })).map((h) => h.text)).toEqual([
      'whole',
    ]);
    await second.close();
  });
});
