import { collectDefaultMetrics, Counter, Histogram, register } from 'prom-client';
import { once } from '../common/metrics';
import { TASK_KINDS } from '../workflows/coding-job/definitions';

/** Metrics of the API process. */

let defaults = false;
export function apiMetrics() {
  if (!defaults) {
    defaults = true;
    collectDefaultMetrics();
  }
  return {
    requests: once(
      'coding_requests_total',
      () =>
        new Counter({
          name: 'coding_requests_total',
          help: 'Coding job requests by task kind and status (accepted, duplicate, invalid, unavailable).',
          labelNames: ['task', 'status'] as const,
        }),
    ),
    retries: once(
      'coding_job_retries_total',
      () => new Counter({ name: 'coding_job_retries_total', help: 'Failed jobs re-run from their last good step.' }),
    ),
    duration: once(
      'code_generation_duration_seconds',
      () =>
        new Histogram({
          name: 'code_generation_duration_seconds',
          help: 'Wall time of finished coding jobs, start to close, by task kind and outcome.',
          labelNames: ['task', 'outcome'] as const,
          buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
        }),
    ),
  };
}

export { register };

/** A task label from a known value only: anything a client sends that is not a task kind is `unknown`. */
export function taskLabel(value: unknown): string {
  const task = typeof value === 'string' ? value.toLowerCase() : '';
  return (TASK_KINDS as readonly string[]).includes(task) ? task : 'unknown';
}
