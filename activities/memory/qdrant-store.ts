import { ApplicationFailure } from '@temporalio/common';
import type { QdrantClient } from '@qdrant/js-client-rest' with { 'resolution-mode': 'import' };
import type { CircuitBreaker } from '../cache/circuit-breaker';
import { timeMemoryOperation } from '../cache/metrics';
import {
  embedderMismatch,
  memoryId,
  MEMORY_COLLECTIONS,
  tenantOf,
  type EmbedderSignature,
  type MemoryCollection,
  type MemoryFilter,
  type MemoryHit,
  type MemoryPayload,
  type MemoryRecord,
  type MemorySearch,
  type MemoryStats,
  type MemoryStore,
} from './store';

export interface QdrantStoreOptions {
  url: string;
  apiKey?: string;
  /** Prefix of the collection names (`<prefix>_code`…), so deployments can share one Qdrant. */
  collectionPrefix?: string;
  /** Points per upsert request. */
  batchSize?: number;
  breaker?: CircuitBreaker;
}

/**
 * Payload indexes Qdrant needs to filter fast: one per filter field, typed. `tenant` and `project`
 * partition the data (every search names a tenant, nearly every one a project): Qdrant's multitenancy
 * guide marks such keyword fields `is_tenant`, so it stores each one's points together.
 */
export const QDRANT_PAYLOAD_INDEXES = [
  { field_name: 'tenant', field_schema: { type: 'keyword', is_tenant: true } },
  { field_name: 'project', field_schema: { type: 'keyword', is_tenant: true } },
  { field_name: 'language', field_schema: 'keyword' },
  { field_name: 'collection', field_schema: 'keyword' },
  { field_name: 'tags', field_schema: 'keyword' },
  { field_name: 'path', field_schema: 'keyword' },
  { field_name: 'survived', field_schema: 'bool' },
] as const;

type QdrantCondition = { key: string; match: { value: string | boolean } };

/**
 * The Qdrant form of a search: the tenant's condition first, always, then one per filter field (each
 * tag is one). Every condition must hold, so no filter can widen a search beyond its tenant.
 */
export function qdrantFilter(
  tenant: string | undefined,
  filter: MemoryFilter | undefined,
): { must: QdrantCondition[] } {
  const must: QdrantCondition[] = [{ key: 'tenant', match: { value: tenantOf(tenant) } }];
  for (const key of ['project', 'language', 'path'] as const) {
    const value = filter?.[key];
    if (value !== undefined) must.push({ key, match: { value } });
  }
  if (filter?.survived !== undefined) must.push({ key: 'survived', match: { value: filter.survived } });
  for (const tag of filter?.tags ?? []) must.push({ key: 'tags', match: { value: tag } });
  return { must };
}

/**
 * Memory in Qdrant, for a fleet of memory workers. Collections are created with cosine distance and
 * the embedder's dimension, plus payload indexes for the filter fields; the embedder of each collection
 * is recorded in a `<prefix>_meta` collection, since Qdrant collections carry no free-form metadata.
 * Tenants share each collection, partitioned by payload as Qdrant's multitenancy guide says: every
 * point carries its `tenant`, every search and delete is confined to one (see `qdrantFilter`).
 * A transient error (network, 408, 429, 5xx) fails the request at once as a retryable
 * `DependencyUnavailable`: the activity's retry policy retries it, with backoff and heartbeats, where
 * Temporal shows each attempt. Nothing here sleeps and tries again.
 */
export class QdrantMemoryStore implements MemoryStore {
  readonly kind = 'qdrant' as const;
  private clientPromise?: Promise<QdrantClient>;
  private readonly prefix: string;
  private readonly batchSize: number;
  private readonly known = new Map<MemoryCollection, EmbedderSignature>();

  constructor(private readonly options: QdrantStoreOptions) {
    this.prefix = options.collectionPrefix ?? 'sophia';
    this.batchSize = options.batchSize ?? 256;
  }

  /** The REST client, loaded on first use: the package is ESM-only, and this codebase compiles to CommonJS. */
  private get client(): Promise<QdrantClient> {
    this.clientPromise ??= import('@qdrant/js-client-rest').then(
      // The compatibility probe is an extra request at start-up that prints with console.warn.
      ({ QdrantClient }) =>
        new QdrantClient({ url: this.options.url, apiKey: this.options.apiKey, checkCompatibility: false }),
    );
    return this.clientPromise;
  }

  private name(collection: MemoryCollection): string {
    return `${this.prefix}_${collection}`;
  }

  private get metaName(): string {
    return `${this.prefix}_meta`;
  }

  async ensureCollection(collection: MemoryCollection, embedder: EmbedderSignature): Promise<void> {
    const recorded = await this.embedderOf(collection);
    if (recorded) {
      if (recorded.name !== embedder.name || recorded.dimension !== embedder.dimension) {
        throw embedderMismatch(collection, recorded, embedder);
      }
      return;
    }
    await this.ensureMetaCollection();
    const name = this.name(collection);
    if (!(await this.call('collectionExists', (c) => c.collectionExists(name))).exists) {
      await this.call('createCollection', (c) =>
        c.createCollection(name, { vectors: { size: embedder.dimension, distance: 'Cosine' } }),
      );
    }
    for (const index of QDRANT_PAYLOAD_INDEXES) {
      await this.call('createPayloadIndex', (c) =>
        c.createPayloadIndex(name, { wait: true, field_name: index.field_name, field_schema: index.field_schema }),
      );
    }
    // Recorded last: a crash before this line leaves a collection that the next call finishes setting up.
    await this.call('upsert', (c) =>
      c.upsert(this.metaName, {
        wait: true,
        points: [{ id: memoryId('meta', collection), vector: [1], payload: { collection, ...embedder } }],
      }),
    );
    this.known.set(collection, embedder);
  }

  async embedderOf(collection: MemoryCollection): Promise<EmbedderSignature | undefined> {
    const cached = this.known.get(collection);
    if (cached) return cached;
    if (!(await this.call('collectionExists', (c) => c.collectionExists(this.metaName))).exists) return undefined;
    const points = await this.call('retrieve', (c) =>
      c.retrieve(this.metaName, { ids: [memoryId('meta', collection)], with_payload: true }),
    );
    const payload = points[0]?.payload as { name?: string; dimension?: number } | undefined;
    if (!payload?.name || typeof payload.dimension !== 'number') return undefined;
    const embedder = { name: payload.name, dimension: payload.dimension };
    this.known.set(collection, embedder);
    return embedder;
  }

  private async ensureMetaCollection(): Promise<void> {
    if ((await this.call('collectionExists', (c) => c.collectionExists(this.metaName))).exists) return;
    await this.call('createCollection', (c) =>
      c.createCollection(this.metaName, { vectors: { size: 1, distance: 'Dot' } }),
    );
  }

  upsert(collection: MemoryCollection, records: MemoryRecord[]): Promise<void> {
    return timeMemoryOperation('upsert', this.kind, async () => {
      const embedder = await this.requireEmbedder(collection);
      for (let i = 0; i < records.length; i += this.batchSize) {
        const points = records.slice(i, i + this.batchSize).map((r) => {
          if (r.vector.length !== embedder.dimension) {
            throw embedderMismatch(collection, embedder, {
              name: `a vector of dimension ${r.vector.length}`,
              dimension: r.vector.length,
            });
          }
          return {
            id: r.id,
            vector: Array.from(r.vector),
            payload: { ...r.payload, tenant: tenantOf(r.tenant), text: r.text },
          };
        });
        await this.call('upsert', (c) => c.upsert(this.name(collection), { wait: true, points }));
      }
    });
  }

  search(query: MemorySearch): Promise<MemoryHit[]> {
    return timeMemoryOperation('search', this.kind, async () => {
      const embedder = await this.embedderOf(query.collection);
      if (!embedder || query.topK <= 0) return [];
      if (query.vector.length !== embedder.dimension) {
        throw embedderMismatch(query.collection, embedder, {
          name: `a vector of dimension ${query.vector.length}`,
          dimension: query.vector.length,
        });
      }
      const response = await this.call('query', (c) =>
        c.query(this.name(query.collection), {
          query: Array.from(query.vector),
          limit: query.topK,
          filter: qdrantFilter(query.tenant, query.filter),
          with_payload: true,
        }),
      );
      return response.points.map((p) => {
        const { text, ...payload } = (p.payload ?? {}) as MemoryPayload & { text?: string };
        return { id: String(p.id), score: p.score, text: text ?? '', payload: payload as MemoryPayload };
      });
    });
  }

  delete(collection: MemoryCollection, ids: string[], tenant?: string): Promise<void> {
    return timeMemoryOperation('delete', this.kind, async () => {
      if (ids.length === 0 || !(await this.embedderOf(collection))) return;
      // By id and tenant together: a tenant cannot delete another's points, even knowing their ids.
      const filter = { must: [{ has_id: ids }, { key: 'tenant', match: { value: tenantOf(tenant) } }] };
      await this.call('delete', (c) => c.delete(this.name(collection), { wait: true, filter }));
    });
  }

  async stats(): Promise<MemoryStats> {
    const collections = [];
    for (const collection of MEMORY_COLLECTIONS) {
      const embedder = await this.embedderOf(collection);
      const records = embedder
        ? (await this.call('count', (c) => c.count(this.name(collection), { exact: true }))).count
        : 0;
      collections.push({ collection, records, embedder });
    }
    return { store: this.kind, collections };
  }

  async close(): Promise<void> {
    // The REST client keeps no connection of its own to close.
  }

  private async requireEmbedder(collection: MemoryCollection): Promise<EmbedderSignature> {
    const embedder = await this.embedderOf(collection);
    if (!embedder) {
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        nonRetryable: true,
        message: `Memory collection '${collection}' does not exist yet: call ensureCollection first.`,
      });
    }
    return embedder;
  }

  /** One Qdrant request: a rejection fails for good, anything transient fails to be retried by Temporal. */
  private async call<T>(operation: string, request: (client: QdrantClient) => Promise<T>): Promise<T> {
    const client = await this.client;
    if (this.options.breaker && !this.options.breaker.allowRequest()) {
      throw ApplicationFailure.create({
        type: 'DependencyUnavailable',
        message: `Qdrant at ${this.options.url} is failing (circuit breaker open): ${operation} not sent`,
      });
    }
    try {
      const result = await request(client);
      this.options.breaker?.recordSuccess();
      return result;
    } catch (err) {
      const status = statusOf(err);
      if (status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 408) {
        // The dependency answered: it is healthy, the request is wrong.
        this.options.breaker?.recordSuccess();
        throw ApplicationFailure.create({
          type: 'InvalidInput',
          nonRetryable: true,
          message: `Qdrant rejected ${operation} (HTTP ${status}): ${messageOf(err)}`,
        });
      }
      this.options.breaker?.recordFailure();
      throw ApplicationFailure.create({
        type: 'DependencyUnavailable',
        message: `Qdrant at ${this.options.url} failed ${operation}: ${messageOf(err)}`,
        cause: err instanceof Error ? err : undefined,
      });
    }
  }
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
