import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import request from 'supertest';
import { artifactStore, type FileSetRef } from '../../activities/artifacts';
import { projectRoot } from '../../common/config';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import { testApp } from '../support/api';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server';
import { testClient } from '../support/temporal';
import { startWorkers, type RunningWorkers } from '../support/workers';

const buggy = (name: string) => `def ${name}():\n    """Return one."""\n    return 0\n`;
const fixed = (name: string) => `def ${name}():\n    """Return one."""\n    return 1\n`;
const TESTS =
  'from a import fa\nfrom b import fb\nfrom c import fc\n\n\ndef test_all():\n    assert (fa(), fb(), fc()) == (1, 1, 1)\n';

let model: ScriptedModelServer;
let workers: RunningWorkers;
let llmWorker: ChildProcess | undefined;

/** The LLM pool as its own process, as `npm start` and Kubernetes run it. */
function startLlmWorker(prefix: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'workers', 'llm-worker.ts')], {
    cwd: projectRoot,
    env: {
      ...process.env,
      TEMPORAL_TASK_QUEUE_PREFIX: prefix,
      OPENAI_BASE_URL: model.url,
      OPENAI_API_KEY: 'test-key',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function untilAsync(what: string, fn: () => Promise<boolean | undefined>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let client: Client;

beforeAll(async () => {
  model = await startScriptedModelServer({
    rules: [{ match: 'code reviewer', in: 'system', reply: { content: { findings: [], summary: 'fine' } } }],
  });
  // Every pool but the LLM one runs in this process; the LLM pool is the process we kill.
  workers = await startWorkers(['workflows', 'sandbox', 'memory']);
  client = await testClient();
});

afterAll(async () => {
  llmWorker?.kill('SIGKILL');
  await workers.stop();
  await model.close();
  await client?.connection.close();
});

describe('a worker killed in the middle of a multi-file refactor', () => {
  it('resumes from the last finished file after a restart, without asking the model again for it', async () => {
    let stalledOnce = false;
    model.respondWith((req) => {
      const target = /Rewrite the file (\w)\.py/.exec(req.user)?.[1];
      if (!req.system.includes('fixing code') || !target) return undefined;
      if (target === 'b' && !stalledOnce) {
        stalledOnce = true;
        // Long enough for the test to kill the worker while this call is in flight.
        return { delayMs: 30_000, content: { content: fixed('fb'), explanation: 'too late' } };
      }
      return { content: { content: fixed(`f${target}`), explanation: `fixed ${target}` } };
    });
    llmWorker = startLlmWorker(workers.prefix);
    const { app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: workers.prefix });
    const started = await request(app)
      .post('/api/workflows')
      .send({
        task: 'refactor',
        language: 'python',
        description: `make every function return one ${Date.now()}`,
        files: { 'a.py': buggy('fa'), 'b.py': buggy('fb'), 'c.py': buggy('fc'), 'test_all.py': TESTS },
      })
      .expect(202);

    const rewrites = (file: string) =>
      model
        .chatRequests()
        .filter((r) => r.system.includes('fixing code') && r.user.includes(`Rewrite the file ${file}`));
    await until('the refactor of b.py to be in flight', () => rewrites('b.py').length === 1);
    // Mid-call, once the server holds the heartbeat that records a.py as finished.
    const handle = client.workflow.getHandle(started.body.workflowId);
    await untilAsync('the heartbeat recording a.py as rewritten', async () => {
      const { raw } = await handle.describe();
      return raw.pendingActivities?.some((a) => {
        const payload = a.heartbeatDetails?.payloads?.[0]?.data;
        const details = payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as { done?: object }) : {};
        return a.activityType?.name === 'refactorCode' && !!details.done && 'a.py' in details.done;
      });
    });
    const killedAt = Date.now();
    llmWorker.kill('SIGKILL');
    await new Promise((r) => llmWorker!.once('exit', r));
    llmWorker = startLlmWorker(workers.prefix);
    // The figure of the crash target (a step resumes within 30 s of kill -9), printed, not asserted.
    await until('the refactor of b.py to be asked again', () => rewrites('b.py').length === 2, 110_000);
    process.stdout.write(
      `worker-crash: the refactor resumed ${((Date.now() - killedAt) / 1000).toFixed(1)} s after kill -9\n`,
    );

    const res = await request(app).get(`/api/workflows/${started.body.workflowId}/result?wait=110000`).expect(200);
    const result = res.body.result as CodingJobResult;
    expect(result.outcome).toBe('succeeded');
    expect(rewrites('a.py')).toHaveLength(1); // finished before the crash: not asked again
    expect(rewrites('b.py')).toHaveLength(2); // in flight when the worker died: asked again
    expect(rewrites('c.py')).toHaveLength(1);
    const files = await artifactStore().getFiles(result.files as FileSetRef);
    expect([files['a.py'], files['b.py'], files['c.py']]).toEqual([fixed('fa'), fixed('fb'), fixed('fc')]);
    const last = result.iterations[result.iterations.length - 1]!;
    expect(last.tests).toMatchObject({ passed: 1, failed: 0 });
    await gateway.close();
  });
});
