import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';

/** The memory collections: what a record is about decides where it lives. */
export const MEMORY_COLLECTIONS = ['code', 'fixes', 'reviews', 'docs'] as const;
export type MemoryCollection = (typeof MEMORY_COLLECTIONS)[number];

/** Payload fields that searches filter on; both adapters index exactly these. */
export const FILTER_FIELDS = ['tenant', 'project', 'language', 'collection', 'tags', 'path', 'survived'] as const;

/** The tenant of a single-tenant install, and of every call that names none. */
export const DEFAULT_TENANT = 'local';

export interface MemoryPayload {
  /**
   * The tenant that owns the record. Written by the store from `MemoryRecord.tenant`, whatever the
   * payload says; a record stored before tenants existed belongs to `local`.
   */
  tenant?: string;
  project: string;
  collection: MemoryCollection;
  language?: string;
  tags?: string[];
  /** Whether the work this record came from survived verification (tests green, review passed). */
  survived?: boolean;
  /** Repository-relative file path, for indexed code. */
  path?: string;
  /** `Class.method`, `function`… for indexed code. */
  symbol?: string;
  startLine?: number;
  endLine?: number;
  /** Hash of the whole source file, for incremental indexing. */
  fileHash?: string;
  /** The workflow that wrote the record, when a job did. */
  workflowId?: string;
  createdAt?: string;
  [extra: string]: unknown;
}

export interface MemoryRecord {
  /** A UUID derived from content (`memoryId`), so storing the same thing twice is one record. */
  id: string;
  text: string;
  vector: Float32Array | number[];
  payload: MemoryPayload;
  /** The owner. Default `local`. Ids must differ across tenants: derive them with `tenantMemoryId`. */
  tenant?: string;
}

/** What a search may narrow by. The tenant is not part of it: a search names its tenant apart, and no filter widens it. */
export interface MemoryFilter {
  project?: string;
  language?: string;
  /** A record must carry every tag listed. */
  tags?: string[];
  path?: string;
  survived?: boolean;
}

export interface MemorySearch {
  collection: MemoryCollection;
  vector: Float32Array | number[];
  topK: number;
  filter?: MemoryFilter;
  /** The only tenant whose records the search may return. Default `local`. */
  tenant?: string;
}

export interface MemoryHit {
  id: string;
  /** Cosine similarity, higher is closer (1 = same direction). */
  score: number;
  text: string;
  payload: MemoryPayload;
}

/** The embedder a collection was built with. Vectors of another embedder are garbage to it. */
export interface EmbedderSignature {
  name: string;
  dimension: number;
}

export interface CollectionStats {
  collection: MemoryCollection;
  records: number;
  embedder?: EmbedderSignature;
}

export interface MemoryStats {
  store: 'embedded' | 'qdrant';
  collections: CollectionStats[];
}

/**
 * A vector store for memory records. Adapters: `EmbeddedMemoryStore` (usearch HNSW + an append log
 * under the data directory; the default) and `QdrantMemoryStore` (at scale). Both pass
 * tests/integration/memory-store-contract.test.ts.
 */
export interface MemoryStore {
  readonly kind: 'embedded' | 'qdrant';
  /**
   * Creates the collection for this embedder, or checks that an existing one was built with the same
   * embedder and dimension. Throws a non-retryable `EmbedderMismatch` otherwise.
   */
  ensureCollection(collection: MemoryCollection, embedder: EmbedderSignature): Promise<void>;
  /** Inserts or replaces records by id. Replaying the same batch is a no-op. */
  upsert(collection: MemoryCollection, records: MemoryRecord[]): Promise<void>;
  /**
   * The topK nearest records of the query's tenant that match the filter, best first. A missing
   * collection has no hits. Another tenant's records are never returned, whatever the filter.
   */
  search(query: MemorySearch): Promise<MemoryHit[]>;
  /** Deletes the tenant's records (default `local`) by id; unknown ids and other tenants' records are left alone. */
  delete(collection: MemoryCollection, ids: string[], tenant?: string): Promise<void>;
  /** The embedder a collection was built with, or undefined when it does not exist yet. */
  embedderOf(collection: MemoryCollection): Promise<EmbedderSignature | undefined>;
  stats(): Promise<MemoryStats>;
  close(): Promise<void>;
}

/** A UUID-shaped id from the sha256 of the parts: Qdrant wants UUIDs, and equal content gives equal ids. */
export function memoryId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * A memory id for a tenant's record: `memoryId(...parts)` for `local` (the ids of a single-tenant
 * install stay what they were), the tenant mixed in otherwise, so equal content of two tenants is two
 * records, never one overwritten by the other.
 */
export function tenantMemoryId(tenant: string | undefined, ...parts: string[]): string {
  const owner = tenantOf(tenant);
  return owner === DEFAULT_TENANT ? memoryId(...parts) : memoryId('tenant', owner, ...parts);
}

/** The tenant a call or a record names, `local` when it names none. */
export function tenantOf(tenant: string | undefined): string {
  return tenant === undefined || tenant === '' ? DEFAULT_TENANT : tenant;
}

export function embedderMismatch(
  collection: string,
  recorded: EmbedderSignature,
  requested: EmbedderSignature,
): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'EmbedderMismatch',
    nonRetryable: true,
    message:
      `Memory collection '${collection}' was built with embedder ${recorded.name} (dimension ${recorded.dimension}), ` +
      `but this worker embeds with ${requested.name} (dimension ${requested.dimension}). ` +
      'Set EMBEDDINGS_PROVIDER/EMBEDDINGS_MODEL/EMBEDDINGS_DIMENSION back, or point the memory at a new store.',
    details: [{ collection, recorded, requested }],
  });
}

/** Whether a payload belongs to a tenant (a payload without one is `local`'s). */
export function ownedBy(payload: MemoryPayload, tenant: string): boolean {
  return tenantOf(payload.tenant) === tenant;
}

/** Whether a payload passes a filter: the one definition both adapters (and Qdrant's translation) follow. */
export function matchesFilter(payload: MemoryPayload, filter: MemoryFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.project !== undefined && payload.project !== filter.project) return false;
  if (filter.language !== undefined && payload.language !== filter.language) return false;
  if (filter.path !== undefined && payload.path !== filter.path) return false;
  if (filter.survived !== undefined && payload.survived !== filter.survived) return false;
  if (filter.tags?.length && !filter.tags.every((t) => payload.tags?.includes(t))) return false;
  return true;
}

export function hasFilter(filter: MemoryFilter | undefined): filter is MemoryFilter {
  return !!filter && Object.values(filter).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0));
}
