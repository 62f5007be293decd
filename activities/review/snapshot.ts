import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { FileMap } from '../artifacts';
import { allowedRepositoryPath, committedRevision, inSkippedDir, listRepositoryFiles } from '../repository/files';
import { heartbeat } from '../context';

export type SnapshotLanguage = 'python' | 'typescript' | 'javascript';

const PYTHON_SOURCES = /\.pyi?$/;
const JS_SOURCES = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;
/** Files the test runners need besides the sources (pytest's and jest's configuration). */
const PYTHON_CONFIG = /(^|\/)(pyproject\.toml|setup\.cfg|pytest\.ini|tox\.ini|requirements[\w.-]*\.txt)$/;
const JS_CONFIG = /(^|\/)(package\.json|tsconfig[\w.-]*\.json|jest\.config\.\w+|\.babelrc)$/;
const SKIPPED_NAMES = /(\.min\.js|\.map|\.d\.ts|_pb2(_grpc)?\.py)$/;

/** Caps that keep one review cheap; the sandbox refuses more than 2,000 files or 50 MB anyway. */
export const SNAPSHOT_LIMITS = { maxFiles: 2_000, maxFileBytes: 512 * 1024, maxTotalBytes: 20 * 1024 * 1024 };

/** Whether a repository-relative path belongs in a review of `language`. Pure: the tests share it. */
export function isReviewedPath(relativePath: string, language: SnapshotLanguage): boolean {
  if (inSkippedDir(relativePath)) return false;
  if (SKIPPED_NAMES.test(relativePath)) return false;
  return language === 'python'
    ? PYTHON_SOURCES.test(relativePath) || PYTHON_CONFIG.test(relativePath)
    : JS_SOURCES.test(relativePath) || JS_CONFIG.test(relativePath);
}

export interface RepositorySnapshot {
  files: FileMap;
  /** Candidate files left out: binary, too large, unreadable, or a symlink. */
  skipped: number;
  bytes: number;
  /** The commit the files are at, when the tree under the path has no change from it (see committedRevision). */
  revision?: string;
}

/**
 * Reads the reviewed files of a local repository. In a git work tree it asks git for tracked and
 * untracked-but-not-ignored files, so .gitignore is honoured; elsewhere it walks the tree.
 */
export async function readRepository(given: string, language: SnapshotLanguage): Promise<RepositorySnapshot> {
  const root = await allowedRepositoryPath(given);
  const stat = await fs.stat(root).catch(() => undefined);
  if (!path.isAbsolute(root) || !stat?.isDirectory()) {
    throw ApplicationFailure.create({
      type: 'RepositoryInvalid',
      nonRetryable: true,
      message: `Repository path ${root} is not an absolute path to a directory on the sandbox worker.`,
    });
  }
  return readTree(root, language);
}

/**
 * Reads the reviewed files under a directory the caller has already checked (a git worktree of the
 * repository cache, or a path that passed `allowedRepositoryPath`).
 */
export async function readTree(root: string, language: SnapshotLanguage): Promise<RepositorySnapshot> {
  const candidates = (await listRepositoryFiles(root)).filter((p) => isReviewedPath(p, language)).sort();
  if (candidates.length > SNAPSHOT_LIMITS.maxFiles) {
    throw tooLarge(root, `${candidates.length} files (at most ${SNAPSHOT_LIMITS.maxFiles})`);
  }
  const files: FileMap = {};
  let skipped = 0;
  let bytes = 0;
  for (const [index, relative] of candidates.entries()) {
    if (index % 200 === 0) heartbeat({ phase: 'snapshot', files: index });
    const absolute = path.join(root, relative);
    // A symlink could point outside the repository; a review reads only what is inside.
    const entry = await fs.lstat(absolute).catch(() => undefined);
    if (!entry?.isFile() || entry.size > SNAPSHOT_LIMITS.maxFileBytes) {
      skipped++;
      continue;
    }
    const content = await fs.readFile(absolute).catch(() => undefined);
    if (!content || content.subarray(0, 8192).includes(0)) {
      skipped++;
      continue;
    }
    bytes += content.length;
    if (bytes > SNAPSHOT_LIMITS.maxTotalBytes) {
      throw tooLarge(root, `more than ${SNAPSHOT_LIMITS.maxTotalBytes} bytes of ${language} files`);
    }
    files[relative] = content.toString('utf8');
  }
  const revision = await committedRevision(root);
  return { files, skipped, bytes, ...(revision ? { revision } : {}) };
}

function tooLarge(root: string, what: string): ApplicationFailure {
  // Reviewing part of a repository would report the rest as fixed; refuse and say what to change.
  return ApplicationFailure.create({
    type: 'InvalidInput',
    nonRetryable: true,
    message: `Repository ${root} has ${what} to review; point the schedule at a smaller directory.`,
  });
}
