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

/** A fresh host directory with the job's files; the caller removes it with `removeWorkspace`. */
export async function createWorkspace(files: FileMap): Promise<string> {
  const entries = Object.entries(files);
  if (entries.length > MAX_FILES) throw invalid(`A job may have at most ${MAX_FILES} files (got ${entries.length}).`);
  const total = entries.reduce((sum, [, content]) => sum + Buffer.byteLength(content), 0);
  if (total > MAX_TOTAL_BYTES)
    throw invalid(`A job's files may total at most ${MAX_TOTAL_BYTES} bytes (got ${total}).`);
  const validated = entries.map(([p, content]) => [safeRelativePath(p), content] as const);
  const dir = await fs.mkdtemp(path.join(config().SANDBOX_STAGING_DIR ?? os.tmpdir(), 'sophia-sbx-'));
  try {
    // World-readable: the bwrap stage copies it as root, the process driver reads it as the worker.
    await fs.chmod(dir, 0o755);
    for (const [rel, content] of validated) {
      const target = path.join(dir, rel);
      await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
      await fs.writeFile(target, content, { mode: 0o644 });
    }
    return dir;
  } catch (err) {
    await removeWorkspace(dir);
    throw err;
  }
}

export async function removeWorkspace(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}
