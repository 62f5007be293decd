import { setTimeout as delay } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { projectRoot } from '../../common/config';
import { requireBinary } from '../../temporal/node/binaries';
import { addSearchAttributes } from '../../temporal/node/connection';
import { POOL_NAMES, taskQueues } from '../../temporal/task-queues';
import {
  approveUpdate,
  CODING_LIFECYCLE_WORKFLOW,
  rejectSignal,
  requestChangesUpdate,
  statusQuery,
  type CodingJobStatus,
  type JobOptions,
} from '../../workflows/coding-job/definitions';
import type { codingLifecycleWorkflow } from '../../workflows/coding-job/workflow';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server';
import { uniqueWorkflowId } from '../support/temporal';
import { startWorkers, type RunningWorkers } from '../support/workers';

/**
 * The approval gate's durable timeout on the time-skipping test server: a day at the gate passes in
 * milliseconds. The job runs for real up to the gate (the real pool workers and activities, pytest in
 * the bubblewrap sandbox, ruff), with the scripted model server as the only stand-in.
 */

const EventType = temporal.api.enums.v1.EventType;
const CODE = 'def add(a, b):\n    """Add two numbers."""\n    return a + b\n';
const TESTS = 'from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n';
const HOUR_MS = 3_600_000;

let env: TestWorkflowEnvironment;
let model: ScriptedModelServer;
let workers: RunningWorkers;

beforeAll(async () => {
  const server = requireBinary('temporal-test-server', process.env.TEMPORAL_TEST_SERVER_PATH, projectRoot);
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: server.path } },
  });
  // The job upserts its phase and outcome as search attributes; the test server rejects unknown ones.
  await addSearchAttributes(env.connection, env.namespace ?? 'default');
  model = await startScriptedModelServer({
    rules: [
      {
        match: 'test engineer',
        in: 'system',
        reply: { content: { files: [{ path: 'test_calc.py', content: TESTS }], explanation: 'pytest for add' } },
      },
      { match: 'code reviewer', in: 'system', reply: { content: { findings: [], summary: 'Looks correct.' } } },
      {
        match: 'fixing code',
        in: 'system',
        reply: { content: { content: CODE, explanation: 'as the reviewer asked' } },
      },
    ],
    default: { content: { files: [{ path: 'calc.py', content: CODE }], explanation: 'add' } },
  });
  workers = await startWorkers(
    [...POOL_NAMES],
    { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'test-key' },
    { connection: env.nativeConnection },
  );
});

afterAll(async () => {
  await workers?.stop();
  await model?.close();
  await env?.teardown();
});

type JobHandle = WorkflowHandle<typeof codingLifecycleWorkflow>;

async function startGatedJob(options: JobOptions): Promise<{ handle: JobHandle; gate: CodingJobStatus }> {
  const handle = await env.client.workflow.start<typeof codingLifecycleWorkflow>(CODING_LIFECYCLE_WORKFLOW, {
    taskQueue: taskQueues(workers.prefix).workflows,
    workflowId: uniqueWorkflowId('approval-timeout'),
    args: [{ task: 'generate', language: 'python', description: 'an add(a, b) function', options }],
  });
  return { handle, gate: await reachGate(handle) };
}

/** Polls the status query in real time; the test server skips no time while nothing awaits a result. */
async function reachGate(handle: JobHandle): Promise<CodingJobStatus> {
  const deadline = Date.now() + 90_000;
  let last: CodingJobStatus | undefined;
  while (Date.now() < deadline) {
    // The first query can come before the first workflow task: then there is nothing to answer yet.
    last = await handle.query(statusQuery).catch(() => undefined);
    if (last?.phase === 'AWAITING_APPROVAL' && last.awaitingApproval) return last;
    if (last && ['DONE', 'FAILED', 'CANCELLED'].includes(last.phase)) break;
    await delay(100);
  }
  throw new Error(`the job never reached the approval gate: ${last?.phase} (${last?.message})`);
}

/** The gate's timer, and what ended it, from the run's history. */
async function gateTimer(handle: JobHandle) {
  const { events } = await handle.fetchHistory();
  const of = (type: temporal.api.enums.v1.EventType) => (events ?? []).filter((e) => e.eventType === type);
  const started = of(EventType.EVENT_TYPE_TIMER_STARTED).map((e) =>
    Number(e.timerStartedEventAttributes?.startToFireTimeout?.seconds ?? 0),
  );
  return {
    startedSeconds: started,
    fired: of(EventType.EVENT_TYPE_TIMER_FIRED).length,
    canceled: of(EventType.EVENT_TYPE_TIMER_CANCELED).length,
    updatesAccepted: of(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED).length,
  };
}

const elapsedMs = (from: CodingJobStatus, to: CodingJobStatus) => Date.parse(to.updatedAt) - Date.parse(from.updatedAt);

describe('the approval gate on the time-skipping server', () => {
  it('rejects a job nobody decides on once its 24h approval timeout passes', async () => {
    const { handle, gate } = await startGatedJob({
      requireApproval: true,
      approvalTimeout: '24h',
      approvalDefault: 'reject',
    });
    expect(gate.lastTests).toMatchObject({ passed: 1, failed: 0 });

    await env.sleep('23h');
    expect(await handle.query(statusQuery)).toMatchObject({ phase: 'AWAITING_APPROVAL', awaitingApproval: true });

    const result = await handle.result();
    expect(result.outcome).toBe('rejected');
    expect(result.message).toBe('No decision within 24h; the default outcome is to reject');
    const final = await handle.query(statusQuery);
    expect(final).toMatchObject({ outcome: 'rejected', awaitingApproval: false });
    expect(elapsedMs(gate, final)).toBeGreaterThanOrEqual(24 * HOUR_MS);
    expect(await gateTimer(handle)).toEqual({ startedSeconds: [24 * 3600], fired: 1, canceled: 0, updatesAccepted: 0 });
  });

  it('approves a job nobody decides on once its timeout passes when the default is to approve', async () => {
    const { handle, gate } = await startGatedJob({
      requireApproval: true,
      approvalTimeout: '24h',
      approvalDefault: 'approve',
    });

    await env.sleep('23h');
    expect(await handle.query(statusQuery)).toMatchObject({ phase: 'AWAITING_APPROVAL', awaitingApproval: true });

    const result = await handle.result();
    expect(result.outcome).toBe('succeeded');
    expect(result.message).toMatch(/^No decision within 24h; the default outcome is to approve\./);
    const final = await handle.query(statusQuery);
    expect(final).toMatchObject({ phase: 'DONE', outcome: 'succeeded', awaitingApproval: false });
    // Nobody decided: the timer fired, a day after the job reached the gate.
    expect(elapsedMs(gate, final)).toBeGreaterThanOrEqual(24 * HOUR_MS);
    expect(await gateTimer(handle)).toEqual({ startedSeconds: [24 * 3600], fired: 1, canceled: 0, updatesAccepted: 0 });
  });

  it('lets an approval that arrives before the timeout win over a default of reject', async () => {
    const { handle, gate } = await startGatedJob({
      requireApproval: true,
      approvalTimeout: '24h',
      approvalDefault: 'reject',
    });

    await env.sleep('23h');
    const answered = await handle.executeUpdate(approveUpdate, { args: [{ reviewer: 'ana', comment: 'ship it' }] });
    expect(answered.phase).toBe('AWAITING_APPROVAL');

    const result = await handle.result();
    expect(result.outcome).toBe('succeeded');
    expect(result.message).not.toContain('No decision');
    const final = await handle.query(statusQuery);
    expect(final).toMatchObject({ phase: 'DONE', outcome: 'succeeded' });
    const waited = elapsedMs(gate, final);
    expect(waited).toBeGreaterThanOrEqual(23 * HOUR_MS);
    expect(waited).toBeLessThan(24 * HOUR_MS);
    expect(await gateTimer(handle)).toEqual({ startedSeconds: [24 * 3600], fired: 0, canceled: 1, updatesAccepted: 1 });
  });

  it('lets a rejection that arrives before the timeout win over a default of approve', async () => {
    const { handle, gate } = await startGatedJob({
      requireApproval: true,
      approvalTimeout: '24h',
      approvalDefault: 'approve',
    });

    await env.sleep('1h');
    await handle.signal(rejectSignal, { reviewer: 'ana', comment: 'not this sprint' });

    const result = await handle.result();
    expect(result.outcome).toBe('rejected');
    expect(result.message).toBe('Rejected by the reviewer: not this sprint');
    const waited = elapsedMs(gate, await handle.query(statusQuery));
    expect(waited).toBeGreaterThanOrEqual(HOUR_MS);
    expect(waited).toBeLessThan(24 * HOUR_MS);
    expect(await gateTimer(handle)).toEqual({ startedSeconds: [24 * 3600], fired: 0, canceled: 1, updatesAccepted: 0 });
  });

  it('gives the gate a full new timeout after a reviewer requests changes', async () => {
    const { handle, gate } = await startGatedJob({
      requireApproval: true,
      approvalTimeout: '24h',
      approvalDefault: 'reject',
    });

    await env.sleep('23h');
    await handle.executeUpdate(requestChangesUpdate, { args: [{ feedback: 'name the parameters x and y' }] });
    const again = await reachGate(handle);
    expect(again.iteration).toBe(1);

    // Two more hours would be past the first gate's deadline, not the second's.
    await env.sleep('2h');
    expect(await handle.query(statusQuery)).toMatchObject({ phase: 'AWAITING_APPROVAL', awaitingApproval: true });

    const result = await handle.result();
    expect(result.outcome).toBe('rejected');
    expect(result.message).toBe('No decision within 24h; the default outcome is to reject');
    expect(result.iterations.map((i) => i.feedback).filter(Boolean)).toEqual(['name the parameters x and y']);
    const final = await handle.query(statusQuery);
    expect(elapsedMs(again, final)).toBeGreaterThanOrEqual(24 * HOUR_MS);
    expect(elapsedMs(gate, final)).toBeGreaterThanOrEqual(47 * HOUR_MS);
    expect(await gateTimer(handle)).toEqual({
      startedSeconds: [24 * 3600, 24 * 3600],
      fired: 1,
      canceled: 1,
      updatesAccepted: 1,
    });
  });
});
