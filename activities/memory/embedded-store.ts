import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { Index, MetricKind, ScalarKind } from 'usearch';
import { timeMemoryOperation } from '../cache/metrics';
import {
  embedderMismatch,
  hasFilter,
  matchesFilter,
  MEMORY_COLLECTIONS,
  ownedBy,
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

export interface HnswParams {
  /** Graph degree (M). */
  connectivity: number;
  /** Candidate list while building (efConstruction). */
  expansionAdd: number;
  /** Candidate list while searching (ef). */
  expansionSearch: number;
}

export interface EmbeddedStoreOptions {
  /** Directory of the store: one sub-directory per collection. */
  dir: string;
  /** Defaults measured by bench/memory.ts: recall@10 1.0 at 100k × 768. */
  hnsw?: Partial<HnswParams>;
  /** Save the HNSW graph after this many inserts, so a reopen replays a short tail, not the whole log. */
  snapshotEvery?: number;
  /** A filter that matches at most this many records is answered by an exact scan over them. */
  exactScanBelow?: number;
}

interface Entry {
  key: number;
  id: string;
  text: string;
  payload: MemoryPayload;
  vector: Float32Array;
}

type LogLine = { op: 'put'; key: number; id: string; text: string; payload: MemoryPayload } | { op: 'del'; id: string };

const VECTOR_HEADER_BYTES = 8;

/**
 * One collection on disk:
 * - `meta.json`: the embedder (name + dimension) the collection was built with;
 * - `log.jsonl`: an append log of puts (id, key, text, payload) and deletes, the source of truth;
 * - `vectors.bin`: fixed-size records (f64 key + f32 × dimension), appended before the log line, so a
 *   torn write leaves a vector without a put, which the reopen ignores;
 * - `index.usearch` + `index.json`: a snapshot of the HNSW graph and the keys it covers; a reopen loads
 *   it and adds only the later vectors.
 */
class Collection {
  readonly byId = new Map<string, Entry>();
  readonly byKey = new Map<number, Entry>();
  /**
   * Live keys by tenant, then project: where every search starts (Qdrant's tenant keys, here), so a
   * search of one project never walks the others' records.
   */
  private readonly partitions = new Map<string, Map<string, Set<number>>>();
  readonly index: Index;
  private nextKey = 0;
  private unsnapshotted = 0;

  private constructor(
    readonly name: MemoryCollection,
    readonly dir: string,
    readonly embedder: EmbedderSignature,
    private readonly options: Required<Omit<EmbeddedStoreOptions, 'dir' | 'hnsw'>> & { hnsw: HnswParams },
  ) {
    this.index = new Index({
      dimensions: embedder.dimension,
      metric: MetricKind.Cos,
      quantization: ScalarKind.F32,
      connectivity: options.hnsw.connectivity,
      expansion_add: options.hnsw.expansionAdd,
      expansion_search: options.hnsw.expansionSearch,
      multi: false,
    });
  }

  static readMeta(dir: string): EmbedderSignature | undefined {
    try {
      return (JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { embedder: EmbedderSignature })
        .embedder;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  static create(name: MemoryCollection, dir: string, embedder: EmbedderSignature, options: Collection['options']) {
    fs.mkdirSync(dir, { recursive: true });
    writeAtomic(path.join(dir, 'meta.json'), JSON.stringify({ version: 1, embedder }, null, 2));
    return new Collection(name, dir, embedder, options);
  }

  static open(name: MemoryCollection, dir: string, options: Collection['options']): Collection | undefined {
    const embedder = Collection.readMeta(dir);
    if (!embedder) return undefined;
    const collection = new Collection(name, dir, embedder, options);
    collection.load();
    return collection;
  }

  private get recordBytes(): number {
    return VECTOR_HEADER_BYTES + 4 * this.embedder.dimension;
  }

  private load(): void {
    const puts = new Map<string, Extract<LogLine, { op: 'put' }>>();
    const everKeys: number[] = [];
    for (const line of readLines(path.join(this.dir, 'log.jsonl'))) {
      if (line.op === 'put') {
        puts.set(line.id, line);
        everKeys.push(line.key);
      } else puts.delete(line.id);
    }
    const liveByKey = new Map<number, Extract<LogLine, { op: 'put' }>>();
    for (const put of puts.values()) liveByKey.set(put.key, put);

    const vectors = readFileOrEmpty(path.join(this.dir, 'vectors.bin'));
    const count = Math.floor(vectors.length / this.recordBytes);
    let maxKey = everKeys.reduce((m, k) => Math.max(m, k), -1);
    for (let i = 0; i < count; i++) {
      const offset = i * this.recordBytes;
      const key = vectors.readDoubleLE(offset);
      maxKey = Math.max(maxKey, key);
      const put = liveByKey.get(key);
      if (!put) continue;
      const vector = new Float32Array(this.embedder.dimension);
      Buffer.from(vector.buffer).set(vectors.subarray(offset + VECTOR_HEADER_BYTES, offset + this.recordBytes));
      const entry = { key, id: put.id, text: put.text, payload: put.payload, vector };
      this.byId.set(put.id, entry);
      this.byKey.set(key, entry);
      this.place(entry, true);
    }
    this.nextKey = maxKey + 1;

    const covered = this.loadSnapshot();
    if (covered > 0) {
      const live = new Set([...this.byId.values()].map((e) => e.key));
      for (const key of everKeys) if (key < covered && !live.has(key)) this.index.remove(BigInt(key));
    }
    this.addToIndex([...this.byId.values()].filter((e) => e.key >= covered));
  }

  /** Loads the saved graph; returns the keys it covers (0 when there is none or it is unusable). */
  private loadSnapshot(): number {
    try {
      const { coveredKeys } = JSON.parse(fs.readFileSync(path.join(this.dir, 'index.json'), 'utf8')) as {
        coveredKeys: number;
      };
      this.index.load(path.join(this.dir, 'index.usearch'));
      return coveredKeys;
    } catch {
      // No snapshot, or a torn one: rebuilding from the log is slower but always right.
      return 0;
    }
  }

  private addToIndex(entries: Entry[]): void {
    if (entries.length === 0) return;
    const keys = new BigUint64Array(entries.length);
    const matrix = new Float32Array(entries.length * this.embedder.dimension);
    entries.forEach((e, i) => {
      keys[i] = BigInt(e.key);
      matrix.set(e.vector, i * this.embedder.dimension);
    });
    this.index.add(keys, matrix, 0);
  }

  private place(entry: Entry, live: boolean): void {
    const tenant = tenantOf(entry.payload.tenant);
    let projects = this.partitions.get(tenant);
    let keys = projects?.get(entry.payload.project);
    if (live) {
      if (!projects) this.partitions.set(tenant, (projects = new Map()));
      if (!keys) projects.set(entry.payload.project, (keys = new Set()));
      keys.add(entry.key);
      return;
    }
    keys?.delete(entry.key);
    if (keys?.size === 0) projects!.delete(entry.payload.project);
    if (projects?.size === 0) this.partitions.delete(tenant);
  }

  upsert(records: MemoryRecord[]): void {
    const fresh: Entry[] = [];
    const replaced: Entry[] = [];
    for (const record of records) {
      const payload = { ...record.payload, tenant: tenantOf(record.tenant) };
      const existing = this.byId.get(record.id);
      // Same id, text and payload: an activity retry or a re-index of an unchanged file. Nothing to do.
      if (existing && existing.text === record.text && samePayload(existing.payload, payload)) continue;
      if (existing) replaced.push(existing);
      fresh.push({ key: this.nextKey++, id: record.id, text: record.text, payload, vector: unitVector(record.vector) });
    }
    if (fresh.length === 0) return;
    const vectors = Buffer.alloc(fresh.length * this.recordBytes);
    const lines: string[] = [];
    fresh.forEach((e, i) => {
      const offset = i * this.recordBytes;
      vectors.writeDoubleLE(e.key, offset);
      Buffer.from(e.vector.buffer, e.vector.byteOffset, e.vector.byteLength).copy(
        vectors,
        offset + VECTOR_HEADER_BYTES,
      );
      lines.push(
        JSON.stringify({ op: 'put', key: e.key, id: e.id, text: e.text, payload: e.payload } satisfies LogLine),
      );
    });
    fs.appendFileSync(path.join(this.dir, 'vectors.bin'), vectors);
    fs.appendFileSync(path.join(this.dir, 'log.jsonl'), lines.join('\n') + '\n');
    for (const old of replaced) {
      this.index.remove(BigInt(old.key));
      this.byKey.delete(old.key);
      this.place(old, false);
    }
    this.addToIndex(fresh);
    for (const e of fresh) {
      this.byId.set(e.id, e);
      this.byKey.set(e.key, e);
      this.place(e, true);
    }
    this.unsnapshotted += fresh.length;
    if (this.unsnapshotted >= this.options.snapshotEvery) this.snapshot();
  }

  delete(ids: string[], tenant: string): void {
    const gone = ids.map((id) => this.byId.get(id)).filter((e): e is Entry => !!e && ownedBy(e.payload, tenant));
    if (gone.length === 0) return;
    fs.appendFileSync(
      path.join(this.dir, 'log.jsonl'),
      gone.map((e) => JSON.stringify({ op: 'del', id: e.id } satisfies LogLine)).join('\n') + '\n',
    );
    for (const e of gone) {
      this.index.remove(BigInt(e.key));
      this.byId.delete(e.id);
      this.byKey.delete(e.key);
      this.place(e, false);
    }
    this.unsnapshotted += gone.length;
  }

  search(query: MemorySearch): MemoryHit[] {
    const projects = this.partitions.get(tenantOf(query.tenant));
    if (!projects || query.topK <= 0) return [];
    const vector = unitVector(query.vector);
    const filter = query.filter;
    let owned = 0;
    for (const keys of projects.values()) owned += keys.size;
    // The tenant's records are all there is (a single-tenant install): the graph needs no filter.
    if (!hasFilter(filter) && owned === this.byId.size) {
      return this.annSearch(vector, Math.min(query.topK, this.byId.size), () => true);
    }

    // Candidates: the named project's keys, or all the tenant's; the rest of the filter narrows them.
    const named = filter?.project !== undefined;
    const partition = named ? [projects.get(filter.project!) ?? new Set<number>()] : [...projects.values()];
    const rest: MemoryFilter = { ...filter, project: undefined };
    let keys: Set<number>;
    if (partition.length === 1 && !hasFilter(rest)) keys = partition[0]!;
    else {
      keys = new Set();
      for (const set of partition)
        for (const key of set) if (matchesFilter(this.byKey.get(key)!.payload, rest)) keys.add(key);
    }
    if (keys.size === 0) return [];
    // A selective filter leaves few candidates: scanning them exactly is faster than over-fetching from
    // the graph, and always finds them all.
    if (keys.size <= this.options.exactScanBelow) {
      return exactTopK(
        vector,
        [...keys].map((key) => this.byKey.get(key)!),
        query.topK,
      );
    }
    return this.annSearch(vector, query.topK, (key) => keys.has(key), this.byId.size / keys.size);
  }

  /** Graph search with over-fetching by the filter's selectivity, widened until topK hits pass it. */
  private annSearch(
    vector: Float32Array,
    topK: number,
    accept: (key: number) => boolean,
    selectivity = 1,
  ): MemoryHit[] {
    const byKey = this.byKey;
    const size = this.index.size();
    let fetch = Math.min(size, Math.ceil(topK * selectivity * 1.5) + (selectivity > 1 ? topK : 0));
    for (;;) {
      const { keys, distances } = this.index.search(vector, fetch, 1);
      const hits: MemoryHit[] = [];
      for (let i = 0; i < keys.length && hits.length < topK; i++) {
        const key = Number(keys[i]);
        const entry = byKey.get(key);
        if (!entry || !accept(key)) continue;
        hits.push({ id: entry.id, score: 1 - distances[i]!, text: entry.text, payload: entry.payload });
      }
      if (hits.length >= topK || fetch >= size) return hits;
      fetch = Math.min(size, fetch * 4);
    }
  }

  snapshot(): void {
    if (this.unsnapshotted === 0) return;
    const file = path.join(this.dir, 'index.usearch');
    const tmp = `${file}.${process.pid}.tmp`;
    this.index.save(tmp);
    fs.renameSync(tmp, file);
    writeAtomic(path.join(this.dir, 'index.json'), JSON.stringify({ coveredKeys: this.nextKey }));
    this.unsnapshotted = 0;
  }
}

/**
 * The default memory store: an HNSW graph per collection (usearch: 0.8 ms p95 at 100k × 768 on two
 * cores, recall 1.0; see bench/memory.ts) beside an append log for texts, payloads and filters,
 * persistent under `$SOPHIA_DATA_DIR/memory`. One process owns the directory: run one memory worker per
 * data directory, or use Qdrant for a fleet.
 */
export class EmbeddedMemoryStore implements MemoryStore {
  readonly kind = 'embedded' as const;
  private readonly collections = new Map<MemoryCollection, Collection>();
  private readonly options: Collection['options'];

  constructor(readonly opts: EmbeddedStoreOptions) {
    this.options = {
      hnsw: { connectivity: 16, expansionAdd: 128, expansionSearch: 64, ...opts.hnsw },
      snapshotEvery: opts.snapshotEvery ?? 20_000,
      exactScanBelow: opts.exactScanBelow ?? 4_096,
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

  private opened(name: MemoryCollection): Collection | undefined {
    let found = this.collections.get(name);
    if (!found) {
      found = Collection.open(name, this.collectionDir(name), this.options);
      if (found) this.collections.set(name, found);
    }
    return found;
  }

  private require(name: MemoryCollection): Collection {
    const found = this.opened(name);
    if (!found) {
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        nonRetryable: true,
        message: `Memory collection '${name}' does not exist yet: call ensureCollection first.`,
      });
    }
    return found;
  }

  ensureCollection(name: MemoryCollection, embedder: EmbedderSignature): Promise<void> {
    const existing = this.opened(name);
    if (existing) {
      if (existing.embedder.name !== embedder.name || existing.embedder.dimension !== embedder.dimension) {
        return Promise.reject(embedderMismatch(name, existing.embedder, embedder));
      }
      return Promise.resolve();
    }
    this.collections.set(name, Collection.create(name, this.collectionDir(name), embedder, this.options));
    return Promise.resolve();
  }

  embedderOf(name: MemoryCollection): Promise<EmbedderSignature | undefined> {
    return Promise.resolve(this.collections.get(name)?.embedder ?? Collection.readMeta(this.collectionDir(name)));
  }

  upsert(name: MemoryCollection, records: MemoryRecord[]): Promise<void> {
    return timeMemoryOperation('upsert', this.kind, async () => {
      const collection = this.require(name);
      for (const r of records) checkDimension(name, collection.embedder, r.vector.length);
      collection.upsert(records);
    });
  }

  search(query: MemorySearch): Promise<MemoryHit[]> {
    return timeMemoryOperation('search', this.kind, async () => {
      const collection = this.opened(query.collection);
      if (!collection) return [];
      checkDimension(query.collection, collection.embedder, query.vector.length);
      return collection.search(query);
    });
  }

  delete(name: MemoryCollection, ids: string[], tenant?: string): Promise<void> {
    return timeMemoryOperation('delete', this.kind, async () => this.opened(name)?.delete(ids, tenantOf(tenant)));
  }

  async stats(): Promise<MemoryStats> {
    const collections = MEMORY_COLLECTIONS.map((name) => {
      const c = this.opened(name);
      return { collection: name, records: c?.byId.size ?? 0, embedder: c?.embedder };
    });
    return { store: this.kind, collections };
  }

  /** Saves each graph, so the next open loads it instead of rebuilding. */
  async close(): Promise<void> {
    for (const c of this.collections.values()) c.snapshot();
    this.collections.clear();
  }
}

function checkDimension(collection: string, embedder: EmbedderSignature, length: number): void {
  if (length !== embedder.dimension) {
    throw embedderMismatch(collection, embedder, { name: `a vector of dimension ${length}`, dimension: length });
  }
}

function unitVector(v: Float32Array | number[]): Float32Array {
  const out = Float32Array.from(v);
  let norm = 0;
  for (const x of out) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0 && Math.abs(norm - 1) > 1e-6) for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return out;
}

function exactTopK(vector: Float32Array, entries: Entry[], topK: number): MemoryHit[] {
  const scored = entries.map((e) => {
    let dot = 0;
    for (let i = 0; i < vector.length; i++) dot += vector[i]! * e.vector[i]!;
    return { e, dot };
  });
  scored.sort((a, b) => b.dot - a.dot);
  return scored.slice(0, topK).map(({ e, dot }) => ({ id: e.id, score: dot, text: e.text, payload: e.payload }));
}

function samePayload(a: MemoryPayload, b: MemoryPayload): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function readFileOrEmpty(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  }
}

function* readLines(file: string): Generator<LogLine> {
  const text = readFileOrEmpty(file).toString('utf8');
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    try {
      yield JSON.parse(raw) as LogLine;
    } catch {
      // Only the last line can be torn (a crash mid-append); the records before it are whole.
    }
  }
}

function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}
