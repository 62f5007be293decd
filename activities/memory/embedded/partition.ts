import { exactSearch, MetricKind } from 'usearch';

/**
 * One tenant's project: its records' unit vectors side by side in one block of memory, so a search
 * confined to the project reads that block and nothing else. Below the store's exact-scan size a
 * search is an exact scan of the block in native SIMD code (usearch's `exactSearch`), which is what
 * Qdrant does for a filter whose matches are few: exact, and fast because it touches only them.
 */
export class Partition {
  private arena: Float32Array;
  private readonly keys: number[] = [];
  private readonly slots = new Map<number, number>();

  constructor(readonly dimension: number) {
    this.arena = new Float32Array(dimension * 16);
  }

  get size(): number {
    return this.keys.length;
  }

  has(key: number): boolean {
    return this.slots.has(key);
  }

  /** The partition's keys (a live view: do not hold it across writes). */
  allKeys(): readonly number[] {
    return this.keys;
  }

  add(key: number, vector: Float32Array): void {
    if (this.slots.has(key)) throw new Error(`key ${key} is already in the partition`);
    const slot = this.keys.length;
    if ((slot + 1) * this.dimension > this.arena.length) {
      const grown = new Float32Array(this.arena.length * 2);
      grown.set(this.arena);
      this.arena = grown;
    }
    this.arena.set(vector, slot * this.dimension);
    this.keys.push(key);
    this.slots.set(key, slot);
  }

  /** Removes a key: the last record moves into its slot, so the block stays dense. */
  remove(key: number): void {
    const slot = this.slots.get(key);
    if (slot === undefined) return;
    const last = this.keys.length - 1;
    if (slot !== last) {
      const moved = this.keys[last]!;
      this.arena.copyWithin(slot * this.dimension, last * this.dimension, (last + 1) * this.dimension);
      this.keys[slot] = moved;
      this.slots.set(moved, slot);
    }
    this.keys.pop();
    this.slots.delete(key);
  }

  /** A copy of the key's vector. */
  vector(key: number): Float32Array {
    const slot = this.slots.get(key);
    if (slot === undefined) throw new Error(`key ${key} is not in the partition`);
    return this.arena.slice(slot * this.dimension, (slot + 1) * this.dimension);
  }

  /** The dot product of a unit query with the key's unit vector: its cosine similarity. */
  dot(key: number, query: Float32Array): number {
    const base = this.slots.get(key)! * this.dimension;
    let dot = 0;
    for (let i = 0; i < this.dimension; i++) dot += query[i]! * this.arena[base + i]!;
    return dot;
  }

  /** The exact `topK` nearest records to a unit query, by cosine similarity, best first. */
  nearest(query: Float32Array, topK: number): { key: number; score: number }[] {
    const count = Math.min(topK, this.keys.length);
    if (count === 0) return [];
    const block = this.arena.subarray(0, this.keys.length * this.dimension);
    const { keys: rows, distances } = exactSearch(block, query, this.dimension, count, MetricKind.IP, 1) as {
      keys: BigUint64Array;
      distances: Float32Array;
    };
    const out: { key: number; score: number }[] = [];
    for (let i = 0; i < rows.length; i++) out.push({ key: this.keys[Number(rows[i])]!, score: 1 - distances[i]! });
    return out;
  }
}
