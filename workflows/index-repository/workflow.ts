import { continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../../activities/memory';
import { RETRY_POLICIES } from '../../temporal/retry-policies';
import { taskQueuesForWorkflowQueue } from '../../temporal/task-queues';
import {
  indexProgressQuery,
  type IndexProgress,
  type IndexRepositoryInput,
  type IndexRepositoryResult,
} from './definitions';

/** Batches per run before continuing as new, so a huge repository never grows one history without bound. */
const BATCHES_PER_RUN = 50;

/**
 * Indexes a local repository into memory: plans (scan + per-file content hash against the last index),
 * indexes the changed files in batches (chunked by function and class, embedded, upserted), then drops
 * the chunks of removed files. Incremental: unchanged files cost nothing. Resumable: each batch
 * heartbeats its file offset, and the workflow continues as new with its offset on big repositories.
 * Progress through `indexProgressQuery`. Start it with `indexWorkflowId(project)`, so one indexing per
 * project runs at a time. Failures: `RepositoryInvalid`, `EmbedderMismatch` (non-retryable).
 */
export async function indexRepositoryWorkflow(input: IndexRepositoryInput): Promise<IndexRepositoryResult> {
  const queues = taskQueuesForWorkflowQueue(workflowInfo().taskQueue);
  const { planRepositoryIndex, finishRepositoryIndex } = proxyActivities<typeof activities>({
    taskQueue: queues.memory,
    startToCloseTimeout: '5 minutes',
    retry: RETRY_POLICIES.local,
  });
  const { indexRepositoryFiles } = proxyActivities<typeof activities>({
    taskQueue: queues.memory,
    startToCloseTimeout: '10 minutes',
    // Embedding a batch can take minutes; the heartbeat (one per file) is what detects a dead worker.
    heartbeatTimeout: '30 seconds',
    retry: RETRY_POLICIES.local,
  });

  const progress: IndexProgress = input.resume
    ? { ...input.resume.progress, runs: input.resume.progress.runs + 1 }
    : {
        phase: 'planning',
        totalFiles: 0,
        changedFiles: 0,
        filesIndexed: 0,
        chunksIndexed: 0,
        removedFiles: 0,
        skippedFiles: 0,
        runs: 1,
      };
  setHandler(indexProgressQuery, () => progress);

  const plan =
    input.resume?.plan ??
    (await planRepositoryIndex({ repoPath: input.repoPath, project: input.project, tenant: input.tenant }));
  Object.assign(progress, {
    phase: 'indexing',
    totalFiles: plan.totalFiles,
    changedFiles: plan.changedFiles,
    skippedFiles: plan.skippedFiles,
  });

  const batchSize = input.batchSize ?? 100;
  let offset = input.resume?.offset ?? 0;
  let batches = 0;
  while (offset < plan.changedFiles) {
    if (batches >= (input.batchesPerRun ?? BATCHES_PER_RUN) || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof indexRepositoryWorkflow>({ ...input, resume: { plan, offset, progress } });
    }
    const batch = await indexRepositoryFiles({
      repoPath: input.repoPath,
      project: input.project,
      tenant: input.tenant,
      planRef: plan.planRef,
      offset,
      limit: batchSize,
    });
    progress.filesIndexed += batch.filesIndexed;
    progress.chunksIndexed += batch.chunksIndexed;
    offset = batch.nextOffset;
    batches++;
  }

  progress.phase = 'finishing';
  const finished = await finishRepositoryIndex({ project: input.project, tenant: input.tenant, planRef: plan.planRef });
  progress.removedFiles = finished.removedFiles;
  progress.phase = 'done';
  return progress;
}
