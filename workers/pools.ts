import fs from 'node:fs';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { describeCage, publishCage } from '../activities/sandbox/cage';
import type { Config } from '../common/config';
import { tracing } from '../common/tracing';
import type { Logger } from '../common/logger';
import { jobMetricsSinks, WORKFLOW_INTERCEPTOR_MODULES } from './job-metrics';
import { usageInterceptor } from './usage-interceptor';
import { taskQueues, type PoolName } from '../temporal/task-queues';

/**
 * What each activity pool serves. Loaded lazily so a pool process pulls in only its own activities
 * and their native dependencies.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const ACTIVITIES: Record<Exclude<PoolName, 'workflows'>, () => object> = {
  // Codacy is a remote API like the model: its token lives here, not on the sandbox pool.
  llm: () => ({ ...(require('../activities/llm') as object), ...(require('../activities/codacy') as object) }),
  sandbox: () => ({
    ...(require('../activities/sandbox') as object),
    ...(require('../activities/analysis') as object),
    ...(require('../activities/review') as object),
    ...(require('../activities/git') as object),
  }),
  memory: () => ({
    ...(require('../activities/files') as object),
    ...(require('../activities/memory') as object),
    ...(require('../activities/job-memory') as object),
  }),
};
/* eslint-enable @typescript-eslint/no-require-imports */

function concurrency(pool: PoolName, cfg: Config): number {
  const byPool: Record<PoolName, number> = {
    workflows: cfg.WORKER_WORKFLOW_CONCURRENCY,
    llm: cfg.WORKER_LLM_CONCURRENCY,
    sandbox: cfg.WORKER_SANDBOX_CONCURRENCY,
    memory: cfg.WORKER_MEMORY_CONCURRENCY,
  };
  return byPool[pool];
}

/** The prebuilt workflow bundle when one is named (production images), else the source (bundled at start). */
function workflowSource(cfg: Config): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = cfg.WORKER_WORKFLOW_BUNDLE;
  if (bundle) {
    if (!fs.existsSync(bundle))
      throw new Error(`WORKER_WORKFLOW_BUNDLE=${bundle} does not exist; run npm run build:workflows`);
    return { workflowBundle: { codePath: bundle } };
  }
  return { workflowsPath: require.resolve('../workflows') };
}

/**
 * Says plainly, once at start-up, what holds around every sandboxed run here, and leaves the same
 * report for the API's /ready. A missing wall (no per-run cgroup, no bwrap) is a warning, not a secret.
 */
async function reportSandboxCage(log: Logger): Promise<void> {
  const report = await describeCage();
  publishCage(report);
  const lines = [...report.holds.map((h) => `  holds:   ${h}`), ...report.missing.map((m) => `  MISSING: ${m}`)];
  if (report.missing.length === 0) log.info(`sandbox cage (${report.driver}):\n${lines.join('\n')}`);
  else log.warn(`sandbox cage (${report.driver}) is INCOMPLETE:\n${lines.join('\n')}`);
}

export interface PoolWorkerOptions {
  pool: PoolName;
  connection: NativeConnection;
  cfg: Config;
  log: Logger;
  /** Queue prefix; tests use their own so they never share tasks. */
  taskQueuePrefix?: string;
}

/** Creates the worker of one pool on its own task queue with its own concurrency. */
export async function createPoolWorker({ pool, connection, cfg, log, taskQueuePrefix }: PoolWorkerOptions) {
  const taskQueue = taskQueues(taskQueuePrefix ?? cfg.TEMPORAL_TASK_QUEUE_PREFIX)[pool];
  const limit = concurrency(pool, cfg);
  const traces = tracing();
  const base = {
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue,
    shutdownGraceTime: cfg.WORKER_SHUTDOWN_GRACE_MS,
    // Workflow, activity and (from the workflow) activity-start spans under the trace of the request
    // that started the job; its span processor exports them (common/tracing.ts).
    plugins: traces
      ? [new OpenTelemetryPlugin({ resource: traces.resource, spanProcessor: traces.spanProcessor })]
      : [],
    // A prebuilt bundle has the workflow tracing interceptors in it: without tracing, their spans go nowhere.
    ...(!traces && cfg.WORKER_WORKFLOW_BUNDLE ? { sinks: { exporter: { export: { fn: () => undefined } } } } : {}),
  };
  const worker =
    pool === 'workflows'
      ? await Worker.create({
          ...base,
          ...workflowSource(cfg),
          // How each job ends, for sophia_jobs_finished_total (a prebuilt bundle has the module built in).
          interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES },
          // With the tracing exporter's no-op sink of a prebuilt bundle, when there is one.
          sinks: { ...(base as { sinks?: object }).sinks, ...jobMetricsSinks() },
          maxConcurrentWorkflowTaskExecutions: limit,
        })
      : await Worker.create({
          ...base,
          activities: ACTIVITIES[pool](),
          // Each model call counts against its tenant's daily quota, checked before and added after.
          ...(pool === 'llm' ? { interceptors: { activity: [usageInterceptor(cfg)] } } : {}),
          maxConcurrentActivityTaskExecutions: limit,
          // Heartbeats carry resumable progress (e.g. the files a refactor finished); send them within a
          // second instead of the default 80% of the heartbeat timeout, so a crash loses little.
          maxHeartbeatThrottleInterval: '1s',
        });
  log.info({ taskQueue, concurrency: limit }, `pool ${pool} ready`);
  if (pool === 'sandbox') await reportSandboxCage(log);
  return worker;
}
