import { artifactStore, type FileSetRef } from './artifacts';

/** Activities that move job files in and out of the artifact store (memory pool). */

export interface StoreFilesInput {
  files: Record<string, string>;
}

export interface StoreFilesResult {
  files: FileSetRef;
  summary: string;
}

/**
 * Stores a job's input files in the content-addressed artifact store so the rest of the workflow
 * carries references only. Idempotent (same content, same ids). Fast: startToCloseTimeout ~30 s.
 * Failures: none of its own; disk errors are retried.
 */
export async function storeFiles(input: StoreFilesInput): Promise<StoreFilesResult> {
  const files = await artifactStore().putFiles(input.files);
  const bytes = files.files.reduce((n, f) => n + f.bytes, 0);
  return { files, summary: `${files.files.length} file(s), ${bytes} bytes` };
}
