import fs from 'node:fs';
import path from 'node:path';
import type { MemoryPayload } from '../store';

/**
 * The embedded store's storage engine: one collection's files, append-only between compactions.
 *
 * - `log.jsonl`: puts (key, id, text, payload) and deletes, one JSON line each: the source of truth.
 * - `vectors.bin`: fixed-size records (f64 key + f32 × dimension), appended *before* their put line.
 *
 * A crash mid-append leaves a torn tail: part of a vector record, or a log line without its newline.
 * Opening cuts each file back to its last whole record before anything is appended, so a torn record
 * never shifts the records written after it (a vector file misaligned by half a record would read
 * every later vector wrong). A vector whose put line never made it is ignored.
 *
 * Compaction rewrites both files with the live records only, each to a temporary file that is fsynced
 * and then renamed over the old one: vectors first, then the log. A crash between the two renames
 * leaves new vectors beside the old log, which reads the same: the log's dead puts find no vector.
 */

export type PutLine = { op: 'put'; key: number; id: string; text: string; payload: MemoryPayload };
/** `next`: the first line of a compacted log, so keys never go back to ones the graph snapshot knew. */
type LogLine = PutLine | { op: 'del'; id: string } | { op: 'next'; key: number };

const VECTOR_HEADER_BYTES = 8;
/** Lines parsed, or vectors read, between two yields to the event loop while opening. */
const OPEN_CHUNK = 4_096;

export interface StoredRecord {
  put: PutLine;
  vector: Float32Array;
}

export interface OpenedFiles {
  /** Live records, in key order. */
  records: StoredRecord[];
  /** Every key the files ever used, live or not: a graph snapshot may still hold the dead ones. */
  everKeys: number[];
  /** The key the next record gets. */
  nextKey: number;
  /** Records the files hold that are no longer live (replaced or deleted), plus delete lines. */
  dead: number;
  /** What the open repaired: bytes cut from a torn tail, per file. */
  repaired: { vectors: number; log: number };
  /** Log lines that did not parse (damage, not a torn tail): skipped. */
  damaged: number;
}

export class CollectionFiles {
  readonly vectorsPath: string;
  readonly logPath: string;
  private readonly recordBytes: number;

  constructor(
    readonly dir: string,
    readonly dimension: number,
  ) {
    this.vectorsPath = path.join(dir, 'vectors.bin');
    this.logPath = path.join(dir, 'log.jsonl');
    this.recordBytes = VECTOR_HEADER_BYTES + 4 * dimension;
  }

  /**
   * Repairs a torn tail, then reads every live record. Reads are asynchronous and the parsing yields
   * every few thousand records (calling `onProgress`, where an activity heartbeats), so a large store
   * opens without stopping the worker's event loop.
   */
  async open(onProgress: (progress: { phase: string; done: number }) => void = () => {}): Promise<OpenedFiles> {
    const repaired = { vectors: await this.cutTornTail('vectors'), log: await this.cutTornTail('log') };
    const puts = new Map<string, PutLine>();
    const everKeys: number[] = [];
    let nextKey = 0;
    let lines = 0;
    let deletes = 0;
    let damaged = 0;
    const text = (await readOrEmpty(this.logPath)).toString('utf8');
    let start = 0;
    while (start < text.length) {
      const end = text.indexOf('\n', start);
      const raw = text.slice(start, end < 0 ? text.length : end);
      start = end < 0 ? text.length : end + 1;
      if (!raw) continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        // Not a torn tail (that was cut above) but a damaged line: its record is lost, the rest is not.
        damaged++;
        continue;
      }
      if (line.op === 'put') {
        puts.set(line.id, line);
        everKeys.push(line.key);
        nextKey = Math.max(nextKey, line.key + 1);
      } else if (line.op === 'del') {
        puts.delete(line.id);
        deletes++;
      } else nextKey = Math.max(nextKey, line.key);
      if (++lines % OPEN_CHUNK === 0) await breathe(onProgress, 'log', lines);
    }

    const liveByKey = new Map<number, PutLine>();
    for (const put of puts.values()) liveByKey.set(put.key, put);
    const vectors = await readOrEmpty(this.vectorsPath);
    const count = vectors.length / this.recordBytes;
    const records: StoredRecord[] = [];
    for (let i = 0; i < count; i++) {
      const offset = i * this.recordBytes;
      const key = vectors.readDoubleLE(offset);
      nextKey = Math.max(nextKey, key + 1);
      const put = liveByKey.get(key);
      if (put) {
        const vector = new Float32Array(this.dimension);
        Buffer.from(vector.buffer).set(vectors.subarray(offset + VECTOR_HEADER_BYTES, offset + this.recordBytes));
        records.push({ put, vector });
      }
      if ((i + 1) % OPEN_CHUNK === 0) await breathe(onProgress, 'vectors', i + 1);
    }
    records.sort((a, b) => a.put.key - b.put.key);
    return { records, everKeys, nextKey, dead: everKeys.length - records.length + deletes, repaired, damaged };
  }

  /** Appends records: their vectors first, then their put lines (a crash between leaves vectors without puts). */
  append(records: StoredRecord[]): void {
    if (records.length === 0) return;
    fs.appendFileSync(this.vectorsPath, this.vectorBytes(records));
    fs.appendFileSync(this.logPath, records.map((r) => JSON.stringify(r.put)).join('\n') + '\n');
  }

  appendDeletes(ids: string[]): void {
    if (ids.length === 0) return;
    fs.appendFileSync(
      this.logPath,
      ids.map((id) => JSON.stringify({ op: 'del', id } satisfies LogLine)).join('\n') + '\n',
    );
  }

  /** Rewrites both files with `live` only (see the class comment for why a crash midway is safe). */
  async compact(live: StoredRecord[], nextKey: number): Promise<void> {
    const lines = [
      JSON.stringify({ op: 'next', key: nextKey } satisfies LogLine),
      ...live.map((r) => JSON.stringify(r.put)),
    ];
    await writeDurably(this.vectorsPath, this.vectorBytes(live));
    await writeDurably(this.logPath, Buffer.from(lines.join('\n') + '\n', 'utf8'));
  }

  private vectorBytes(records: StoredRecord[]): Buffer {
    const out = Buffer.alloc(records.length * this.recordBytes);
    records.forEach((r, i) => {
      const offset = i * this.recordBytes;
      out.writeDoubleLE(r.put.key, offset);
      Buffer.from(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength).copy(out, offset + VECTOR_HEADER_BYTES);
    });
    return out;
  }

  /** Cuts a file back to its last whole record; answers how many bytes went. */
  private async cutTornTail(which: 'vectors' | 'log'): Promise<number> {
    const file = which === 'vectors' ? this.vectorsPath : this.logPath;
    let size: number;
    try {
      size = (await fs.promises.stat(file)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const whole = which === 'vectors' ? size - (size % this.recordBytes) : await endOfLastLine(file, size);
    if (whole === size) return 0;
    await fs.promises.truncate(file, whole);
    return size - whole;
  }
}

/** The offset just past the file's last newline (0 when it has none). */
async function endOfLastLine(file: string, size: number): Promise<number> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await handle.read(chunk, 0, end - start, start);
      const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (at >= 0) return start + at + 1;
      end = start;
    }
    return 0;
  } finally {
    await handle.close();
  }
}

async function readOrEmpty(file: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  }
}

/** Write to a temporary file, fsync it, rename it over `file`, fsync the directory. */
export async function writeDurably(file: string, content: Buffer | string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await fs.promises.open(tmp, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, file);
  const dir = await fs.promises.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Lets timers and I/O run (an activity's heartbeat among them) in the middle of a long open. */
export async function breathe(
  onProgress: (progress: { phase: string; done: number }) => void,
  phase: string,
  done: number,
): Promise<void> {
  onProgress({ phase, done });
  await new Promise((resolve) => setImmediate(resolve));
}
