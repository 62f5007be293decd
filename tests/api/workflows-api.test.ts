import { execFileSync } from 'node:child_process';
import request from 'supertest';
import type { Client } from '@temporalio/client';
import { resetConfig } from '../../common/config';
import { testApp } from '../support/api';
import { testClient, uniqueTaskQueue } from '../support/temporal';

// No worker serves this prefix: these tests check what the API does at the edge, not job execution.
const prefix = uniqueTaskQueue('api');
let client: Client;

beforeAll(async () => {
  resetConfig();
  client = await testClient();
});
afterAll(async () => {
  await client.connection.close();
});

describe('POST /api/workflows', () => {
  const { app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: prefix });
  afterAll(() => gateway.close());

  it('starts a job and answers 202 with its id, run id and links', async () => {
    const res = await request(app)
      .post('/api/workflows')
      .send({ task: 'generate', description: 'add two numbers', language: 'python' })
      .expect(202);
    expect(res.body.workflowId).toMatch(/^job-local\.generate-/);
    expect(res.body.runId).toEqual(expect.any(String));
    expect(res.body.links.self).toBe(`/api/workflows/${res.body.workflowId}`);
    expect(res.body.links.ui).toContain(`/workflows/${res.body.workflowId}`);
    const description = await client.workflow.getHandle(res.body.workflowId).describe();
    expect(description.type).toBe('codingLifecycleWorkflow');
    expect(description.taskQueue).toBe(`${prefix}-workflows`);
  });

  it('starts one job, not two, for the same requestId', async () => {
    const body = { task: 'GENERATE', description: 'fizzbuzz', requestId: `req-${Date.now()}` };
    const first = await request(app).post('/api/workflows').send(body).expect(202);
    const second = await request(app).post('/api/workflows').send(body).expect(200);
    expect(second.body.workflowId).toBe(first.body.workflowId);
    expect(second.body.runId).toBe(first.body.runId);
    expect(second.body.existing).toBe(true);
  });

  it('tags the job with search attributes that workflow list queries can filter on', async () => {
    const project = `proj-${Date.now()}`;
    const res = await request(app)
      .post('/api/workflows')
      .send({ task: 'test', description: 'tests for utils', project, language: 'typescript' })
      .expect(202);
    let ids: string[] = [];
    for (let i = 0; i < 50 && ids.length === 0; i++) {
      ids = [];
      for await (const wf of client.workflow.list({
        query: `SophiaProject = '${project}' AND SophiaTaskKind = 'test'`,
      })) {
        ids.push(wf.workflowId);
      }
      if (ids.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ids).toEqual([res.body.workflowId]);
  });

  it('rejects malformed JSON with 400 and a field path', async () => {
    const res = await request(app)
      .post('/api/workflows')
      .set('content-type', 'application/json')
      .send('{"task": "generate",')
      .expect(400);
    expect(res.body.error.code).toBe('MalformedJson');
    expect(res.body.error.details.fields[0].path).toBe('(body)');
  });

  it('refuses a body that is not JSON with 415, instead of reading it as no body', async () => {
    for (const [type, body] of [
      ['text/plain', '{"task":"generate","description":"x"}'],
      ['application/x-www-form-urlencoded', 'task=generate&description=x'],
    ]) {
      const res = await request(app).post('/api/workflows').set('content-type', type!).send(body).expect(415);
      expect(res.body.error.code).toBe('UnsupportedMediaType');
      expect(res.body.error.message).toContain('application/json');
    }
    // No body at all is no media type to refuse: the route's own answer.
    await request(app).post('/api/workflows/job-local.none/cancel').expect(404);
  });

  it('says why a file name is refused, and names the id when the id is bad', async () => {
    const res = await request(app)
      .post('/api/workflows')
      .send({ task: 'debug', description: 'x', language: 'python', files: { '../../etc/passwd': 'x' } })
      .expect(400);
    expect(res.body.error.details.fields).toEqual([
      {
        path: 'files.../../etc/passwd',
        message: expect.stringContaining('must be a relative path inside the project'),
      },
    ]);
    const bad = await request(app).get('/api/workflows/a%20b').expect(400);
    expect(bad.body.error.details.fields).toEqual([{ path: 'id', message: 'a workflow id' }]);
  });

  it('rejects an unknown task and a missing description with 400 naming both fields', async () => {
    const res = await request(app).post('/api/workflows').send({ task: 'dance' }).expect(400);
    expect(res.body.error.code).toBe('InvalidInput');
    const paths = res.body.error.details.fields.map((f: { path: string }) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['task', 'description']));
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts/);
  });

  it('rejects file paths that escape the project', async () => {
    const res = await request(app)
      .post('/api/workflows')
      .send({ task: 'review', description: 'x', files: { '../etc/passwd': 'x' } })
      .expect(400);
    expect(res.body.error.details.fields[0].path).toBe('files.../etc/passwd');
  });

  it('rejects an oversized body with 413', async () => {
    const { app: small, gateway: g } = testApp({ API_BODY_LIMIT: '1kb', TEMPORAL_TASK_QUEUE_PREFIX: prefix });
    const res = await request(small)
      .post('/api/workflows')
      .send({ task: 'generate', description: 'x'.repeat(5000) })
      .expect(413);
    expect(res.body.error.code).toBe('BodyTooLarge');
    await g.close();
  });
});

describe('GET /api/workflows/:id', () => {
  const { app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: prefix });
  afterAll(() => gateway.close());

  it('answers phase, iteration, timestamps and the Web UI link of a job', async () => {
    const started = await request(app).post('/api/workflows').send({ task: 'generate', description: 'x' }).expect(202);
    const res = await request(app).get(`/api/workflows/${started.body.workflowId}`).expect(200);
    expect(res.body).toMatchObject({
      workflowId: started.body.workflowId,
      status: 'RUNNING',
      task: 'generate',
      phase: 'QUEUED',
      iteration: 0,
      closedAt: null,
    });
    expect(new Date(res.body.startedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(res.body.links.ui).toContain(started.body.runId);
  });

  it('answers 404 for an unknown job', async () => {
    const res = await request(app).get('/api/workflows/job-does-not-exist').expect(404);
    expect(res.body.error.code).toBe('JobNotFound');
  });

  it('answers 409 for the result of a job that is still running', async () => {
    const started = await request(app).post('/api/workflows').send({ task: 'generate', description: 'x' }).expect(202);
    const res = await request(app).get(`/api/workflows/${started.body.workflowId}/result`).expect(409);
    expect(res.body.error.code).toBe('JobNotFinished');
  });

  it('cancels a running job, and answers 409 when asked again', async () => {
    const started = await request(app).post('/api/workflows').send({ task: 'generate', description: 'x' }).expect(202);
    await request(app).post(`/api/workflows/${started.body.workflowId}/cancel`).expect(202);
    // No worker runs the workflow task, so the cancel request sits in history; terminate to close it.
    const handle = client.workflow.getHandle(started.body.workflowId);
    const history = await handle.fetchHistory();
    expect(JSON.stringify(history.events)).toContain('workflowExecutionCancelRequestedEventAttributes');
    await handle.terminate('test cleanup');
    const again = await request(app).post(`/api/workflows/${started.body.workflowId}/cancel`).expect(409);
    expect(again.body.error.code).toBe('JobNotRunning');
  });
});

describe('health, readiness and metrics', () => {
  it('reports ready when Temporal answers', async () => {
    const { app, gateway } = testApp();
    const res = await request(app).get('/ready').expect(200);
    expect(res.body.checks.temporal.ok).toBe(true);
    expect(res.body.checks.redis.detail).toMatch(/in-process/);
    // The code it runs, so that what it did can be traced to a commit.
    expect(res.body.commit).toBe(execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { encoding: 'utf8' }).trim());
    await gateway.close();
  });

  it('stays up and answers 503 on /ready and on a start when Temporal is unreachable', async () => {
    const { app, gateway } = testApp({ TEMPORAL_ADDRESS: '127.0.0.1:1' });
    await request(app).get('/health').expect(200);
    const ready = await request(app).get('/ready').expect(503);
    expect(ready.body.checks.temporal.ok).toBe(false);
    const start = await request(app).post('/api/workflows').send({ task: 'generate', description: 'x' }).expect(503);
    expect(start.body.error.code).toBe('TemporalUnavailable');
    expect(start.body.error.message).toMatch(/TEMPORAL_ADDRESS/);
    // Metrics still answer: the queue backlog is what cannot be read, not the rest.
    const metrics = await request(app).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^coding_requests_total\{task="generate",status="unavailable"\} [1-9]/m);
    await gateway.close();
  });

  it('exposes request counters and default metrics on /metrics', async () => {
    const { app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: prefix });
    const invalid = async () => {
      const text = (await request(app).get('/metrics').expect(200)).text;
      return Number(/^coding_requests_total\{task="unknown",status="invalid"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await invalid();
    await request(app).post('/api/workflows').send({ task: 'nope' }).expect(400);
    // This request, counted by itself whatever other tests ran before; a task outside the catalogue
    // never becomes a label of its own.
    expect(await invalid()).toBe(before + 1);
    const res = await request(app).get('/metrics').expect(200);
    expect(res.text).not.toContain('task="nope"');
    expect(res.text).toContain('# TYPE code_generation_duration_seconds histogram');
    expect(res.text).toContain('process_cpu_user_seconds_total');
    await gateway.close();
  });

  it('takes the deprecated API_TOKEN as an admin key of tenant local, and needs it on /api but not on /health', async () => {
    const { app, gateway } = testApp({ API_TOKEN: 's3cret', TEMPORAL_TASK_QUEUE_PREFIX: prefix });
    await request(app).get('/health').expect(200);
    const denied = await request(app).get('/api/workflows/x').expect(401);
    expect(denied.body.error.code).toBe('Unauthorized');
    await request(app).get('/api/workflows/job-none').set('authorization', 'Bearer s3cret').expect(404);
    await gateway.close();
  });
});
