import { Counter, Histogram } from 'prom-client';
import type { InjectedSinks } from '@temporalio/worker';
import { once } from '../common/metrics';
import type { JobMetricsSinks } from '../workflows/shared/job-metrics';

/**
 * How jobs end, counted by the workflow pool (served on WORKER_METRICS_PORT): the alerts on failure
 * rate, failure type, budget-exhausted jobs and slow jobs read these.
 */
export const jobsFinished = once(
  'sophia_jobs_finished_total',
  () =>
    new Counter({
      name: 'sophia_jobs_finished_total',
      help: 'Workflows that ended, by workflow type, task kind, outcome (succeeded, failed, budget-exhausted…) and failure type (none unless failed).',
      labelNames: ['workflow', 'task', 'outcome', 'failure_type'] as const,
    }),
);

export const jobDuration = once(
  'sophia_job_duration_seconds',
  () =>
    new Histogram({
      name: 'sophia_job_duration_seconds',
      help: 'Workflow time from start to end, by workflow type, task kind and outcome.',
      labelNames: ['workflow', 'task', 'outcome'] as const,
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200],
    }),
);

/** The workflow interceptor modules every workflow worker and the prebuilt bundle include. */
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('../workflows/shared/job-metrics')];

/** The Node side of `workflows/shared/job-metrics.ts`: not called on replay, so each end counts once. */
export function jobMetricsSinks(): InjectedSinks<JobMetricsSinks> {
  return {
    jobMetrics: {
      finished: {
        fn(_info, job) {
          jobsFinished.inc({
            workflow: job.workflow,
            task: job.task,
            outcome: job.outcome,
            failure_type: job.failureType,
          });
          jobDuration.observe({ workflow: job.workflow, task: job.task, outcome: job.outcome }, job.durationSeconds);
        },
        callDuringReplay: false,
      },
    },
  };
}
