import {
  ApplicationFailure,
  ContinueAsNew,
  isCancellation,
  proxySinks,
  workflowInfo,
  type Sinks,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { isFailureType } from '../../common/failures';

/** How a workflow ended, for the workflow pool's `sophia_jobs_finished_total` and `sophia_job_duration_seconds`. */
export interface JobFinished {
  /** The workflow type, e.g. `codingLifecycleWorkflow`. */
  workflow: string;
  /** The input's `task` (generate, review…) when it has one, else `none`. */
  task: string;
  /** The result's `outcome` (succeeded, budget-exhausted…), or `failed` / `cancelled` when it threw. */
  outcome: string;
  /** The catalogue failure type when it failed (`other` for a type outside the catalogue), else `none`. */
  failureType: string;
  /** From the workflow's start to its end, in workflow time. */
  durationSeconds: number;
}

export interface JobMetricsSinks extends Sinks {
  jobMetrics: { finished(job: JobFinished): void };
}

const { jobMetrics } = proxySinks<JobMetricsSinks>();

const label = (value: unknown): string =>
  typeof value === 'string' && /^[\w-]{1,40}$/.test(value) ? value.toLowerCase() : 'none';

/**
 * Tells the worker how each workflow ended, through a sink: sinks are not called on replay, so a job
 * is counted once however often its history is replayed, and nothing enters the history (no patch
 * needed). A continue-as-new is not an end.
 */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async execute(input, next) {
        const task = label((input.args[0] as { task?: unknown } | undefined)?.task);
        const finished = (outcome: string, failureType = 'none') => {
          const info = workflowInfo();
          jobMetrics.finished({
            workflow: info.workflowType,
            task,
            outcome,
            failureType,
            durationSeconds: Math.max(0, (Date.now() - info.startTime.getTime()) / 1000),
          });
        };
        try {
          const result = await next(input);
          const outcome = (result as { outcome?: unknown } | undefined)?.outcome;
          finished(typeof outcome === 'string' ? label(outcome) : 'completed');
          return result;
        } catch (err) {
          if (err instanceof ContinueAsNew) throw err;
          if (isCancellation(err)) finished('cancelled');
          else {
            const type = err instanceof ApplicationFailure ? err.type : undefined;
            finished('failed', type && isFailureType(type) ? type : 'other');
          }
          throw err;
        }
      },
    },
  ],
});
