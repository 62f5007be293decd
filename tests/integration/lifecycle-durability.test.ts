import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import { CALC, calcScript, fileFix } from '../support/calc-script';
import { maybeRecordHistory } from '../support/histories';
import { useJobStack } from '../support/job-stack';
import type { ScriptedReply } from '../support/scripted-model-server';

// The sandbox stages each run's files here: a directory of this file's own shows what a cancel leaves.
const ownTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-durability-'));

const { BUGGY, FIXED } = CALC;
const STILL_BUGGY = 'def add(a, b):\n    """Add two numbers."""\n    return a * b\n';
const SLOW_TESTS = 'import time\n\n\ndef test_slow():\n    time.sleep(120)\n';

const stack = useJobStack({ env: { SANDBOX_STAGING_DIR: ownTmp } });
afterAll(() => fs.rmSync(ownTmp, { recursive: true, force: true }));

function script(fixes: ScriptedReply[]): void {
  stack.model.reset();
  stack.model.setScript(calcScript({ fixes }));
}

const fix = fileFix;

async function start(body: object): Promise<string> {
  const res = await request(stack.app).post('/api/workflows').send(body).expect(202);
  return res.body.workflowId as string;
}

async function scheduledActivities(workflowId: string, runId?: string): Promise<string[]> {
  const history = await stack.client.workflow.getHandle(workflowId, runId).fetchHistory();
  return (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
}

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, tries = 300): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('durability of the coding lifecycle', () => {
  it('retries a failed job from its failed step: finished steps keep their results and are not run again', async () => {
    // The first fix request is rejected by the endpoint (a 401, not retried): the job fails at REFACTOR.
    script([{ fault: 'unauthorized', message: 'key revoked' }, fix(FIXED, 'add, not subtract')]);
    const id = await start({ task: 'generate', language: 'python', description: `add, retried ${Date.now()}` });

    const failed = await request(stack.app).get(`/api/workflows/${id}/result?wait=60000`).expect(424);
    expect(failed.body.error.code).toBe('ModelAuth');
    expect(failed.body.error.message).toMatch(/^Refactoring failed: /);
    // The status says why, and where to retry, without a second call.
    const failedStatus = await request(stack.app).get(`/api/workflows/${id}`).expect(200);
    expect(failedStatus.body).toMatchObject({
      status: 'FAILED',
      failure: { type: 'ModelAuth' },
      links: { retry: `/api/workflows/${id}/retry` },
    });
    expect(failedStatus.body.failure.hint).toContain('OPENAI_API_KEY');
    expect(failedStatus.body.message).toBe(failedStatus.body.failure.message);
    const before = await scheduledActivities(id);
    expect(before.filter((a) => a === 'refactorCode')).toHaveLength(1);

    const retried = await request(stack.app).post(`/api/workflows/${id}/retry`).send({}).expect(202);
    expect(retried.body.resumedFrom.step).toBe('refactorCode');
    expect(retried.body.resumedFrom.keptSteps).toEqual(
      expect.arrayContaining(['generateCode', 'writeTests', 'runTests', 'analyzeCode', 'reviewCode']),
    );
    expect(retried.body.runId).not.toBe(retried.body.previousRunId);

    const done = await request(stack.app).get(`/api/workflows/${id}/result?wait=60000`).expect(200);
    const result = done.body.result as CodingJobResult;
    expect(result.outcome).toBe('succeeded');
    expect(result.iterations.map((i) => i.step)).toEqual(['generate', 'write-tests', 'refactor']);
    expect(result.iterations[1]!.tests).toMatchObject({ failed: 1 });
    expect(result.iterations[2]!.tests).toMatchObject({ passed: 1, failed: 0 });

    // The new run carries the finished steps over from history: each ran once, in the first run.
    const after = await scheduledActivities(id, retried.body.runId);
    expect(after.filter((a) => a === 'generateCode')).toHaveLength(1);
    expect(after.filter((a) => a === 'writeTests')).toHaveLength(1);
    expect(after.filter((a) => a === 'runTests')).toHaveLength(2);
    // One code generation and one test-writing request reached the model, over both runs.
    const systems = stack.model.chatRequests().map((r) => r.system);
    expect(systems.filter((s) => s.includes('test engineer'))).toHaveLength(1);
    expect(systems.filter((s) => s.includes('fixing code'))).toHaveLength(2);
    expect(
      stack.model.chatRequests().filter((r) => !/test engineer|code reviewer|fixing code/.test(r.system)),
    ).toHaveLength(1);

    const doneStatus = await request(stack.app).get(`/api/workflows/${id}`).expect(200);
    expect(doneStatus.body.failure).toBeUndefined();
    // A closed job still says how it ended, from its result.
    expect(doneStatus.body.message).toMatch(/^Done after 1 refactor round\(s\): 1 passed/);
    expect(doneStatus.body.lastTests).toMatchObject({ passed: 1, failed: 0 });
    expect(doneStatus.body.usage.totalTokens).toBeGreaterThan(0);
    expect(doneStatus.body.links.retry).toBeUndefined();
    // A finished job is not retried again.
    const again = await request(stack.app).post(`/api/workflows/${id}/retry`).send({}).expect(409);
    expect(again.body.error.code).toBe('JobNotRetryable');
    await maybeRecordHistory(stack.client, id, 'coding-lifecycle', 'retried-after-refactor-failure');
  });

  it('streams the progress of a job as server-sent events, phase by phase, and ends with the outcome', async () => {
    // The model answers a phase only once the stream has shown it: each slow phase is seen, whatever
    // the stream's poll interval and the machine's speed.
    const shown = { GENERATE: gate(), REFACTOR: gate() };
    script([{ content: { content: FIXED, explanation: 'add, not subtract' }, hold: shown.REFACTOR.opened }]);
    stack.model.enqueue({
      content: { files: [{ path: 'calc.py', content: BUGGY }], explanation: 'first try' },
      hold: shown.GENERATE.opened,
    });
    const id = await start({ task: 'generate', language: 'python', description: `add, followed live ${Date.now()}` });
    const res = await request(stack.app)
      .get(`/api/workflows/${id}/events`)
      .buffer(true)
      .parse((response, done) => {
        let text = '';
        response.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
          for (const [phase, g] of Object.entries(shown)) if (text.includes(`"phase":"${phase}"`)) g.open();
        });
        response.on('end', () => done(null, text));
      })
      .expect(200)
      .expect('content-type', /text\/event-stream/);
    const events = String(res.body)
      .split('\n\n')
      .filter((block) => block.startsWith('event: '))
      .map((block) => {
        const [head, data] = block.split('\n');
        return { event: head!.slice('event: '.length), data: JSON.parse(data!.slice('data: '.length)) };
      });
    const statuses = events
      .filter((e) => e.event === 'status')
      .map((e) => e.data as { phase: string; iteration: number; outcome?: string; message?: string });
    // A status event per change of phase, iteration, outcome or message, never the same twice in a
    // row (a phase read from the history has no message yet: the closing status may add it); the slow
    // phases are all seen, in order.
    const keys = statuses.map((s) => JSON.stringify([s.phase, s.iteration, s.outcome, s.message]));
    expect(keys.filter((k, i) => k === keys[i - 1])).toEqual([]);
    const phases = statuses.map((s) => s.phase);
    expect(phases.indexOf('GENERATE')).toBeGreaterThanOrEqual(0);
    expect(phases.indexOf('REFACTOR')).toBeGreaterThan(phases.indexOf('GENERATE'));
    expect(phases[phases.length - 1]).toBe('DONE');
    expect(events[events.length - 1]).toEqual({
      event: 'done',
      data: expect.objectContaining({ workflowId: id, status: 'COMPLETED', outcome: 'succeeded' }),
    });

    const missing = await request(stack.app).get('/api/workflows/job-nobody-started/events').expect(404);
    expect(missing.body.error.code).toBe('JobNotFound');
  });

  it('retries a terminated job from where it stood: back at the approval gate, with no step run again', async () => {
    script([fix(FIXED, 'add, not subtract')]);
    const id = await start({
      task: 'generate',
      language: 'python',
      description: `add, terminated at the gate ${Date.now()}`,
      options: { requireApproval: true },
    });
    const atGate = () =>
      waitUntil('the approval gate', async () => {
        const s = await request(stack.app).get(`/api/workflows/${id}`);
        return s.body.status === 'RUNNING' && s.body.awaitingApproval ? true : undefined;
      });
    await atGate();
    await stack.client.workflow.getHandle(id).terminate('operator mistake');
    const terminated = await request(stack.app).get(`/api/workflows/${id}`).expect(200);
    expect(terminated.body).toMatchObject({ status: 'TERMINATED', links: { retry: `/api/workflows/${id}/retry` } });

    const retried = await request(stack.app).post(`/api/workflows/${id}/retry`).send({ reason: 'undo' }).expect(202);
    // Nothing was running when it was terminated: it resumes at its last workflow task, the gate.
    expect(retried.body.resumedFrom.step).toBeNull();
    expect(retried.body.resumedFrom.keptSteps).toEqual(expect.arrayContaining(['generateCode', 'refactorCode']));
    await atGate();
    await request(stack.app).post(`/api/workflows/${id}/approve`).send({ comment: 'fine' }).expect(200);
    const done = await request(stack.app).get(`/api/workflows/${id}/result?wait=60000`).expect(200);
    expect(done.body.result.outcome).toBe('succeeded');
    const activities = await scheduledActivities(id, retried.body.runId);
    expect(activities.filter((a) => a === 'generateCode')).toHaveLength(1);
    expect(activities.filter((a) => a === 'refactorCode')).toHaveLength(1);
  });

  it('answers 404 for an unknown job and 400 for a malformed retry body', async () => {
    const missing = await request(stack.app).post('/api/workflows/job-does-not-exist/retry').send({}).expect(404);
    expect(missing.body.error.code).toBe('JobNotFound');
    const bad = await request(stack.app).post('/api/workflows/job-x/retry').send({ requestId: 7 }).expect(400);
    expect(bad.body.error.code).toBe('InvalidInput');
  });

  it('continues as new between refactor rounds and still returns every iteration', async () => {
    script([fix(STILL_BUGGY, 'multiply?'), fix(FIXED, 'add, not subtract')]);
    const id = await start({
      task: 'generate',
      language: 'python',
      description: `add, long loop ${Date.now()}`,
      options: { continueAsNewAfter: 1 },
    });
    const done = await request(stack.app).get(`/api/workflows/${id}/result?wait=90000`).expect(200);
    const result = done.body.result as CodingJobResult;
    expect(result.outcome).toBe('succeeded');
    expect(result.iterations.filter((i) => i.tests).map((i) => i.tests!.failed)).toEqual([1, 1, 0]);

    const runs: { runId: string; status: string }[] = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = '${id}'` }))
      runs.push({ runId: run.runId, status: run.status.name });
    expect(runs.map((r) => r.status).sort()).toEqual(['COMPLETED', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW']);

    // The later runs start from the checkpoint: references, not the files, and no second generation.
    const last = runs.find((r) => r.status === 'COMPLETED')!;
    const history = await stack.client.workflow.getHandle(id, last.runId).fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    expect(started.continuedExecutionRunId).toBeTruthy();
    const activities = (history.events ?? []).flatMap(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
    );
    expect(activities).not.toContain('generateCode');
    expect(activities).toContain('runTests');
    const status = await request(stack.app).get(`/api/workflows/${id}`).expect(200);
    expect(status.body.task).toBe('generate');
    expect(status.body.runId).toBe(last.runId);

    const first = runs.find((r) => r.status === 'CONTINUED_AS_NEW' && r.runId !== started.continuedExecutionRunId)!;
    await maybeRecordHistory(stack.client, id, 'coding-lifecycle', 'continued-as-new-first-run', first.runId);
    await maybeRecordHistory(stack.client, id, 'coding-lifecycle', 'continued-as-new-last-run');
  });

  it('cancelling a job mid-test kills the sandboxed tests and removes their workspace before the job closes', async () => {
    script([fix(FIXED, 'unused')]);
    const id = await start({
      task: 'test',
      language: 'python',
      description: `slow tests ${Date.now()}`,
      files: { 'calc.py': FIXED, 'test_slow.py': SLOW_TESTS },
    });
    // The tests are running: a staged workspace exists and processes run from it.
    await waitUntil('the sandboxed tests to start', async () => (sandboxProcesses().length > 0 ? true : undefined));
    expect(workspaces().length).toBeGreaterThan(0);

    await request(stack.app).post(`/api/workflows/${id}/cancel`).send({}).expect(202);
    const described = await waitUntil('the job to close', async () => {
      const d = await stack.client.workflow.getHandle(id).describe();
      return d.status.name === 'RUNNING' ? undefined : d;
    });
    expect(described.status.name).toBe('CANCELLED');
    // The job closed only after the sandbox activity confirmed its cancellation.
    const history = await stack.client.workflow.getHandle(id).fetchHistory();
    expect(history.events!.some((e) => e.activityTaskCanceledEventAttributes)).toBe(true);
    expect(sandboxProcesses()).toEqual([]);
    expect(workspaces()).toEqual([]);
    const status = await request(stack.app).get(`/api/workflows/${id}`).expect(200);
    expect(status.body.outcome).toBe('cancelled');
  });
});

/** Staging directories left under this file's temp dir (they live in the sandbox's private root there). */
function workspaces(): string[] {
  return fs
    .readdirSync(ownTmp)
    .flatMap((d) => (d.startsWith('sophia-sandbox-') ? fs.readdirSync(path.join(ownTmp, d)) : [d]));
}

/** Processes whose command line names this file's temp dir: the sandbox and the code in it. */
function sandboxProcesses(): string[] {
  return fs.readdirSync('/proc').flatMap((pid) => {
    if (!/^\d+$/.test(pid)) return [];
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      return cmd.includes(ownTmp) ? [`${pid}: ${cmd.slice(0, 200)}`] : [];
    } catch {
      return [];
    }
  });
}

/** A promise the test opens when it has seen what it waits for. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
