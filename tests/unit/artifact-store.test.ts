import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore } from '../../common/artifact-store';

let root: string;
beforeAll(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-artifacts-'))));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the artifact store', () => {
  it('never serves a torn artifact: it fails typed, is removed, and the next write makes it whole', async () => {
    const store = new ArtifactStore(root);
    const ref = await store.put('def add(a, b):\n    return a + b\n');
    const file = path.join(root, ref.id.slice(7, 9), ref.id.slice(7));
    // A crash before the data reached the disk: the file is there, its end is not.
    fs.truncateSync(file, 10);
    await expect(store.get(ref)).rejects.toMatchObject({
      type: 'ArtifactMissing',
      message: expect.stringContaining('torn'),
    });
    expect(fs.existsSync(file)).toBe(false);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'def add(a, b');
    // Writing the same content again repairs a torn file instead of keeping it.
    await store.put('def add(a, b):\n    return a + b\n');
    expect(await store.getText(ref)).toBe('def add(a, b):\n    return a + b\n');
    expect(fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('gives a file set back in the same path order every time, however long each file takes to read', async () => {
    const store = new ArtifactStore(root);
    // Big files first in path order: read in parallel, they finish last.
    const files = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [
        `f${String(i).padStart(2, '0')}.py`,
        `x = ${i}\n`.repeat(i < 5 ? 400_000 : 1),
      ]),
    );
    const ref = await store.putFiles(files);
    const sorted = Object.keys(files).sort();
    for (let round = 0; round < 5; round++) {
      const back = await store.getFiles(ref);
      expect(Object.keys(back)).toEqual(sorted);
      expect(back['f03.py']).toBe(files['f03.py']);
    }
  });

  it('stores content once, under its hash', async () => {
    const store = new ArtifactStore(root);
    const a = await store.put('same text');
    const b = await store.put('same text');
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await store.getText(a.id)).toBe('same text');
  });
});
