import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type * as analysisActivities from '../../activities/analysis';
import type * as codacyActivities from '../../activities/codacy';
import type * as fileActivities from '../../activities/files';
import type * as gitActivities from '../../activities/git';
import type * as jobMemoryActivities from '../../activities/job-memory';
import type * as llmActivities from '../../activities/llm';
import type * as sandboxActivities from '../../activities/sandbox';
import { RETRY_POLICIES } from '../../temporal/retry-policies';
import { taskQueuesForWorkflowQueue } from '../../temporal/task-queues';

/**
 * The lifecycle's activities, each on its pool's queue (derived from the workflow's own queue, so a
 * prefixed stack stays apart), with the timeouts and retry policy each step needs.
 */
export function activitiesFor(workflowTaskQueue: string) {
  const queues = taskQueuesForWorkflowQueue(workflowTaskQueue);
  const sandboxOptions = {
    taskQueue: queues.sandbox,
    startToCloseTimeout: '10m',
    // A run heartbeats every 5 s at most (run-in-sandbox.ts): 20 s of silence is a dead worker.
    heartbeatTimeout: '20s',
    retry: RETRY_POLICIES.sandbox,
  } as const;
  return {
    files: proxyActivities<typeof fileActivities>({
      taskQueue: queues.memory,
      startToCloseTimeout: '30s',
      retry: RETRY_POLICIES.local,
    }),
    memory: proxyActivities<typeof jobMemoryActivities>({
      taskQueue: queues.memory,
      startToCloseTimeout: '1m',
      retry: RETRY_POLICIES.local,
    }),
    remember: proxyActivities<typeof jobMemoryActivities>({
      taskQueue: queues.memory,
      startToCloseTimeout: '1m',
      // Storing a finished job's memory waits out a Qdrant restart (minutes); only the job's close waits on it.
      retry: RETRY_POLICIES.remote,
    }),
    llm: proxyActivities<typeof llmActivities>({
      taskQueue: queues.llm,
      // Model calls stream for minutes on big tasks; the heartbeat catches a dead worker much sooner.
      // The model client heartbeats every second while it waits or streams, so 20 s of silence is a dead
      // worker: the call resumes on another within about 20 s plus the first retry's 2 s.
      startToCloseTimeout: '10m',
      heartbeatTimeout: '20s',
      retry: RETRY_POLICIES.llm,
    }),
    refactor: proxyActivities<typeof llmActivities>({
      taskQueue: queues.llm,
      // One model call per file: a big refactor takes long, and resumes from its heartbeat after a crash.
      // The model client heartbeats every second while it waits or streams, so 20 s of silence is a dead worker.
      startToCloseTimeout: '30m',
      heartbeatTimeout: '20s',
      retry: RETRY_POLICIES.llm,
    }),
    codacy: proxyActivities<typeof codacyActivities>({
      taskQueue: queues.llm,
      // Codacy from the pool that holds its token: one attempt per try, a heartbeat per request (20 s
      // each); Codacy may be down or rate-limited for minutes, which the remote preset waits out.
      startToCloseTimeout: '5m',
      heartbeatTimeout: '30s',
      retry: RETRY_POLICIES.remote,
    }),
    sandbox: proxyActivities<typeof sandboxActivities & typeof analysisActivities>({
      ...sandboxOptions,
      // A cancelled job closes only once the sandbox has killed the code's process tree and removed its workspace.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
    // The bare-clone cache lives with the sandbox pool; a fetch or checkout of a big repository takes minutes.
    git: proxyActivities<typeof gitActivities>({
      taskQueue: queues.sandbox,
      startToCloseTimeout: '10m',
      heartbeatTimeout: '1m',
      retry: RETRY_POLICIES.sandbox,
    }),
    // Pushes and forge calls wait out a git host or GitHub that is down or rate limiting for minutes.
    forge: proxyActivities<typeof gitActivities>({
      taskQueue: queues.sandbox,
      startToCloseTimeout: '10m',
      retry: RETRY_POLICIES.remote,
    }),
    /** The sandbox as jobs started before PATCHES.sandboxCancelWaits call it: a cancel does not wait. */
    sandboxTryCancel: proxyActivities<typeof sandboxActivities & typeof analysisActivities>(sandboxOptions),
  };
}

export type LifecycleActivities = ReturnType<typeof activitiesFor>;
