import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { checkoutRepository, commitRound, createPatch, pushBranch, resolveRepositoryHead } from '../../activities/git';
import { artifactStore } from '../../common/artifacts';
import { resetConfig } from '../../common/config';
import { jobBranch } from '../../common/repository-spec';
import { gitSync, startGitServer, type GitServer } from '../support/git-server';

/**
 * The git activities against a real git server (`git daemon` with receive-pack on loopback) and a
 * real `file://` repository: clone into the bare-clone cache, check out at one commit, commit a round,
 * make a patch that `git apply --check` accepts, push, and push again without duplicating.
 */

const FILES = {
  'app/calc.py': 'def add(a, b):\n    return a + b\n',
  'app/test_calc.py': 'from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n',
  'app/run.sh': '#!/bin/sh\necho run\n',
  'README.md': '# demo\n',
  'web/index.ts': 'export const x = 1;\n',
};

let server: GitServer;
let dataDir: string;
const saved = { ...process.env };

beforeAll(async () => {
  server = await startGitServer();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-git-data-'));
  process.env.SOPHIA_DATA_DIR = dataDir;
  process.env.SOPHIA_REPO_ROOTS = server.root;
  delete process.env.SOPHIA_GIT_CACHE_DIR;
  resetConfig();
});

afterAll(async () => {
  process.env = saved;
  resetConfig();
  await server.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('git repositories', () => {
  it('clones over git:// into the cache and checks out the sub-directory at the remote head', async () => {
    const head = server.createRepository('clone', FILES);
    const repository = { url: server.url('clone'), path: 'app' };
    const checkout = await checkoutRepository({ repository, language: 'python' });
    expect(checkout.sha).toBe(head);
    expect(checkout.files.files.map((f) => f.path).sort()).toEqual(['calc.py', 'test_calc.py']);
    expect((await artifactStore().getFiles(checkout.files))['calc.py']).toBe(FILES['app/calc.py']);
    // A new commit upstream moves the head; a pinned checkout stays on the commit it recorded.
    const next = server.pushCommit('clone', { 'app/calc.py': 'def add(a, b):\n    return b + a\n' });
    expect((await resolveRepositoryHead({ repository })).sha).toBe(next);
    const pinned = await checkoutRepository({ repository, language: 'python', pin: head });
    expect(pinned.sha).toBe(head);
    expect(pinned.files).toEqual(checkout.files);
  });

  it('commits a round on the job branch and makes a patch that git apply --check accepts at the base', async () => {
    const base = server.createRepository('patch', FILES);
    const repository = { url: server.url('patch'), path: 'app' };
    const checkout = await checkoutRepository({ repository, language: 'python' });
    const branch = jobBranch('job-local.patch-1');
    const round = await artifactStore().putFiles({
      'calc.py': 'def add(a: int, b: int) -> int:\n    """Adds."""\n    return a + b\n',
      'test_calc.py': FILES['app/test_calc.py'],
      'extra.py': 'VALUE = 1\n',
    });
    const input = {
      repository,
      branch,
      base,
      files: round,
      baseFiles: checkout.files,
      message: 'Round 1: typed add',
      at: '2026-12-01T01:00:00.000Z',
    };
    const commit = await commitRound(input);
    expect(commit.changed).toBe(true);
    // A retried commit is the same commit, and a round that changes nothing makes none.
    expect((await commitRound(input)).sha).toBe(commit.sha);
    expect(await commitRound({ ...input, parent: commit.sha, message: 'Round 2' })).toMatchObject({
      sha: commit.sha,
      changed: false,
    });

    const patch = await createPatch({ repository, base, head: commit.sha });
    expect(patch).toMatchObject({ filesChanged: 2 });
    const text = await artifactStore().getText(patch.patch);
    expect(text).toContain('+++ b/app/calc.py');
    expect(text).toContain('+++ b/app/extra.py');
    // The executable script outside the job's files is untouched.
    expect(text).not.toContain('run.sh');

    const clone = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-git-apply-'));
    gitSync(['clone', '--quiet', server.dir('patch'), clone]);
    gitSync(['checkout', '--quiet', base], clone);
    const patchFile = path.join(clone, '..', `${path.basename(clone)}.patch`);
    fs.writeFileSync(patchFile, text);
    expect(() => gitSync(['apply', '--check', patchFile], clone)).not.toThrow();
    gitSync(['apply', patchFile], clone);
    expect(fs.readFileSync(path.join(clone, 'app/calc.py'), 'utf8')).toContain('a: int');
    fs.rmSync(clone, { recursive: true, force: true });
    fs.rmSync(patchFile, { force: true });
  });

  it('pushes the branch once: a retried push is not made again, and a foreign branch is refused', async () => {
    const base = server.createRepository('push', FILES);
    const repository = { url: server.url('push') };
    const checkout = await checkoutRepository({ repository, language: 'python' });
    const branch = jobBranch('job-local.push-1');
    const files = await artifactStore().putFiles({
      ...(await artifactStore().getFiles(checkout.files)),
      'app/calc.py': 'def add(a, b):\n    return int(a) + int(b)\n',
    });
    const at = '2026-12-01T01:10:00.000Z';
    const commit = await commitRound({ repository, branch, base, files, message: 'Round 1', at });

    const first = await pushBranch({ repository, branch, sha: commit.sha });
    expect(first.pushed).toBe(true);
    expect(server.branchHead('push', branch)).toBe(commit.sha);
    const again = await pushBranch({ repository, branch, sha: commit.sha });
    expect(again.pushed).toBe(false);
    expect(gitSync(['rev-list', '--count', `refs/heads/${branch}`], server.dir('push'))).toBe('2');

    // Someone else's commit on the job's branch: the job's push must not overwrite it.
    server.pushCommit('push', { 'NOTES.md': 'mine\n' }, 'Not the job', branch);
    const next = await commitRound({ repository, branch, base, parent: commit.sha, files, message: 'Round 2', at });
    const more = await commitRound({
      repository,
      branch,
      base,
      parent: next.sha,
      files: await artifactStore().putFiles({ 'app/calc.py': 'X = 2\n' }),
      message: 'Round 3',
      at,
    });
    const refused = await failureOf(pushBranch({ repository, branch, sha: more.sha }));
    expect(refused.type).toBe('PushRejected');
    expect(refused.nonRetryable).toBe(true);
  });

  it('reads a file:// repository under SOPHIA_REPO_ROOTS and refuses one outside', async () => {
    const head = server.createRepository('local', FILES);
    const checkout = await checkoutRepository({
      repository: { url: `file://${server.dir('local')}`, path: 'web' },
      language: 'typescript',
    });
    expect(checkout.sha).toBe(head);
    expect(checkout.files.files.map((f) => f.path)).toEqual(['index.ts']);
    const outside = await failureOf(checkoutRepository({ repository: { url: 'file:///etc' }, language: 'python' }));
    expect(outside.type).toBe('PathNotAllowed');
  });

  it('answers a missing ref or repository with RepositoryInvalid, and a URL with credentials with InvalidInput', async () => {
    server.createRepository('refs', FILES);
    const missingRef = await failureOf(
      checkoutRepository({ repository: { url: server.url('refs'), ref: 'no-such-branch' }, language: 'python' }),
    );
    expect(missingRef.type).toBe('RepositoryInvalid');
    const missingRepo = await failureOf(resolveRepositoryHead({ repository: { url: server.url('nothing-here') } }));
    expect(missingRepo.type).toBe('RepositoryInvalid');
    const withSecret = await failureOf(
      resolveRepositoryHead({ repository: { url: 'https://user:hunter2@example.com/a/b.git' } }),
    );
    expect(withSecret.type).toBe('InvalidInput');
    expect(withSecret.message).not.toContain('hunter2');
  });
});
