/**
 * Task-queue names, defined once. Pure functions: workflow code imports them too.
 *
 * Each pool has its own queue so the pools scale apart. Queues share a prefix (`sophia` by default,
 * TEMPORAL_TASK_QUEUE_PREFIX to change it): a workflow on `<prefix>-workflows` sends its activities
 * to `<prefix>-llm`, `<prefix>-sandbox` and `<prefix>-memory`. Two deployments (or two test files)
 * with different prefixes share one Temporal namespace without stealing each other's tasks.
 */
export const POOL_NAMES = ['workflows', 'llm', 'sandbox', 'memory'] as const;
export type PoolName = (typeof POOL_NAMES)[number];
export type TaskQueues = Record<PoolName, string>;

export const DEFAULT_TASK_QUEUE_PREFIX = 'sophia';

export function taskQueues(prefix: string = DEFAULT_TASK_QUEUE_PREFIX): TaskQueues {
  return {
    /** Workflow tasks: the lifecycle, scheduled reviews, repository indexing. */
    workflows: `${prefix}-workflows`,
    /** LLM activities: I/O-bound, limited by the shared rate limiter. */
    llm: `${prefix}-llm`,
    /** Sandboxed test runs and static analysis: CPU-bound, about one per core. */
    sandbox: `${prefix}-sandbox`,
    /** Embedding, memory and artifact work. */
    memory: `${prefix}-memory`,
  };
}

/** The queues of the deployment a workflow runs in, from the workflow's own task queue. */
export function taskQueuesForWorkflowQueue(workflowTaskQueue: string): TaskQueues {
  const suffix = '-workflows';
  return taskQueues(
    workflowTaskQueue.endsWith(suffix) ? workflowTaskQueue.slice(0, -suffix.length) : workflowTaskQueue,
  );
}

/** The production queues. */
export const TASK_QUEUES = taskQueues();
