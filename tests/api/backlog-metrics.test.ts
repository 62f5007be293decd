import request from 'supertest';
import { testApp } from '../support/api';
import { uniqueTaskQueue } from '../support/temporal';
import { startWorkers, type RunningWorkers } from '../support/workers';

/** One series of the API's /metrics text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let workers: RunningWorkers | undefined;
afterAll(async () => workers?.stop());

describe('task-queue backlog on /metrics', () => {
  it('shows jobs waiting for a pool that is down, and the backlog moving on to the next pool once it is up', async () => {
    // A deployment of its own, with no workers yet: its jobs can only wait.
    const prefix = uniqueTaskQueue('backlog');
    const { app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: prefix });
    for (const n of [1, 2]) {
      await request(app)
        .post('/api/workflows')
        .send({ task: 'generate', description: `waiting job ${n}` })
        .expect(202);
    }
    const metrics = async () => (await request(app).get('/metrics').expect(200)).text;
    const queue = (pool: string) => ({ pool, queue: `${prefix}-${pool}` });

    await until(
      'two workflow tasks in the backlog',
      async () => sample(await metrics(), 'sophia_task_queue_backlog', queue('workflows')) === 2,
    );
    const waiting = await metrics();
    expect(sample(waiting, 'sophia_task_queue_pollers', queue('workflows'))).toBe(0);
    expect(sample(waiting, 'sophia_task_queue_backlog', queue('llm'))).toBe(0);

    // The workflow pool comes up: it takes the workflow tasks, and each job's first step (recalling
    // memory) now waits for the memory pool.
    workers = await startWorkers(['workflows'], {}, { taskQueuePrefix: prefix });
    await until('the first steps waiting for the memory pool', async () => {
      const text = await metrics();
      return (
        sample(text, 'sophia_task_queue_backlog', queue('workflows')) === 0 &&
        sample(text, 'sophia_task_queue_backlog', queue('memory')) === 2
      );
    });
    const moved = await metrics();
    expect(sample(moved, 'sophia_task_queue_pollers', queue('workflows'))).toBeGreaterThan(0);
    expect(sample(moved, 'sophia_task_queue_backlog_age_seconds', queue('memory'))).toBeGreaterThan(0);
    expect(sample(moved, 'sophia_task_queue_pollers', queue('memory'))).toBe(0);
    await gateway.close();
  });
});
