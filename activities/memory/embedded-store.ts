import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { heartbeat } from '../context';
import { timeMemoryOperation } from '../cache/metrics';
import { Collection, type CollectionOptions, type HnswParams } from './embedded/collection';
import {
  embedderMismatch,
  MEMORY_COLLECTIONS,
  tenantOf,
  type EmbedderSignature,
  type MemoryCollection,
  type MemoryHit,
  type MemoryRecord,
  type MemorySearch,
  type MemoryStats,
  type MemoryStore,
} from './store';

export type { HnswParams } from './embedded/collection';

export interface EmbeddedStoreOptions {
  /** Directory of the store: one sub-directory per collection. */
  dir: string;
  /** Defaults measured by bench/memory.ts: recall@10 1.0 at 100k × 768. */
  hnsw?: Partial<HnswParams>;
  /** Save the HNSW graph after this many inserts, so a reopen replays a short tail, not the whole log. */
  snapshotEvery?: number;
  /**
   * A search confined to at most this many records (a project, or a tenant's projects) is an exact
   * scan of them in native code; larger ones search the graph. 0: always the graph.
   */
  exactScanBelow?: number;
  /** Compact a collection's files once they hold this many dead records, and more dead than live. */
  compactAfterDead?: number;
}

/**
 * The default memory store: an HNSW graph per collection (usearch) beside each tenant's projects as
 * partitions of their own, persistent under `$SOPHIA_DATA_DIR/memory` (see embedded/ for the files,
 * the partitions and the graph). One process owns the directory: run one memory worker per data
 * directory, or use Qdrant for a fleet.
 */
export class EmbeddedMemoryStore implements MemoryStore {
  readonly kind = 'embedded' as const;
  private readonly collections = new Map<MemoryCollection, Promise<Collection | undefined>>();
  private readonly options: CollectionOptions;

  constructor(readonly opts: EmbeddedStoreOptions) {
    this.options = {
      hnsw: { connectivity: 16, expansionAdd: 128, expansionSearch: 64, ...opts.hnsw },
      snapshotEvery: opts.snapshotEvery ?? 20_000,
      exactScanBelow: opts.exactScanBelow ?? 16_384,
      compactAfterDead: opts.compactAfterDead ?? 10_000,
    };
    fs.mkdirSync(opts.dir, { recursive: true });
  }

  private collectionDir(name: MemoryCollection): string {
    if (!MEMORY_COLLECTIONS.includes(name)) {
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        nonRetryable: true,
        message: `Unknown memory collection '${String(name)}'; use one of ${MEMORY_COLLECTIONS.join(', ')}.`,
      });
    }
    return path.join(this.opts.dir, name);
  }

  /** The open collection, opened once (concurrent callers share the open); undefined when never created. */
  private opened(name: MemoryCollection): Promise<Collection | undefined> {
    let found = this.collections.get(name);
    if (!found) {
      // An activity opening a large store heartbeats as it goes.
      found = Collection.open(name, this.collectionDir(name), this.options, (progress) =>
        heartbeat({ memoryOpen: name, ...progress }),
      );
      this.collections.set(name, found);
      // A failed open is not remembered: the next call tries again.
      void found.catch(() => this.collections.delete(name));
    }
    return found;
  }

  private async require(name: MemoryCollection): Promise<Collection> {
    const found = await this.opened(name);
    if (!found) {
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        nonRetryable: true,
        message: `Memory collection '${name}' does not exist yet: call ensureCollection first.`,
      });
    }
    return found;
  }

  async ensureCollection(name: MemoryCollection, embedder: EmbedderSignature): Promise<void> {
    const existing = await this.opened(name);
    if (existing) {
      if (existing.embedder.name !== embedder.name || existing.embedder.dimension !== embedder.dimension) {
        throw embedderMismatch(name, existing.embedder, embedder);
      }
      return;
    }
    this.collections.set(name, Collection.create(name, this.collectionDir(name), embedder, this.options));
    await this.collections.get(name);
  }

  async embedderOf(name: MemoryCollection): Promise<EmbedderSignature | undefined> {
    return (await this.opened(name))?.embedder;
  }

  upsert(name: MemoryCollection, records: MemoryRecord[]): Promise<void> {
    return timeMemoryOperation('upsert', this.kind, async () => {
      const collection = await this.require(name);
      for (const r of records) checkDimension(name, collection.embedder, r.vector.length);
      await collection.upsert(records);
    });
  }

  search(query: MemorySearch): Promise<MemoryHit[]> {
    return timeMemoryOperation('search', this.kind, async () => {
      const collection = await this.opened(query.collection);
      if (!collection) return [];
      checkDimension(query.collection, collection.embedder, query.vector.length);
      return collection.search(query);
    });
  }

  delete(name: MemoryCollection, ids: string[], tenant?: string): Promise<void> {
    return timeMemoryOperation('delete', this.kind, async () =>
      (await this.opened(name))?.delete(ids, tenantOf(tenant)),
    );
  }

  /** Rewrites a collection's files with its live records now (they are compacted by themselves too). */
  async compact(name: MemoryCollection): Promise<void> {
    await (await this.opened(name))?.compact();
  }

  async stats(): Promise<MemoryStats> {
    const collections = await Promise.all(
      MEMORY_COLLECTIONS.map(async (name) => {
        const c = await this.opened(name);
        return { collection: name, records: c?.byId.size ?? 0, embedder: c?.embedder };
      }),
    );
    return { store: this.kind, collections };
  }

  /** Saves each graph, so the next open loads it instead of rebuilding. */
  async close(): Promise<void> {
    for (const opening of this.collections.values()) (await opening.catch(() => undefined))?.snapshot();
    this.collections.clear();
  }
}

function checkDimension(collection: string, embedder: EmbedderSignature, length: number): void {
  if (length !== embedder.dimension) {
    throw embedderMismatch(collection, embedder, { name: `a vector of dimension ${length}`, dimension: length });
  }
}
