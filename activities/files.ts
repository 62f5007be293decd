import { artifactStore, type FileSetRef } from './artifacts';
import { isExamplesPath, oneTestPerAssert } from '../common/task-examples';
import { isTestPath } from '../common/test-files';

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

export interface SplitTestAssertsResult {
  files: FileSetRef;
  /** Test files whose functions were split. */
  split: string[];
}

/**
 * The job's files with each job-written pytest file split one test per assert (oneTestPerAssert), for
 * a cross-check that compares answers assert by assert. The task's examples file is left alone.
 * Idempotent (content-addressed). Fast: startToCloseTimeout ~30 s. Failures: none of its own.
 */
export async function splitTestAsserts(input: { files: FileSetRef }): Promise<SplitTestAssertsResult> {
  const store = artifactStore();
  const files = await store.getFiles(input.files);
  const split: string[] = [];
  for (const [path, content] of Object.entries(files)) {
    if (!path.endsWith('.py') || !isTestPath(path) || isExamplesPath(path)) continue;
    const one = oneTestPerAssert(content);
    if (one !== undefined) {
      files[path] = one;
      split.push(path);
    }
  }
  return { files: split.length ? await store.putFiles(files) : input.files, split };
}
