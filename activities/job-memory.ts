import { artifactStore, type FileSetRef } from './artifacts';
import { searchMemory, storeMemory } from './memory';

/** Memory for coding jobs (memory pool): what a job recalls before it writes, and remembers when it is done. */

export interface RecallForJobInput {
  query: string;
  /** The job's tenant (default `local`): only its memory is recalled. */
  tenant?: string;
  project: string;
  language: string;
  tokenBudget?: number;
}

export interface RecallForJobResult {
  context: string;
  hits: number;
}

/**
 * The memories most relevant to a job (code, fixes and reviews that survived), as prompt text
 * within a token budget. Read-only, idempotent. startToCloseTimeout ~30 s.
 * Failures: EmbedderMismatch (non-retryable); store outages are retried.
 */
export async function recallForJob(input: RecallForJobInput): Promise<RecallForJobResult> {
  const found = await searchMemory({
    query: input.query,
    tenant: input.tenant,
    project: input.project,
    language: input.language,
    collections: ['code', 'fixes', 'reviews'],
    topK: 5,
    tokenBudget: input.tokenBudget ?? 1_500,
  });
  return { context: found.context, hits: found.hits.length };
}

export interface RememberJobInput {
  jobId: string;
  /** The job's tenant (default `local`), which owns the memories. */
  tenant?: string;
  project: string;
  language: string;
  task: string;
  description: string;
  files: FileSetRef;
  /** Whether the work was verified (tests green, review passed). */
  survived: boolean;
  /** The code before the refactor that made the tests pass, when there was one. */
  fixedFrom?: FileSetRef;
  fixExplanation?: string;
  reviewSummary?: string;
}

/**
 * Stores a finished job's code, the fix that turned its tests green, and its review, in memory.
 * Idempotent: memory ids derive from content. startToCloseTimeout ~1 min.
 */
export async function rememberJob(input: RememberJobInput): Promise<{ stored: number }> {
  const store = artifactStore();
  const files = await store.getFiles(input.files);
  const tags = [input.task, `job:${input.jobId}`];
  const items = Object.entries(files).map(([path, content]) => ({
    collection: 'code' as 'code' | 'fixes' | 'reviews',
    project: input.project,
    language: input.language,
    tags,
    survived: input.survived,
    text: `Task: ${input.description}\nFile: ${path}\n${content.slice(0, 6_000)}`,
    metadata: { path },
  }));
  if (input.fixedFrom && input.fixExplanation) {
    items.push({
      collection: 'fixes',
      project: input.project,
      language: input.language,
      tags,
      survived: input.survived,
      text: `Task: ${input.description}\nFix that made the tests pass: ${input.fixExplanation.slice(0, 4_000)}`,
      metadata: { path: 'fix' },
    });
  }
  if (input.reviewSummary) {
    items.push({
      collection: 'reviews',
      project: input.project,
      language: input.language,
      tags,
      survived: input.survived,
      text: `Task: ${input.description}\nReview: ${input.reviewSummary.slice(0, 4_000)}`,
      metadata: { path: 'review' },
    });
  }
  const result = await storeMemory({ items, tenant: input.tenant });
  return { stored: result.stored };
}
