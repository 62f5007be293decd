import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { openApiDocument } from '../../api/openapi';
import { startJobSchema } from '../../api/validation';
import { testApp } from '../support/api';
import { calcScript, CALC } from '../support/calc-script';
import { ROOT } from '../support/cli';
import { useJobStack } from '../support/job-stack';
import { expectDocumented } from '../support/openapi-contract';

const stack = useJobStack();

describe('the OpenAPI description', () => {
  it('is served at /openapi.json, public, as OpenAPI 3.1 that the validator accepts', async () => {
    const res = await request(stack.app).get('/openapi.json').expect(200);
    expect(res.body.openapi).toBe('3.1.0');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-')), 'openapi.json');
    fs.writeFileSync(file, res.text);
    const check = spawnSync(path.join(ROOT, 'node_modules/.bin/validate-api'), [file], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toMatch(/"valid": true/);
    expect(check.status).toBe(0);
  });

  it('describes the start body with the very schema that validates it', () => {
    const described = (openApiDocument().components?.schemas as Record<string, { required?: string[] }>)
      .StartJobRequest;
    expect(described?.required).toEqual(['task', 'description']);
    // A field the validator refuses is one the description calls unknown, and the other way round.
    expect(startJobSchema.safeParse({ task: 'generate', description: 'x', colour: 'red' }).success).toBe(false);
    expect((described as { additionalProperties?: unknown }).additionalProperties).toBe(false);
  });
});

describe('real answers match the description', () => {
  it('a job from start to files: 202, status, result, files, and the assist answer', async () => {
    stack.model.reset();
    stack.model.setScript(calcScript({ code: CALC.FIXED }));
    const started = await request(stack.app)
      .post('/api/workflows')
      .send({ task: 'generate', description: `add(a, b) ${Date.now()}`, language: 'python' });
    expectDocumented(started, 'post', '/api/workflows');
    expect(started.status).toBe(202);
    const id = started.body.workflowId as string;

    const status = await request(stack.app).get(`/api/workflows/${id}`);
    expectDocumented(status, 'get', '/api/workflows/{id}');

    const result = await request(stack.app).get(`/api/workflows/${id}/result?wait=60000`);
    expectDocumented(result, 'get', '/api/workflows/{id}/result');
    expect(result.status).toBe(200);
    expectDocumented(await request(stack.app).get(`/api/workflows/${id}`), 'get', '/api/workflows/{id}');
    expectDocumented(await request(stack.app).get(`/api/workflows/${id}/files`), 'get', '/api/workflows/{id}/files');
    const cancel = await request(stack.app).post(`/api/workflows/${id}/cancel`);
    expect(cancel.status).toBe(409);
    expectDocumented(cancel, 'post', '/api/workflows/{id}/cancel');

    const assist = await request(stack.app)
      .post('/api/coding/assist')
      .send({ message: `Create an add(a, b) function in Python ${Date.now()}` });
    expect(assist.status).toBe(200);
    expectDocumented(assist, 'post', '/api/coding/assist');
  });

  it('error shapes: an invalid body, malformed JSON, an unknown job, an empty assist message', async () => {
    const invalid = await request(stack.app).post('/api/workflows').send({ task: 'dance' });
    expect(invalid.status).toBe(400);
    expectDocumented(invalid, 'post', '/api/workflows');
    const malformed = await request(stack.app)
      .post('/api/workflows')
      .set('content-type', 'application/json')
      .send('{"task":');
    expectDocumented(malformed, 'post', '/api/workflows');
    const missing = await request(stack.app).get(`/api/workflows/job-local.nope-${Date.now()}`);
    expect(missing.status).toBe(404);
    expectDocumented(missing, 'get', '/api/workflows/{id}');
    const assistInvalid = await request(stack.app).post('/api/coding/assist').send({ message: '' });
    expectDocumented(assistInvalid, 'post', '/api/coding/assist');
  });

  it('a running job: 202 from assist with wait=false, 409 JobNotFinished from its result', async () => {
    stack.model.reset();
    stack.model.setScript(calcScript({ code: CALC.FIXED }));
    stack.model.enqueue({ content: { files: [{ path: 'calc.py', content: CALC.FIXED }] }, delayMs: 3_000 });
    const assist = await request(stack.app)
      .post('/api/coding/assist')
      .send({ message: `Create an add(a, b) function in Python ${Date.now()}`, wait: false });
    expect(assist.status).toBe(202);
    expectDocumented(assist, 'post', '/api/coding/assist');
    const early = await request(stack.app).get(`/api/workflows/${assist.body.workflowId}/result`);
    expect(early.status).toBe(409);
    expectDocumented(early, 'get', '/api/workflows/{id}/result');
    await request(stack.app).get(`/api/workflows/${assist.body.workflowId}/result?wait=60000`).expect(200);
  });

  it('health and readiness, with and without a key; 401 without one on an API with keys', async () => {
    const { app, gateway } = testApp({ API_KEYS: 'alpha:admin:alpha-admin-key-0123456789' });
    try {
      expectDocumented(await request(app).get('/health'), 'get', '/health');
      expectDocumented(await request(app).get('/ready'), 'get', '/ready');
      const ready = await request(app).get('/ready').set('authorization', 'Bearer alpha-admin-key-0123456789');
      expect(ready.body.checks.temporal).toBeDefined();
      expectDocumented(ready, 'get', '/ready');
      const denied = await request(app).get('/api/workflows/job-alpha.x');
      expect(denied.status).toBe(401);
      expectDocumented(denied, 'get', '/api/workflows/{id}');
      // The description and the docs page are public, like /health.
      await request(app).get('/openapi.json').expect(200);
      await request(app).get('/docs').expect(200);
    } finally {
      await gateway.close();
    }
  });

  it('catches an answer that drifts from the description', async () => {
    const res = await request(stack.app).get('/health');
    const drifted = { ...res, status: 200, body: { ...res.body, extra: 1 } } as typeof res;
    expect(() => expectDocumented(drifted, 'get', '/health')).toThrow(/does not match the description/);
    const undocumented = { ...res, status: 418 } as typeof res;
    expect(() => expectDocumented(undocumented, 'get', '/health')).toThrow(/status not documented/);
  });
});
