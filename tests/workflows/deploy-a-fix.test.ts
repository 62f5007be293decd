import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { deployFixWorkflow } from './fixtures/deploy-fix-fixed';
import { testClient, testWorkerConnection, uniqueTaskQueue, uniqueWorkflowId } from '../support/temporal';

/**
 * A bug in workflow code fails the workflow task, not the job: the job waits with its history, and a
 * worker with the fix deployed carries it on from where it stopped, without redoing its finished
 * step. On the real dev server, with two real workers of two builds (tests/workflows/fixtures).
 */

const EventType = temporal.api.enums.v1.EventType;

let client: Client;
let connection: NativeConnection;
const steps: string[][] = [];
const activities = {
  async countFiles(files: string[]): Promise<number> {
    steps.push(files);
    return files.length;
  },
};

beforeAll(async () => {
  client = await testClient();
  connection = await testWorkerConnection();
});

afterAll(async () => {
  await connection?.close();
  await client?.connection.close();
});

async function runWorker(fixture: string, taskQueue: string) {
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: path.join(__dirname, 'fixtures', fixture),
    activities,
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

async function historyOf(workflowId: string) {
  return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

describe('a bug in workflow code', () => {
  it('fails the workflow task, not the job, and the job resumes on the deployed fix without redoing its step', async () => {
    const taskQueue = uniqueTaskQueue('deploy-fix');
    const workflowId = uniqueWorkflowId('deploy-fix');
    const buggy = await runWorker('deploy-fix-buggy.ts', taskQueue);
    const handle = await client.workflow.start<typeof deployFixWorkflow>('deployFixWorkflow', {
      workflowId,
      taskQueue,
      args: [['calc.py', 'test_calc.py']],
    });

    // Poll the history until the bug has failed a workflow task.
    let failedTask: temporal.api.history.v1.IHistoryEvent | undefined;
    for (let i = 0; i < 300 && !failedTask; i++) {
      const events = await historyOf(workflowId);
      failedTask = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
      // A job the bug ended has no task left to fail.
      if (events.some((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)) break;
      if (!failedTask) await new Promise((r) => setTimeout(r, 100));
    }
    await buggy.stop();
    expect(failedTask?.workflowTaskFailedEventAttributes?.failure?.message).toContain(
      'Cannot read properties of undefined',
    );
    // The job itself is still running: nothing catalogued went wrong, so nothing ended it.
    expect((await handle.describe()).status.name).toBe('RUNNING');

    const fixed = await runWorker('deploy-fix-fixed.ts', taskQueue);
    try {
      expect(await handle.result()).toBe('2 file(s): calc.py, test_calc.py');
    } finally {
      await fixed.stop();
    }
    // The finished step was not run again by the fixed build.
    expect(steps.filter((s) => s.includes('calc.py'))).toHaveLength(1);
    const events = await historyOf(workflowId);
    expect(events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)).toHaveLength(1);
    expect(events.at(-1)?.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  });
});
