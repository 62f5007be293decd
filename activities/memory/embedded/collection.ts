import fs from 'node:fs';
import path from 'node:path';
import { Index, MetricKind, ScalarKind } from 'usearch';
import {
  hasFilter,
  matchesFilter,
  ownedBy,
  tenantOf,
  type EmbedderSignature,
  type MemoryCollection,
  type MemoryFilter,
  type MemoryHit,
  type MemoryPayload,
  type MemoryRecord,
  type MemorySearch,
} from '../store';
import { activityLog } from '../../context';
import { breathe, CollectionFiles, writeDurably, type StoredRecord } from './files';
import { Partition } from './partition';

export interface HnswParams {
  /** Graph degree (M). */
  connectivity: number;
  /** Candidate list while building (efConstruction). */
  expansionAdd: number;
  /** Candidate list while searching (ef). */
  expansionSearch: number;
}

export interface CollectionOptions {
  hnsw: HnswParams;
  /** Save the HNSW graph after this many inserts, so a reopen replays a short tail, not the whole log. */
  snapshotEvery: number;
  /** A search confined to at most this many records is an exact scan of them (0: always the graph). */
  exactScanBelow: number;
  /** Compact the files once they hold this many dead records and more dead than live ones. */
  compactAfterDead: number;
}

export type OpenProgress = (progress: { phase: string; done: number }) => void;

interface Entry {
  key: number;
  id: string;
  text: string;
  payload: MemoryPayload;
  partition: Partition;
}

/** Vectors added to the graph, or rows scanned, between two yields to the event loop while opening. */
const GRAPH_CHUNK = 2_048;
/** A filter on more than the project (language, tags…) is scanned in JavaScript up to this many candidates. */
const FILTERED_SCAN_BELOW = 4_096;

/**
 * One collection of the embedded store, in memory: an HNSW graph of every record (usearch) for
 * searches across the whole collection, and each tenant's projects as partitions (partition.ts), where
 * searches confined to a project run. On disk: `meta.json` (the embedder), the records' files
 * (files.ts), and a snapshot of the graph (`index.usearch` + `index.json`, the keys it covers) that a
 * reopen loads before adding the later records.
 */
export class Collection {
  readonly byId = new Map<string, Entry>();
  private readonly byKey = new Map<number, Entry>();
  /** Partitions by tenant, then project. */
  private readonly partitions = new Map<string, Map<string, Partition>>();
  private index: Index;
  private readonly files: CollectionFiles;
  private nextKey = 0;
  private unsnapshotted = 0;
  private dead = 0;

  private constructor(
    readonly name: MemoryCollection,
    readonly dir: string,
    readonly embedder: EmbedderSignature,
    private readonly options: CollectionOptions,
  ) {
    this.index = this.newIndex();
    this.files = new CollectionFiles(dir, embedder.dimension);
  }

  static async readMeta(dir: string): Promise<EmbedderSignature | undefined> {
    try {
      const meta = JSON.parse(await fs.promises.readFile(path.join(dir, 'meta.json'), 'utf8')) as {
        embedder: EmbedderSignature;
      };
      return meta.embedder;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  static async create(
    name: MemoryCollection,
    dir: string,
    embedder: EmbedderSignature,
    options: CollectionOptions,
  ): Promise<Collection> {
    await fs.promises.mkdir(dir, { recursive: true });
    await writeDurably(path.join(dir, 'meta.json'), JSON.stringify({ version: 1, embedder }, null, 2));
    return new Collection(name, dir, embedder, options);
  }

  /** Opens a collection from its files, or answers undefined when it was never created. */
  static async open(
    name: MemoryCollection,
    dir: string,
    options: CollectionOptions,
    onProgress: OpenProgress,
  ): Promise<Collection | undefined> {
    const embedder = await Collection.readMeta(dir);
    if (!embedder) return undefined;
    const collection = new Collection(name, dir, embedder, options);
    await collection.load(onProgress);
    return collection;
  }

  private newIndex(): Index {
    return new Index({
      dimensions: this.embedder.dimension,
      metric: MetricKind.Cos,
      quantization: ScalarKind.F32,
      connectivity: this.options.hnsw.connectivity,
      expansion_add: this.options.hnsw.expansionAdd,
      expansion_search: this.options.hnsw.expansionSearch,
      multi: false,
    });
  }

  private async load(onProgress: OpenProgress): Promise<void> {
    const opened = await this.files.open(onProgress);
    if (opened.repaired.vectors || opened.repaired.log || opened.damaged) {
      activityLog('memory').warn('embedded memory files repaired on open', {
        collection: this.name,
        tornVectorBytes: opened.repaired.vectors,
        tornLogBytes: opened.repaired.log,
        damagedLogLines: opened.damaged,
      });
    }
    this.nextKey = opened.nextKey;
    this.dead = opened.dead;
    for (const { put, vector } of opened.records) {
      const payload = put.payload;
      this.remember(
        { key: put.key, id: put.id, text: put.text, payload, partition: this.partitionOf(payload) },
        vector,
      );
    }

    const covered = this.loadSnapshot();
    let fromKey = 0;
    if (covered > 0) {
      for (const key of opened.everKeys) if (key < covered && !this.byKey.has(key)) this.index.remove(BigInt(key));
      const liveCovered = opened.records.filter((r) => r.put.key < covered).length;
      // A snapshot that holds other keys than the live ones below its mark (a crash between a
      // compaction and its snapshot) is not trusted: the graph is rebuilt from the records.
      if (this.index.size() === liveCovered) fromKey = covered;
      else this.index = this.newIndex();
    }
    const pending = opened.records.filter((r) => r.put.key >= fromKey);
    for (let i = 0; i < pending.length; i += GRAPH_CHUNK) {
      this.addToIndex(pending.slice(i, i + GRAPH_CHUNK));
      await breathe(onProgress, 'graph', Math.min(i + GRAPH_CHUNK, pending.length));
    }
    this.unsnapshotted = pending.length;
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
      // No snapshot, or a torn one: rebuilding from the records is slower but always right.
      this.index = this.newIndex();
      return 0;
    }
  }

  private partitionOf(payload: MemoryPayload): Partition {
    const tenant = tenantOf(payload.tenant);
    let projects = this.partitions.get(tenant);
    if (!projects) this.partitions.set(tenant, (projects = new Map()));
    let partition = projects.get(payload.project);
    if (!partition) projects.set(payload.project, (partition = new Partition(this.embedder.dimension)));
    return partition;
  }

  private remember(entry: Entry, vector: Float32Array): void {
    this.byId.set(entry.id, entry);
    this.byKey.set(entry.key, entry);
    entry.partition.add(entry.key, vector);
  }

  private forget(entry: Entry): void {
    this.index.remove(BigInt(entry.key));
    this.byKey.delete(entry.key);
    if (this.byId.get(entry.id) === entry) this.byId.delete(entry.id);
    entry.partition.remove(entry.key);
    if (entry.partition.size === 0) {
      const tenant = tenantOf(entry.payload.tenant);
      const projects = this.partitions.get(tenant);
      projects?.delete(entry.payload.project);
      if (projects?.size === 0) this.partitions.delete(tenant);
    }
  }

  private addToIndex(records: StoredRecord[]): void {
    if (records.length === 0) return;
    const keys = new BigUint64Array(records.length);
    const matrix = new Float32Array(records.length * this.embedder.dimension);
    records.forEach((r, i) => {
      keys[i] = BigInt(r.put.key);
      matrix.set(r.vector, i * this.embedder.dimension);
    });
    this.index.add(keys, matrix, 0);
  }

  async upsert(records: MemoryRecord[]): Promise<void> {
    const fresh: StoredRecord[] = [];
    const replaced: Entry[] = [];
    for (const record of records) {
      const payload = { ...record.payload, tenant: tenantOf(record.tenant) };
      const existing = this.byId.get(record.id);
      // Same id, text and payload: an activity retry or a re-index of an unchanged file. Nothing to do.
      if (existing && existing.text === record.text && samePayload(existing.payload, payload)) continue;
      if (existing) replaced.push(existing);
      const put = { op: 'put' as const, key: this.nextKey++, id: record.id, text: record.text, payload };
      fresh.push({ put, vector: unitVector(record.vector) });
    }
    if (fresh.length === 0) return;
    this.files.append(fresh);
    for (const old of replaced) this.forget(old);
    this.addToIndex(fresh);
    for (const { put, vector } of fresh) {
      const entry = { key: put.key, id: put.id, text: put.text, payload: put.payload };
      this.remember({ ...entry, partition: this.partitionOf(put.payload) }, vector);
    }
    this.dead += replaced.length;
    this.unsnapshotted += fresh.length;
    if (this.unsnapshotted >= this.options.snapshotEvery) this.snapshot();
    await this.compactIfWasteful();
  }

  async delete(ids: string[], tenant: string): Promise<void> {
    const gone = ids.map((id) => this.byId.get(id)).filter((e): e is Entry => !!e && ownedBy(e.payload, tenant));
    if (gone.length === 0) return;
    this.files.appendDeletes(gone.map((e) => e.id));
    for (const e of gone) this.forget(e);
    // The put and the delete line of each are dead weight in the files now.
    this.dead += 2 * gone.length;
    this.unsnapshotted += gone.length;
    await this.compactIfWasteful();
  }

  /** Rewrites the files with the live records once dead ones outnumber them (and are many). */
  private async compactIfWasteful(): Promise<void> {
    if (this.dead < this.options.compactAfterDead || this.dead <= this.byId.size) return;
    await this.compact();
  }

  async compact(): Promise<void> {
    const live = [...this.byKey.values()]
      .sort((a, b) => a.key - b.key)
      .map((e) => ({
        put: { op: 'put' as const, key: e.key, id: e.id, text: e.text, payload: e.payload },
        vector: e.partition.vector(e.key),
      }));
    await this.files.compact(live, this.nextKey);
    this.dead = 0;
    // The graph's snapshot must match the compacted files: a reopen checks it against them.
    this.unsnapshotted = Math.max(1, this.unsnapshotted);
    this.snapshot();
  }

  search(query: MemorySearch): MemoryHit[] {
    const projects = this.partitions.get(tenantOf(query.tenant));
    if (!projects || query.topK <= 0) return [];
    const vector = unitVector(query.vector);
    const filter = query.filter;
    let owned = 0;
    for (const p of projects.values()) owned += p.size;
    // The tenant's records are all there is (a single-tenant install): the graph needs no filter.
    if (!hasFilter(filter) && owned === this.byId.size) {
      const all = [...projects.values()];
      return this.annSearch(
        vector,
        query.topK,
        () => true,
        owned,
        () => this.scanPartitions(all, vector, query.topK),
      );
    }

    // The named project's partition, or all the tenant's; the rest of the filter narrows them.
    const named = filter?.project !== undefined;
    const partitions = named
      ? [projects.get(filter.project!)].filter((p): p is Partition => !!p)
      : [...projects.values()];
    const rest: MemoryFilter = { ...filter, project: undefined };
    if (!hasFilter(rest)) {
      const size = partitions.reduce((n, p) => n + p.size, 0);
      if (size === 0) return [];
      const exact = () => this.scanPartitions(partitions, vector, query.topK);
      if (size <= this.options.exactScanBelow) return exact();
      const inside = new Set(partitions);
      return this.annSearch(vector, query.topK, (key) => inside.has(this.byKey.get(key)!.partition), size, exact);
    }

    const keys: number[] = [];
    for (const p of partitions)
      for (const key of p.allKeys()) if (matchesFilter(this.byKey.get(key)!.payload, rest)) keys.push(key);
    if (keys.length === 0) return [];
    const exact = () => this.scanKeys(keys, vector, query.topK);
    if (keys.length <= Math.min(this.options.exactScanBelow, FILTERED_SCAN_BELOW)) return exact();
    const accepted = new Set(keys);
    return this.annSearch(vector, query.topK, (key) => accepted.has(key), keys.length, exact);
  }

  /** Exact, in native code, over the partitions' own blocks of vectors. */
  private scanPartitions(partitions: Partition[], vector: Float32Array, topK: number): MemoryHit[] {
    return this.best(
      partitions.flatMap((p) => p.nearest(vector, topK)),
      topK,
    );
  }

  /** Exact, in JavaScript, over the given records. */
  private scanKeys(keys: number[], vector: Float32Array, topK: number): MemoryHit[] {
    return this.best(
      keys.map((key) => ({ key, score: this.byKey.get(key)!.partition.dot(key, vector) })),
      topK,
    );
  }

  private best(scored: { key: number; score: number }[], topK: number): MemoryHit[] {
    scored.sort((a, b) => b.score - a.score);
    return scored.slice(0, topK).map(({ key, score }) => this.hit(this.byKey.get(key)!, score));
  }

  private hit(entry: Entry, score: number): MemoryHit {
    return { id: entry.id, score, text: entry.text, payload: entry.payload };
  }

  /**
   * Graph search for the `accepted` records `accept` admits, over-fetching by their share of the
   * collection and widening until topK of them are found. A graph can lose records (many equal
   * vectors, a sparse graph): when even a search of the whole graph finds fewer than it should, the
   * answer is the exact scan instead, so a search never silently drops what it was asked for.
   */
  private annSearch(
    vector: Float32Array,
    topK: number,
    accept: (key: number) => boolean,
    accepted: number,
    exact: () => MemoryHit[],
  ): MemoryHit[] {
    const want = Math.min(topK, accepted);
    if (want <= 0) return [];
    const size = this.index.size();
    const selectivity = size / accepted;
    let fetch = Math.min(size, Math.ceil(want * selectivity * 1.5) + (selectivity > 1 ? want : 0));
    for (;;) {
      const { keys, distances } = this.index.search(vector, fetch, 1);
      const hits: MemoryHit[] = [];
      for (let i = 0; i < keys.length && hits.length < want; i++) {
        const key = Number(keys[i]);
        const entry = this.byKey.get(key);
        if (!entry || !accept(key)) continue;
        hits.push(this.hit(entry, 1 - distances[i]!));
      }
      if (hits.length >= want) return hits;
      if (fetch >= size) return exact();
      fetch = Math.min(size, fetch * 4);
    }
  }

  snapshot(): void {
    if (this.unsnapshotted === 0) return;
    const file = path.join(this.dir, 'index.usearch');
    const tmp = `${file}.${process.pid}.tmp`;
    this.index.save(tmp);
    fs.renameSync(tmp, file);
    const marker = path.join(this.dir, 'index.json');
    fs.writeFileSync(`${marker}.${process.pid}.tmp`, JSON.stringify({ coveredKeys: this.nextKey }));
    fs.renameSync(`${marker}.${process.pid}.tmp`, marker);
    this.unsnapshotted = 0;
  }
}

function samePayload(a: MemoryPayload, b: MemoryPayload): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function unitVector(v: Float32Array | number[]): Float32Array {
  const out = Float32Array.from(v);
  let norm = 0;
  for (const x of out) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0 && Math.abs(norm - 1) > 1e-6) for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return out;
}
