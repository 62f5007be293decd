import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../../activities/memory';
import { RETRY_POLICIES } from '../../temporal/retry-policies';
import { taskQueuesForWorkflowQueue } from '../../temporal/task-queues';
import type { SearchMemoryInput, SearchMemoryResult, StoreMemoryInput, StoreMemoryResult } from './definitions';

function memoryActivities() {
  return proxyActivities<typeof activities>({
    taskQueue: taskQueuesForWorkflowQueue(workflowInfo().taskQueue).memory,
    startToCloseTimeout: '1 minute',
    retry: RETRY_POLICIES.local,
  });
}

/**
 * Searches memory for the API. The API never opens the store itself: the embedded store belongs to
 * the memory worker that owns the data directory, so requests go through Temporal like everything
 * else. Read-only. Failures: `EmbedderMismatch` (non-retryable), dependency errors (retried).
 */
export async function searchMemoryWorkflow(input: SearchMemoryInput): Promise<SearchMemoryResult> {
  return memoryActivities().searchMemory(input);
}

/**
 * Stores memories for the API. Idempotent: start it with a workflow id derived from the content and
 * the ids are content hashes. Failures: `EmbedderMismatch` (non-retryable), dependency errors (retried).
 */
export async function storeMemoryWorkflow(input: StoreMemoryInput): Promise<StoreMemoryResult> {
  return memoryActivities().storeMemory(input);
}
