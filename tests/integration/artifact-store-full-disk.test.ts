import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore } from '../../common/artifact-store';

/**
 * A full disk, for real: a 64 KB tmpfs mounted for the test (the suite runs as root, as the sandbox
 * tests do). A write that does not fit fails and leaves no temp file behind; what was stored before
 * is still whole.
 */

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-full-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', root]);
});
afterAll(() => {
  execFileSync('umount', [root]);
  fs.rmSync(root, { recursive: true, force: true });
});

function tempFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'));
}

describe('the artifact store on a full disk', () => {
  it('fails the write that does not fit, leaves no temp file, and keeps what it stored before', async () => {
    const store = new ArtifactStore(root);
    const small = await store.put('x = 1\n');
    await expect(store.put(Buffer.alloc(200 * 1024, 'a'))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(tempFiles(root)).toEqual([]);
    expect(await store.getText(small)).toBe('x = 1\n');
  });
});
