import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import { KEYS, listRoutes, useTenantStack } from '../support/tenants';

/**
 * Two tenants, every route: what one tenant owns is neither visible to nor actionable by the other,
 * and another tenant's object answers exactly what a missing one answers. The table below has one
 * case per route of the router; a route added without a case fails the first test.
 */

const stack = useTenantStack();
const alpha = { authorization: `Bearer ${KEYS.alpha}` };
const beta = { authorization: `Bearer ${KEYS.beta}` };

let counter = 0;
const unique = (name: string) => `${name}-${Date.now().toString(36)}-${++counter}`;

/** A running job of tenant alpha (no lifecycle worker runs on this prefix, so it stays RUNNING). */
async function alphaJob(): Promise<string> {
  const res = await request(stack.app)
    .post('/api/workflows')
    .set(alpha)
    .send({ task: 'generate', description: 'add two numbers', requestId: unique('req') })
    .expect(202);
  return res.body.workflowId as string;
}

/** The error body with the object's id taken out, to compare "not yours" with "missing". */
function shape(body: { error: { code: string; message: string; details: Record<string, unknown> } }, id: string) {
  const strip = (s: string) => s.split(id).join('<id>');
  return {
    code: body.error.code,
    message: strip(body.error.message),
    details: JSON.parse(strip(JSON.stringify(body.error.details))) as unknown,
  };
}

/** Beta's answer on alpha's job is the answer on a job that does not exist, id aside. */
async function sameAsMissing(
  send: (id: string) => request.Test,
  alphaId: string,
  missingId = `job-alpha.${unique('never')}`,
): Promise<void> {
  const foreign = await send(alphaId).set(beta);
  const missing = await send(missingId).set(beta);
  expect(foreign.status).toBe(404);
  expect(missing.status).toBe(404);
  expect(shape(foreign.body, alphaId)).toEqual(shape(missing.body, missingId));
}

async function tenantAttribute(workflowId: string): Promise<unknown> {
  const description = await stack.client.workflow.getHandle(workflowId).describe();
  return description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.tenant);
}

/** Updates that reached a job's history: none may come from another tenant. */
async function updatesOf(workflowId: string): Promise<number> {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter(
    (e) => e.workflowExecutionUpdateAdmittedEventAttributes || e.workflowExecutionUpdateAcceptedEventAttributes,
  ).length;
}

/** Opens the event stream and answers its status code, then hangs up. */
function streamStatus(id: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(stack.app).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const req = http.get({
        port,
        host: '127.0.0.1',
        path: `/api/workflows/${encodeURIComponent(id)}/events`,
        headers,
      });
      req.on('response', (res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
        res.destroy();
        server.close();
      });
      req.on('error', reject);
    });
  });
}

async function alphaSchedule(): Promise<string> {
  const scheduleId = unique('nightly');
  await request(stack.app)
    .post('/api/schedules')
    .set(alpha)
    .send({ scheduleId, repositoryPath: stack.repo, language: 'python', paused: true })
    .expect(201);
  return scheduleId;
}

async function scheduleSameAsMissing(send: (id: string) => request.Test, alphaId: string) {
  await sameAsMissing(send, alphaId, unique('never'));
}

const CASES: Record<string, () => Promise<void>> = {
  'GET /health': async () => {
    const res = await request(stack.app).get('/health').expect(200);
    expect(Object.keys(res.body).sort()).toEqual(['startedAt', 'status', 'uptimeSeconds']);
  },
  'GET /ready': async () => {
    const anonymous = await request(stack.app).get('/ready');
    expect(anonymous.body).toEqual({ status: expect.stringMatching(/^(ready|unavailable)$/) });
    const keyed = await request(stack.app).get('/ready').set(beta);
    expect(keyed.body.checks.temporal).toBeDefined();
  },
  'GET /metrics': async () => {
    const res = await request(stack.app).get('/metrics').expect(200);
    expect(res.text).not.toMatch(/alpha|beta/);
  },
  // The API's description is the same for everyone, public like /health, and names no tenant.
  'GET /openapi.json': async () => {
    const res = await request(stack.app).get('/openapi.json').expect(200);
    expect(res.text).not.toMatch(/alpha|beta/);
  },
  'GET /docs': async () => {
    const res = await request(stack.app).get('/docs').expect(200);
    expect(res.text).not.toMatch(/alpha|beta/);
  },
  'POST /api/workflows': async () => {
    const requestId = unique('shared');
    const body = { task: 'generate', description: 'add two numbers', requestId };
    const a = await request(stack.app).post('/api/workflows').set(alpha).send(body).expect(202);
    const b = await request(stack.app).post('/api/workflows').set(beta).send(body).expect(202);
    expect(a.body.workflowId).not.toBe(b.body.workflowId);
    expect(await tenantAttribute(a.body.workflowId)).toBe('alpha');
    expect(await tenantAttribute(b.body.workflowId)).toBe('beta');
    // The same key with another body is a conflict, not the first job.
    const conflict = await request(stack.app)
      .post('/api/workflows')
      .set(alpha)
      .send({ ...body, description: 'something else' })
      .expect(409);
    expect(conflict.body.error.code).toBe('IdempotencyConflict');
    await request(stack.app).post('/api/workflows').set(alpha).send(body).expect(200);
  },
  'GET /api/workflows/:id': async () => {
    const id = await alphaJob();
    await request(stack.app).get(`/api/workflows/${id}`).set(alpha).expect(200);
    await sameAsMissing((x) => request(stack.app).get(`/api/workflows/${x}`), id);
  },
  'GET /api/workflows/:id/result': async () => {
    const id = await alphaJob();
    await request(stack.app).get(`/api/workflows/${id}/result`).set(alpha).expect(409);
    await sameAsMissing((x) => request(stack.app).get(`/api/workflows/${x}/result`), id);
  },
  'GET /api/workflows/:id/files': async () => {
    const id = await alphaJob();
    await request(stack.app).get(`/api/workflows/${id}/files`).set(alpha).expect(409);
    await sameAsMissing((x) => request(stack.app).get(`/api/workflows/${x}/files`), id);
  },
  'GET /api/workflows/:id/patch': async () => {
    const id = await alphaJob();
    await request(stack.app).get(`/api/workflows/${id}/patch`).set(alpha).expect(409);
    await sameAsMissing((x) => request(stack.app).get(`/api/workflows/${x}/patch`), id);
  },
  'POST /api/hooks/github': async () => {
    // No API key and no tenant's signature: refused, whoever calls (the tenant is the secret's).
    await request(stack.app)
      .post('/api/hooks/github')
      .set({ 'x-github-event': 'ping', 'x-github-delivery': 'd-1', 'content-type': 'application/json' })
      .send('{"repository":{"full_name":"acme/widgets"}}')
      .expect(401);
  },
  'GET /api/workflows/:id/events': async () => {
    const id = await alphaJob();
    expect(await streamStatus(id, alpha)).toBe(200);
    await sameAsMissing((x) => request(stack.app).get(`/api/workflows/${x}/events`), id);
  },
  'POST /api/workflows/:id/cancel': async () => {
    const id = await alphaJob();
    await sameAsMissing((x) => request(stack.app).post(`/api/workflows/${x}/cancel`), id);
    expect((await stack.client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
    await request(stack.app).post(`/api/workflows/${id}/cancel`).set(alpha).expect(202);
  },
  'POST /api/workflows/:id/retry': async () => {
    const id = await alphaJob();
    await request(stack.app).post(`/api/workflows/${id}/retry`).set(alpha).send({}).expect(409);
    await sameAsMissing((x) => request(stack.app).post(`/api/workflows/${x}/retry`).send({}), id);
  },
  'POST /api/workflows/:id/approve': async () => {
    const id = await alphaJob();
    await sameAsMissing((x) => request(stack.app).post(`/api/workflows/${x}/approve`).send({}), id);
    expect(await updatesOf(id)).toBe(0);
  },
  'POST /api/workflows/:id/reject': async () => {
    const id = await alphaJob();
    await sameAsMissing((x) => request(stack.app).post(`/api/workflows/${x}/reject`).send({}), id);
    expect(await updatesOf(id)).toBe(0);
  },
  'POST /api/workflows/:id/request-changes': async () => {
    const id = await alphaJob();
    const body = { feedback: 'rename it' };
    await sameAsMissing((x) => request(stack.app).post(`/api/workflows/${x}/request-changes`).send(body), id);
    expect(await updatesOf(id)).toBe(0);
  },
  'POST /api/coding/assist': async () => {
    const requestId = unique('assist');
    const body = { message: 'write a function that adds two numbers', requestId, wait: false };
    const a = await request(stack.app).post('/api/coding/assist').set(alpha).send(body).expect(202);
    const b = await request(stack.app).post('/api/coding/assist').set(beta).send(body).expect(202);
    expect(a.body.workflowId).not.toBe(b.body.workflowId);
    expect(await tenantAttribute(b.body.workflowId)).toBe('beta');
  },
  'POST /api/schedules': async () => {
    const scheduleId = await alphaSchedule();
    // The same name in another tenant is another schedule.
    await request(stack.app)
      .post('/api/schedules')
      .set(beta)
      .send({ scheduleId, repositoryPath: stack.repo, language: 'python', paused: true })
      .expect(201);
    const a = await request(stack.app).get(`/api/schedules/${scheduleId}`).set(alpha).expect(200);
    expect(a.body.scheduleId).toBe(scheduleId);
    // Beta deleting its own leaves alpha's.
    await request(stack.app).delete(`/api/schedules/${scheduleId}`).set(beta).expect(204);
    await request(stack.app).get(`/api/schedules/${scheduleId}`).set(alpha).expect(200);
  },
  'GET /api/schedules': async () => {
    const scheduleId = await alphaSchedule();
    const listed = async (who: Record<string, string>) =>
      (
        (await request(stack.app).get('/api/schedules').set(who).expect(200)).body.schedules as { scheduleId: string }[]
      ).map((s) => s.scheduleId);
    expect(await listed(alpha)).toContain(scheduleId);
    expect(await listed(beta)).not.toContain(scheduleId);
  },
  'GET /api/schedules/:id': async () => {
    const id = await alphaSchedule();
    await scheduleSameAsMissing((x) => request(stack.app).get(`/api/schedules/${x}`), id);
  },
  'GET /api/schedules/:id/latest': async () => {
    const id = await alphaSchedule();
    await request(stack.app).get(`/api/schedules/${id}/latest`).set(alpha).expect(409);
    await scheduleSameAsMissing((x) => request(stack.app).get(`/api/schedules/${x}/latest`), id);
  },
  'POST /api/schedules/:id/pause': async () => {
    const id = await alphaSchedule();
    await scheduleSameAsMissing((x) => request(stack.app).post(`/api/schedules/${x}/pause`).send({}), id);
  },
  'POST /api/schedules/:id/unpause': async () => {
    const id = await alphaSchedule();
    await scheduleSameAsMissing((x) => request(stack.app).post(`/api/schedules/${x}/unpause`).send({}), id);
    const still = await request(stack.app).get(`/api/schedules/${id}`).set(alpha).expect(200);
    expect(still.body.paused).toBe(true);
  },
  'POST /api/schedules/:id/trigger': async () => {
    const id = await alphaSchedule();
    await scheduleSameAsMissing((x) => request(stack.app).post(`/api/schedules/${x}/trigger`), id);
  },
  'DELETE /api/schedules/:id': async () => {
    const id = await alphaSchedule();
    await scheduleSameAsMissing((x) => request(stack.app).delete(`/api/schedules/${x}`), id);
    await request(stack.app).get(`/api/schedules/${id}`).set(alpha).expect(200);
  },
  'POST /api/memory': async () => {
    const item = { collection: 'fixes', project: 'shared', text: `def secret_alpha_${counter}(): pass` };
    const stored = await request(stack.app).post('/api/memory').set(alpha).send(item).expect(201);
    expect(stored.body.stored).toBe(1);
    const ids: string[] = [];
    for await (const wf of stack.client.workflow.list({
      query: `WorkflowType = 'storeMemoryWorkflow' AND ${SEARCH_ATTRIBUTES.tenant.name} = 'alpha' AND TaskQueue = '${stack.prefix}-workflows'`,
    }))
      ids.push(wf.workflowId);
    expect(ids.every((id) => id.startsWith('memory-store:alpha:'))).toBe(true);
  },
  'POST /api/memory/search': async () => {
    // Whatever the body says, the search runs in the caller's tenant.
    await request(stack.app)
      .post('/api/memory/search')
      .set(beta)
      .send({ query: 'secret_alpha', tenant: 'alpha' })
      .expect(200);
    const inputs: unknown[] = [];
    for await (const wf of stack.client.workflow.list({
      query: `WorkflowType = 'searchMemoryWorkflow' AND TaskQueue = '${stack.prefix}-workflows'`,
    })) {
      const history = await stack.client.workflow.getHandle(wf.workflowId).fetchHistory();
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
      if (started) inputs.push(JSON.parse(Buffer.from(started).toString('utf8')));
    }
    expect(inputs).toContainEqual(expect.objectContaining({ query: 'secret_alpha', tenant: 'beta' }));
    expect(inputs).not.toContainEqual(expect.objectContaining({ query: 'secret_alpha', tenant: 'alpha' }));
  },
  'POST /api/index': async () => {
    const project = unique('proj');
    const a = await request(stack.app).post('/api/index').set(alpha).send({ path: stack.repo, project }).expect(202);
    const b = await request(stack.app).post('/api/index').set(beta).send({ path: stack.repo, project }).expect(202);
    expect(a.body.workflowId).toBe(`index-repository:alpha:${project}`);
    expect(b.body.workflowId).toBe(`index-repository:beta:${project}`);
    // A member may not index.
    await request(stack.app)
      .post('/api/index')
      .set({ authorization: `Bearer ${KEYS.alphaMember}` })
      .send({ path: stack.repo, project })
      .expect(403);
  },
  'GET /api/index/:id': async () => {
    const project = unique('proj');
    const started = await request(stack.app)
      .post('/api/index')
      .set(alpha)
      .send({ path: stack.repo, project })
      .expect(202);
    await stack.client.workflow.getHandle(started.body.workflowId).result();
    await request(stack.app).get(`/api/index/${project}`).set(alpha).expect(200);
    for (const id of [project, started.body.workflowId as string]) {
      const foreign = await request(stack.app)
        .get(`/api/index/${encodeURIComponent(id)}`)
        .set(beta)
        .expect(404);
      const missing = await request(stack.app)
        .get(`/api/index/${encodeURIComponent(`${id}x`)}`)
        .set(beta)
        .expect(404);
      expect(foreign.body.error.code).toBe(missing.body.error.code);
    }
  },
};

describe('tenancy on every route', () => {
  it('has a two-tenant case for every route the router has', () => {
    expect(listRoutes(stack.app)).toEqual(Object.keys(CASES).sort());
  });

  it('refuses /api without a valid key, and a key of no tenant', async () => {
    await request(stack.app).get('/api/schedules').expect(401);
    await request(stack.app).get('/api/schedules').set({ authorization: 'Bearer not-a-key-at-all' }).expect(401);
    await request(stack.app)
      .get('/api/schedules')
      .set({ authorization: `Basic ${KEYS.alpha}` })
      .expect(401);
  });

  it.each(Object.keys(CASES))('%s keeps tenants apart', async (route) => {
    await CASES[route]!();
  });
});
