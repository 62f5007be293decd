import { config } from '../common/config';
import { namedApis, statedSignatures } from '../common/task-names';
import type { RecalledMemory } from '../workflows/coding-job/definitions';
import { artifactStore, type FileSetRef } from './artifacts';
import { searchMemory, storeMemory } from './memory';

/** Memory for coding jobs (memory pool): what a job recalls before it writes, and remembers when it is done. */

export interface RecallForJobInput {
  query: string;
  /** The job's tenant: only its memories are recalled. */
  tenant?: string;
  project: string;
  language: string;
  tokenBudget?: number;
}

export interface RecallForJobResult {
  context: string;
  hits: number;
  /** What the context holds, for the job's result. */
  used?: RecalledMemory[];
}

/**
 * The memories relevant to a job, as prompt text within a token budget: only work that survived
 * (tests green, review passed), only above MEMORY_RECALL_MIN_SCORE, and, when the task names its API
 * (`fib(n)`), only memories that use one of those names. A near neighbour is the worst poison for a
 * small model: asked for `fib` and shown `fib4`, or for `pairs_sum_to_zero` and shown
 * `triples_sum_to_zero`, it copies the reference (both seen on HumanEval with the local 1.5B model).
 * Where the task writes a signature out, a memory defining that name with another number of
 * parameters is another task's function (/45's `triangle_area(a, h)` against /71's `(a, b, c)`).
 * Read-only, idempotent. startToCloseTimeout ~30 s.
 * Failures: EmbedderMismatch (non-retryable); store outages are retried.
 */
export async function recallForJob(input: RecallForJobInput): Promise<RecallForJobResult> {
  const names = namedApis(input.query);
  const found = await searchMemory({
    query: input.query,
    tenant: input.tenant ?? 'local',
    project: input.project,
    language: input.language,
    collections: ['code', 'fixes', 'reviews'],
    survived: true,
    minScore: config().MEMORY_RECALL_MIN_SCORE,
    mentions: names,
    signatures: statedSignatures(input.query, names),
    topK: 3,
    tokenBudget: input.tokenBudget ?? 1_000,
  });
  const used = found.hits.map((h) => ({
    id: h.id,
    collection: h.collection,
    score: h.score,
    path: h.path,
    jobId: h.tags?.find((t) => t.startsWith('job:'))?.slice(4),
  }));
  return { context: found.context, hits: found.hits.length, used };
}

export interface RememberJobInput {
  jobId: string;
  /** The job's tenant: the memories are filed under it. */
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
  const result = await storeMemory({ items, tenant: input.tenant ?? 'local' });
  return { stored: result.stored };
}
