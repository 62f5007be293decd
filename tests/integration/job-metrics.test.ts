import request from 'supertest';
import { FAILURES } from '../../common/failures';
import { jobDuration, jobsFinished } from '../../workers/job-metrics';
import { calcScript } from '../support/calc-script';
import { useJobStack } from '../support/job-stack';

/**
 * The workflow pool counts how each job ends (`sophia_jobs_finished_total`, `sophia_job_duration_seconds`)
 * through its workflow interceptor and sink: the alerts on failure types and budget-exhausted jobs read these.
 */
const stack = useJobStack();

async function finishedCount(labels: Record<string, string>): Promise<number> {
  const { values } = await jobsFinished.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

async function durationCount(labels: Record<string, string>): Promise<number> {
  const { values } = await jobDuration.get();
  return values
    .filter((v) => v.metricName === 'sophia_job_duration_seconds_count')
    .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function runJob(body: object, expectStatus: number) {
  const started = await request(stack.app).post('/api/workflows').send(body).expect(202);
  return request(stack.app).get(`/api/workflows/${started.body.workflowId}/result?wait=60000`).expect(expectStatus);
}

describe('job metrics from the workflow pool', () => {
  it('counts a failed job once, under its failure type', async () => {
    const labels = {
      workflow: 'codingLifecycleWorkflow',
      task: 'generate',
      outcome: 'failed',
      failure_type: 'ModelAuth',
    };
    const before = await finishedCount(labels);
    stack.model.reset();
    stack.model.setScript({ default: { fault: 'unauthorized', message: 'key revoked' } });
    const res = await runJob(
      { task: 'generate', language: 'python', description: `slugify ${Date.now()}` },
      FAILURES.ModelAuth.httpStatus,
    );
    expect(res.body.error.code).toBe('ModelAuth');
    await until('the failed job counted', async () => (await finishedCount(labels)) === before + 1);
    expect(await durationCount({ workflow: 'codingLifecycleWorkflow', outcome: 'failed' })).toBeGreaterThanOrEqual(1);
  });

  it('counts a job that ran out of budget as budget-exhausted, not as failed', async () => {
    const exhausted = { task: 'generate', outcome: 'budget-exhausted', failure_type: 'none' };
    const [before, failedBefore] = [await finishedCount(exhausted), await finishedCount({ outcome: 'failed' })];
    stack.model.reset();
    stack.model.setScript(calcScript());
    const res = await runJob(
      { task: 'generate', language: 'python', description: `add ${Date.now()}`, options: { maxCostUsd: 0 } },
      200,
    );
    expect(res.body.result.outcome).toBe('budget-exhausted');
    await until('the budget-exhausted job counted', async () => (await finishedCount(exhausted)) === before + 1);
    expect(await finishedCount({ outcome: 'failed' })).toBe(failedBefore);
  });
});
