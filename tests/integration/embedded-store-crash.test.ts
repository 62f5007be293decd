import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { EmbeddedMemoryStore } from '../../activities/memory/embedded-store';
import { memoryId, type MemoryRecord } from '../../activities/memory/store';
import { CRASH_DIMENSION, crashRecord } from '../support/memory-crash-writer';

const projectRoot = path.resolve(__dirname, '..', '..');
const EMBEDDER = { name: 'crash', dimension: CRASH_DIMENSION };
/** f64 key + f32 × dimension: one record of vectors.bin. */
const RECORD_BYTES = 8 + 4 * CRASH_DIMENSION;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-memory-crash-'));
}

/** Searches a record by its own vector, in its own project: it must come first, with its own text. */
async function find(store: EmbeddedMemoryStore, record: MemoryRecord) {
  const [hit] = await store.search({
    collection: 'code',
    vector: record.vector,
    topK: 1,
    filter: { project: record.payload.project },
  });
  return hit && hit.id === record.id ? { text: hit.text, score: hit.score } : undefined;
}

describe('the embedded memory store after a torn write', () => {
  test('a torn vector record is cut off on open, so the records written after it read right', async () => {
    const dir = tempDir();
    const first = new EmbeddedMemoryStore({ dir });
    await first.ensureCollection('code', EMBEDDER);
    const before = crashRecord('before', 0);
    await first.upsert('code', [before]);
    // A crash in the middle of appending the next vector: half a record, and no put line for it.
    fs.appendFileSync(path.join(dir, 'code', 'vectors.bin'), Buffer.alloc(RECORD_BYTES / 2, 7));

    const second = new EmbeddedMemoryStore({ dir });
    const after = crashRecord('after', 0);
    await second.upsert('code', [after]);
    expect(fs.statSync(path.join(dir, 'code', 'vectors.bin')).size).toBe(2 * RECORD_BYTES);

    const third = new EmbeddedMemoryStore({ dir });
    for (const record of [before, after]) {
      expect(await find(third, record)).toEqual({ text: record.text, score: expect.closeTo(1, 5) });
    }
  });

  test('a torn log line is cut off on open, so the next put is a line of its own', async () => {
    const dir = tempDir();
    const first = new EmbeddedMemoryStore({ dir });
    await first.ensureCollection('code', EMBEDDER);
    await first.upsert('code', [crashRecord('whole', 0)]);
    fs.appendFileSync(path.join(dir, 'code', 'log.jsonl'), '{"op":"put","key":1,"id":"x","te');

    const second = new EmbeddedMemoryStore({ dir });
    const next = crashRecord('next', 0);
    await second.upsert('code', [next]);

    const third = new EmbeddedMemoryStore({ dir });
    expect(await find(third, next)).toEqual({ text: next.text, score: expect.closeTo(1, 5) });
    expect((await third.stats()).collections.find((c) => c.collection === 'code')?.records).toBe(2);
  });
});

describe('compaction', () => {
  test('rewrites the files with the live records only, and a reopen reads the same memory', async () => {
    const dir = tempDir();
    const store = new EmbeddedMemoryStore({ dir, compactAfterDead: 1_000_000 });
    await store.ensureCollection('code', EMBEDDER);
    const names = Array.from({ length: 30 }, (_, i) => `n${i}`);
    for (let version = 0; version < 5; version++) {
      await store.upsert(
        'code',
        names.map((name) => crashRecord(name, version)),
      );
    }
    await store.delete(
      'code',
      names.slice(20).map((name) => memoryId(name)),
    );
    const logLines = () =>
      fs
        .readFileSync(path.join(dir, 'code', 'log.jsonl'), 'utf8')
        .trimEnd()
        .split('\n');
    expect(logLines()).toHaveLength(5 * 30 + 10);

    await store.compact('code');
    // A first line that keeps the key sequence, then one put per live record.
    expect(logLines()).toHaveLength(1 + 20);
    expect(fs.statSync(path.join(dir, 'code', 'vectors.bin')).size).toBe(20 * RECORD_BYTES);

    const reopened = new EmbeddedMemoryStore({ dir });
    for (const name of names.slice(0, 20)) {
      expect(await find(reopened, crashRecord(name, 4))).toEqual({ text: `${name}@4`, score: expect.closeTo(1, 5) });
    }
    for (const name of names.slice(20)) expect(await find(reopened, crashRecord(name, 4))).toBeUndefined();
    // New records after a compaction get keys of their own: nothing the old graph knew is reused.
    await reopened.upsert('code', [crashRecord('fresh', 0)]);
    const again = new EmbeddedMemoryStore({ dir });
    expect(await find(again, crashRecord('fresh', 0))).toEqual({ text: 'fresh@0', score: expect.closeTo(1, 5) });
    expect((await again.stats()).collections.find((c) => c.collection === 'code')?.records).toBe(21);
  });

  test('runs by itself once dead records outnumber the live ones', async () => {
    const dir = tempDir();
    const store = new EmbeddedMemoryStore({ dir, compactAfterDead: 40 });
    await store.ensureCollection('code', EMBEDDER);
    for (let version = 0; version < 4; version++) {
      await store.upsert(
        'code',
        Array.from({ length: 20 }, (_, i) => crashRecord(`m${i}`, version)),
      );
    }
    // 80 puts were written for 20 live records: compacted after the third round's 40 dead.
    const lines = fs
      .readFileSync(path.join(dir, 'code', 'log.jsonl'), 'utf8')
      .trimEnd()
      .split('\n');
    expect(lines.length).toBeLessThan(60);
    expect(JSON.parse(lines[0]!)).toMatchObject({ op: 'next' });
  });
});

describe('reopening a large store', () => {
  test('heartbeats and lets other work run while it reads and builds the graph', async () => {
    const dir = tempDir();
    const writer = new EmbeddedMemoryStore({ dir, snapshotEvery: Number.MAX_SAFE_INTEGER });
    await writer.ensureCollection('code', EMBEDDER);
    const records = Array.from({ length: 12_000 }, (_, i) => crashRecord(`big${i}`, 0));
    for (let i = 0; i < records.length; i += 2_000) await writer.upsert('code', records.slice(i, i + 2_000));
    // No close: no graph snapshot, so the reopen rebuilds the graph from the records.

    const env = new MockActivityEnvironment();
    const beats: { memoryOpen?: string; phase?: string }[] = [];
    env.on('heartbeat', (d: { memoryOpen?: string; phase?: string }) => beats.push(d));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    const reader = new EmbeddedMemoryStore({ dir });
    const found = await env.run(async () => find(reader, records[11_999]!));
    clearInterval(ticker);
    expect(found).toEqual({ text: 'big11999@0', score: expect.closeTo(1, 5) });
    expect(beats.filter((b) => b.memoryOpen === 'code').map((b) => b.phase)).toEqual(
      expect.arrayContaining(['vectors', 'graph']),
    );
    // Timers ran in the middle of the open: the event loop was never held for the whole of it.
    expect(ticks).toBeGreaterThan(3);
  });
});

describe('the embedded memory store killed mid-write (SIGKILL)', () => {
  /** Starts the writer, waits for some acknowledged rounds, kills it; answers what it acknowledged. */
  async function writeUntilKilled(dir: string, firstRound: number, rounds: number) {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(projectRoot, 'tests', 'support', 'memory-crash-writer.ts'),
        dir,
        String(firstRound),
      ],
      { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const acks: { round: number; live: string[]; deleted: string[] }[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let buffered = '';
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) acks.push(JSON.parse(line) as (typeof acks)[number]);
        if (acks.length >= rounds) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code) => {
        if (acks.length < rounds) reject(new Error(`the writer exited (${code}) early: ${stderr}`));
      });
    });
    await exited;
    return acks;
  }

  test('every acknowledged write survives, each record with its own vector, across three kills', async () => {
    const dir = tempDir();
    const expected = new Map<string, number | 'deleted'>();
    /** Names the last acknowledged round and the cut-off one may have touched: any valid state. */
    const unsettled = new Set<string>();
    for (const [kill, firstRound] of [0, 1_000, 2_000].entries()) {
      const acks = await writeUntilKilled(dir, firstRound, 6 + 5 * kill);
      for (const ack of acks) {
        for (const text of ack.live) {
          const [name, version] = text.split('@');
          expected.set(name!, Number(version));
        }
        for (const name of ack.deleted) expected.set(name, 'deleted');
      }
      const last = acks[acks.length - 1]!;
      for (const text of last.live) unsettled.add(text.split('@')[0]!);

      const store = new EmbeddedMemoryStore({ dir });
      for (const [name, state] of expected) {
        if (unsettled.has(name)) continue;
        const found = await find(store, crashRecord(name, state === 'deleted' ? 0 : state));
        if (state === 'deleted') expect([name, found]).toEqual([name, undefined]);
        else expect([name, found]).toEqual([name, { text: `${name}@${state}`, score: expect.closeTo(1, 4) }]);
      }
    }
    expect(expected.size).toBeGreaterThan(100);
  });
});
