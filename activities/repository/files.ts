import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { config } from '../../common/config';
import { parseRepoRoots, resolveRepoPath } from '../../common/repo-roots';

/**
 * Directories of vendored, built or tool-owned files: never the project's own code, and often huge.
 * Shared by repository indexing (memory) and scheduled reviews, so both see the same repository.
 */
export const SKIPPED_DIRS: ReadonlySet<string> = new Set([
  'node_modules',
  'vendor',
  'third_party',
  'dist',
  'build',
  'out',
  'target',
  'coverage',
  '.git',
  '.hg',
  '.svn',
  '.data',
  '.tools',
  '.venv',
  'venv',
  '.tox',
  '__pycache__',
  '.next',
  '.cache',
  '.mypy_cache',
  '.pytest_cache',
  '.ruff_cache',
]);

/** Whether a repository-relative path lies under one of SKIPPED_DIRS. */
export function inSkippedDir(relativePath: string): boolean {
  return relativePath
    .split('/')
    .slice(0, -1)
    .some((s) => SKIPPED_DIRS.has(s));
}

/**
 * The files of a local repository, relative to `root`. In a git work tree it asks git for tracked
 * and untracked-but-not-ignored files, so .gitignore is honoured; elsewhere it walks the tree,
 * leaving out SKIPPED_DIRS. Callers filter further and read what they keep.
 */
export async function listRepositoryFiles(root: string): Promise<string[]> {
  return (await gitFiles(root)) ?? (await walk(root));
}

/**
 * The commit a git work tree is at, when nothing under `root` differs from it (no change, nothing
 * untracked and not ignored); undefined otherwise, or outside git. A review of that tree is a review
 * of that commit, so an analysis of the commit describes it.
 */
export async function committedRevision(root: string): Promise<string | undefined> {
  try {
    const git = promisify(execFile);
    const { stdout: changes } = await git('git', ['-C', root, 'status', '--porcelain', '--', '.']);
    if (changes.trim() !== '') return undefined;
    const { stdout: head } = await git('git', ['-C', root, 'rev-parse', '--verify', 'HEAD']);
    return /^[0-9a-f]{40,64}$/.test(head.trim()) ? head.trim() : undefined;
  } catch {
    return undefined;
  }
}

async function gitFiles(root: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await promisify(execFile)(
      'git',
      ['-C', root, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    return [...new Set(stdout.split('\0').filter(Boolean))];
  } catch {
    return undefined;
  }
}

async function walk(root: string, relative = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(path.join(root, relative), { withFileTypes: true })) {
    const child = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) out.push(...(await walk(root, child)));
    else if (entry.isFile()) out.push(child);
  }
  return out;
}

/**
 * The real path of a repository the worker may read: under `SOPHIA_REPO_ROOTS` after realpath, never
 * a system directory. Failures: `InvalidInput`, `PathNotAllowed`, `RepositoryInvalid` (missing), all
 * non-retryable. Messages name no resolved host path.
 */
export async function allowedRepositoryPath(given: string): Promise<string> {
  const resolved = await resolveRepoPath(given, parseRepoRoots(config().SOPHIA_REPO_ROOTS));
  if ('path' in resolved) return resolved.path;
  if ('refusal' in resolved)
    throw ApplicationFailure.create({
      type: resolved.refusal.type,
      nonRetryable: true,
      message: resolved.refusal.message,
    });
  throw ApplicationFailure.create({
    type: 'RepositoryInvalid',
    nonRetryable: true,
    message: 'The repository path does not exist on the worker.',
  });
}
