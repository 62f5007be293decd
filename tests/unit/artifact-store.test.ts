import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore } from '../../common/artifact-store';

let root: string;
beforeAll(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-artifacts-'))));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the artifact store', () => {
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
