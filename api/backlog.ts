import { temporal } from '@temporalio/proto';
import { Gauge } from 'prom-client';
import type { Config } from '../common/config';
import { once } from '../common/metrics';
import { POOL_NAMES, taskQueues, type PoolName } from '../temporal/task-queues';
import type { TemporalGateway } from './temporal-gateway';

/**
 * The backlog of each pool's task queue, as Temporal reports it (DescribeTaskQueue with stats): how
 * many tasks wait, how long the oldest has waited, and how many workers poll. This is the signal to
 * scale a pool on — an LLM pool waiting on the model burns no CPU while its queue grows — so the API
 * exports it on `/metrics` for Prometheus, KEDA or an HPA on external metrics.
 */
export const taskQueueBacklog = once(
  'sophia_task_queue_backlog',
  () =>
    new Gauge({
      name: 'sophia_task_queue_backlog',
      help: "Tasks waiting in a pool's task queue (Temporal's approximate backlog count), by pool and queue.",
      labelNames: ['pool', 'queue'] as const,
    }),
);

export const taskQueueBacklogAge = once(
  'sophia_task_queue_backlog_age_seconds',
  () =>
    new Gauge({
      name: 'sophia_task_queue_backlog_age_seconds',
      help: "How long the oldest waiting task of a pool's task queue has waited.",
      labelNames: ['pool', 'queue'] as const,
    }),
);

export const taskQueuePollers = once(
  'sophia_task_queue_pollers',
  () =>
    new Gauge({
      name: 'sophia_task_queue_pollers',
      help: "Workers that polled a pool's task queue recently (0: the pool is down).",
      labelNames: ['pool', 'queue'] as const,
    }),
);

export interface QueueBacklog {
  pool: PoolName;
  queue: string;
  backlog: number;
  ageSeconds: number;
  pollers: number;
}

const { TaskQueueType, TaskQueueKind } = temporal.api.enums.v1;
const CACHE_MS = 5_000;
const cache = new Map<string, { at: number; value: Promise<QueueBacklog[]> }>();

/** Each pool's queue backlog, at most one round of DescribeTaskQueue per prefix every 5 s. */
export async function poolBacklogs(gateway: TemporalGateway, cfg: Config): Promise<QueueBacklog[]> {
  const key = `${cfg.TEMPORAL_NAMESPACE}/${cfg.TEMPORAL_TASK_QUEUE_PREFIX}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.value;
  const value = describeAll(gateway, cfg);
  cache.set(key, { at: Date.now(), value });
  value.catch(() => cache.delete(key));
  return value;
}

async function describeAll(gateway: TemporalGateway, cfg: Config): Promise<QueueBacklog[]> {
  const queues = taskQueues(cfg.TEMPORAL_TASK_QUEUE_PREFIX);
  return Promise.all(
    POOL_NAMES.map(async (pool) => {
      const queue = queues[pool];
      const response = await gateway.call(
        (client) =>
          client.workflowService.describeTaskQueue({
            namespace: cfg.TEMPORAL_NAMESPACE,
            taskQueue: { name: queue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
            // The workflow pool polls workflow tasks; the others poll activity tasks.
            taskQueueType:
              pool === 'workflows' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            reportStats: true,
          }),
        // A scrape must not hang on a dead server.
        2_000,
      );
      const age = response.stats?.approximateBacklogAge;
      return {
        pool,
        queue,
        backlog: Number(response.stats?.approximateBacklogCount ?? 0),
        ageSeconds: Number(age?.seconds ?? 0) + (age?.nanos ?? 0) / 1e9,
        pollers: response.pollers?.length ?? 0,
      };
    }),
  );
}

/** Sets the backlog gauges for this deployment's queues; a Temporal outage leaves them as they were. */
export async function updateBacklogMetrics(gateway: TemporalGateway, cfg: Config): Promise<void> {
  const backlogs = await poolBacklogs(gateway, cfg).catch(() => undefined);
  for (const b of backlogs ?? []) {
    taskQueueBacklog.set({ pool: b.pool, queue: b.queue }, b.backlog);
    taskQueueBacklogAge.set({ pool: b.pool, queue: b.queue }, b.ageSeconds);
    taskQueuePollers.set({ pool: b.pool, queue: b.queue }, b.pollers);
  }
}
