/**
 * A process that writes to an embedded memory store until it is killed: the crash tests' victim
 * (tests/integration/embedded-store-crash.test.ts). Each round upserts a batch, replaces some records
 * and deletes others, so appends, compactions and graph snapshots are all in flight when the kill
 * lands; after each round's writes have returned it prints what it acknowledged, as one JSON line.
 *
 *   node --import tsx tests/support/memory-crash-writer.ts <dir> <first round>
 */
import { EmbeddedMemoryStore } from '../../activities/memory/embedded-store';
import { memoryId, type MemoryRecord } from '../../activities/memory/store';

export const CRASH_DIMENSION = 16;

/** The record a name stands for, at a version: its vector is a function of both, so a read checks it. */
export function crashRecord(name: string, version: number, dimension = CRASH_DIMENSION): MemoryRecord {
  let seed = 0;
  for (const c of name) seed = (seed * 31 + c.charCodeAt(0)) >>> 0;
  // A vector of its own for each name and version (a small xorshift stream from both).
  let state = (seed ^ Math.imul(version + 1, 0x9e3779b1)) >>> 0 || 1;
  const vector = Array.from({ length: dimension }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32 - 0.5;
  });
  return {
    id: memoryId(name),
    text: `${name}@${version}`,
    vector,
    payload: { project: `p${seed % 3}`, collection: 'code' },
  };
}

async function main(): Promise<void> {
  const [dir, firstRound] = process.argv.slice(2);
  const store = new EmbeddedMemoryStore({ dir: dir!, snapshotEvery: 37, compactAfterDead: 25 });
  await store.ensureCollection('code', { name: 'crash', dimension: CRASH_DIMENSION });
  for (let round = Number(firstRound); ; round++) {
    const fresh = Array.from({ length: 20 }, (_, i) => crashRecord(`r${round}-${i}`, 0));
    await store.upsert('code', fresh);
    // A new version of half of the previous round's records, and the other half deleted.
    const previous = Array.from({ length: 20 }, (_, i) => `r${round - 1}-${i}`);
    const replaced = previous.filter((_, i) => i % 2 === 0).map((name) => crashRecord(name, 1));
    const deleted = previous.filter((_, i) => i % 2 === 1);
    if (round > Number(firstRound)) {
      await store.upsert('code', replaced);
      await store.delete(
        'code',
        deleted.map((name) => memoryId(name)),
      );
    }
    process.stdout.write(
      JSON.stringify({
        round,
        live: fresh.map((r) => r.text).concat(round > Number(firstRound) ? replaced.map((r) => r.text) : []),
        deleted: round > Number(firstRound) ? deleted : [],
      }) + '\n',
    );
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(String((err as Error)?.stack ?? err) + '\n');
    process.exit(1);
  });
}
