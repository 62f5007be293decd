import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { config } from '../../common/config';
import { artifactStore, type FileMap, type FileSetRef } from '../artifacts';

/** Largest job the sandbox accepts; generated code is small, and this keeps a bad input cheap. */
const MAX_FILES = 2_000;
const MAX_TOTAL_BYTES = 50 * 1024 * 1024;

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'InvalidInput', nonRetryable: true, message });
}

/** Rejects paths that could land outside the workspace (absolute, `..`, NUL) before anything is written. */
export function safeRelativePath(filePath: string): string {
  const normalised = path.posix.normalize(filePath.replace(/\\/g, '/'));
  if (
    filePath.includes('\0') ||
    path.posix.isAbsolute(normalised) ||
    normalised === '.' ||
    normalised.startsWith('../') ||
    normalised === '..'
  ) {
    throw invalid(`File path ${JSON.stringify(filePath)} must be relative and stay inside the workspace.`);
  }
  return normalised;
}

/** The job's files, from the artifact store or given inline. */
export async function loadFiles(files: FileSetRef | FileMap): Promise<FileMap> {
  const isRef = typeof (files as FileSetRef).manifest === 'object' && Array.isArray((files as FileSetRef).files);
  return isRef ? artifactStore().getFiles(files as FileSetRef) : (files as FileMap);
}

/**
 * The private root every staging directory lives under: `<SANDBOX_STAGING_DIR or the temp dir>/
 * sophia-sandbox-<uid>`, 0700 and owned by this worker. An existing one owned by someone else, or a
 * symlink, is refused: in a shared /tmp another user could have planted it to read the jobs' files.
 */
export async function stagingRoot(): Promise<string> {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const root = path.join(config().SANDBOX_STAGING_DIR ?? os.tmpdir(), `sophia-sandbox-${uid}`);
  await fs.mkdir(root, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const stat = await fs.lstat(root);
  if (!stat.isDirectory() || stat.uid !== uid) {
    throw ApplicationFailure.create({
      type: 'SandboxUnavailable',
      nonRetryable: true,
      message: `The sandbox staging root ${root} is not a directory owned by uid ${uid}; remove it or set SANDBOX_STAGING_DIR to a private directory.`,
    });
  }
  if ((stat.mode & 0o077) !== 0) await fs.chmod(root, 0o700);
  return root;
}

/**
 * A fresh private host directory with the job's files (directories 0700, files 0600), owned by
 * `owner` when given: the run's sandbox uid, the only one besides root that may read them. The caller
 * removes it with `removeWorkspace`.
 */
export async function createWorkspace(files: FileMap, owner?: number): Promise<string> {
  const entries = Object.entries(files);
  if (entries.length > MAX_FILES) throw invalid(`A job may have at most ${MAX_FILES} files (got ${entries.length}).`);
  const total = entries.reduce((sum, [, content]) => sum + Buffer.byteLength(content), 0);
  if (total > MAX_TOTAL_BYTES)
    throw invalid(`A job's files may total at most ${MAX_TOTAL_BYTES} bytes (got ${total}).`);
  const validated = entries.map(([p, content]) => [safeRelativePath(p), content] as const);
  const dir = await fs.mkdtemp(path.join(await stagingRoot(), 'sophia-sbx-'));
  try {
    const created = new Set<string>([dir]);
    for (const [rel, content] of validated) {
      const target = path.join(dir, rel);
      for (let d = path.dirname(target); d !== dir && !created.has(d); d = path.dirname(d)) created.add(d);
      await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      await fs.writeFile(target, content, { mode: 0o600 });
      created.add(target);
    }
    if (owner !== undefined) await Promise.all([...created].map((p) => fs.lchown(p, owner, owner)));
    return dir;
  } catch (err) {
    await removeWorkspace(dir);
    throw err;
  }
}

export async function removeWorkspace(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}
