/**
 * What the git steps of a job cost, on this project's own repository served over file://: a cold
 * checkout (partial fetch into an empty bare-clone cache, worktree, snapshot), a warm one (pinned
 * commit already cached), a commit of one round, and the patch. Prints figures; asserts nothing.
 *
 *   npx tsx bench/git.ts
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkoutRepository, commitRound, createPatch } from '../activities/git';
import { artifactStore } from '../common/artifacts';
import { projectRoot, resetConfig } from '../common/config';

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  const out = await fn();
  console.log(`${what.padEnd(44)} ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0).padStart(6)} ms`);
  return out;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-bench-git-'));
  const bare = path.join(dir, 'sophia-code.git');
  execFileSync('git', ['clone', '--quiet', '--bare', '--no-local', projectRoot, bare]);
  execFileSync('git', ['--git-dir', bare, 'config', 'uploadpack.allowFilter', 'true']);
  Object.assign(process.env, { SOPHIA_DATA_DIR: path.join(dir, 'data'), SOPHIA_REPO_ROOTS: dir, LOG_LEVEL: 'silent' });
  resetConfig();
  const repository = { url: `file://${bare}` };
  try {
    const cold = await timed('checkout, cold cache (partial fetch)', () =>
      checkoutRepository({ repository, language: 'typescript' }),
    );
    console.log(
      `  ${cold.fileCount} TypeScript files, ${(cold.bytes / 1024).toFixed(0)} KB at ${cold.sha.slice(0, 12)}`,
    );
    await timed('checkout, warm cache (pinned commit)', () =>
      checkoutRepository({ repository, language: 'typescript', pin: cold.sha }),
    );
    const files = await artifactStore().getFiles(cold.files);
    const first = Object.keys(files)[0]!;
    const round = await artifactStore().putFiles({ ...files, [first]: `// a round's change\n${files[first]}` });
    const commit = await timed('commit one round (private index)', () =>
      commitRound({
        repository,
        branch: 'sophia/bench',
        base: cold.sha,
        files: round,
        baseFiles: cold.files,
        message: 'bench',
        at: new Date(0).toISOString(),
      }),
    );
    await timed('patch base → head', () => createPatch({ repository, base: cold.sha, head: commit.sha }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
