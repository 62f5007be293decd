import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import { tenantScope, usageLedger, utcDay } from '../../common/usage-ledger';
import { KEYS, useTenantStack } from '../support/tenants';

/**
 * What holds a connection or a worker slot is capped per tenant: event streams (a count and a
 * lifetime), `?wait` requests, running jobs and the day's model usage. Over a cap: 429 with
 * Retry-After, never a request left hanging.
 */

const stack = useTenantStack({
  API_SSE_MAX_PER_TENANT: 1,
  API_SSE_MAX_LIFETIME_MS: 1_000,
  API_MAX_CONCURRENT_WAITS: 1,
  QUOTA_MAX_CONCURRENT_JOBS: 3,
  QUOTA_TOKENS_PER_DAY: 50_000,
});
const alpha = { authorization: `Bearer ${KEYS.alpha}` };
const beta = { authorization: `Bearer ${KEYS.beta}` };
let server: http.Server;
let port: number;

beforeAll(async () => {
  server = http.createServer(stack.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

async function job(who: Record<string, string>): Promise<string> {
  const res = await request(stack.app).post('/api/workflows').set(who).send({ task: 'generate', description: 'x' });
  expect(res.status).toBe(202);
  return res.body.workflowId as string;
}

/** Opens an event stream; answers its status and a way to read it to its end or hang up. */
function openStream(id: string, who: Record<string, string>) {
  return new Promise<{ status: number; retryAfter?: string; rest: () => Promise<string>; hangUp: () => void }>(
    (resolve, reject) => {
      const req = http.get({ port, host: '127.0.0.1', path: `/api/workflows/${id}/events`, headers: who });
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        const ended = new Promise<string>((done) => res.on('end', () => done(text)));
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'] as string | undefined,
          rest: () => ended,
          hangUp: () => req.destroy(),
        });
      });
    },
  );
}

/** Polls until the API sees `n` streams of a tenant held (a new one answers 429). */
async function untilFull(id: string, who: Record<string, string>): Promise<{ status: number; retryAfter?: string }> {
  for (let i = 0; i < 100; i++) {
    const probe = await openStream(id, who);
    if (probe.status === 429) return probe;
    probe.hangUp();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the stream cap never filled');
}

describe('event streams', () => {
  it('caps open streams per tenant, frees a slot when the client hangs up, and ends a stream at its lifetime', async () => {
    const alphaJob = await job(alpha);
    const betaJob = await job(beta);
    const first = await openStream(alphaJob, alpha);
    expect(first.status).toBe(200);
    // Alpha's one stream is open: a second is refused, with Retry-After; beta has its own.
    const refused = await untilFull(alphaJob, alpha);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    const other = await openStream(betaJob, beta);
    expect(other.status).toBe(200);
    other.hangUp();
    // At its lifetime the stream says so and ends; the slot is free again.
    expect(await first.rest()).toContain('StreamExpired');
    let again = await openStream(alphaJob, alpha);
    for (let i = 0; again.status === 429 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      again = await openStream(alphaJob, alpha);
    }
    expect(again.status).toBe(200);
    again.hangUp();
  });

  it('frees the slot of a stream whose client left during the first read, even when the GET had a body', async () => {
    const id = await job(alpha);
    for (let i = 0; i < 3; i++) {
      const body = JSON.stringify({ hello: 'body' });
      const res = await new Promise<number>((resolve, reject) => {
        const req = http.request({
          port,
          host: '127.0.0.1',
          method: 'GET',
          path: `/api/workflows/${id}/events`,
          headers: { ...alpha, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        });
        req.on('error', reject);
        req.on('response', (r) => {
          resolve(r.statusCode ?? 0);
          req.destroy();
        });
        req.end(body);
      });
      // With one slot per tenant, each stream gets it only if the one before released it.
      if (res === 429) await new Promise((r) => setTimeout(r, 200));
      else expect(res).toBe(200);
    }
    let last = 429;
    for (let i = 0; i < 100 && last === 429; i++) {
      const s = await openStream(id, alpha);
      last = s.status;
      s.hangUp();
      if (last === 429) await new Promise((r) => setTimeout(r, 50));
    }
    expect(last).toBe(200);
  });
});

describe('?wait', () => {
  it('caps concurrent waits with a 429 and Retry-After, and answers a small wait with the job not finished', async () => {
    const id = await job(alpha);
    let firstDone = false;
    const first = request(stack.app)
      .get(`/api/workflows/${id}/result?wait=3000`)
      .set(alpha)
      .then((r) => {
        firstDone = true;
        return r;
      });
    let second: request.Response | undefined;
    while (!firstDone) {
      second = await request(stack.app).get(`/api/workflows/${id}/result?wait=3000`).set(alpha);
      if (second.status === 429) break;
    }
    expect(second?.status).toBe(429);
    expect(second?.body.error.code).toBe('TooManyWaits');
    expect(second?.headers['retry-after']).toBe('1');
    const firstRes = await first;
    expect(firstRes.status).toBe(409);
    expect(firstRes.body.error.code).toBe('JobNotFinished');
    const small = await request(stack.app).get(`/api/workflows/${id}/result?wait=50`).set(alpha);
    expect(small.status).toBe(409);
  });
});

describe('quotas', () => {
  it("refuses a tenant's job over its concurrent-jobs quota with 429 QuotaExceeded and Retry-After, other tenants unaffected", async () => {
    const running = async (tenant: string) =>
      (
        await stack.client.workflow.count(
          `${SEARCH_ATTRIBUTES.tenant.name} = '${tenant}' AND ExecutionStatus = 'Running' AND TaskQueue = '${stack.prefix}-workflows' AND WorkflowType = 'codingLifecycleWorkflow'`,
        )
      ).count;
    let refused: request.Response | undefined;
    for (let i = 0; i < 50 && !refused; i++) {
      const res = await request(stack.app)
        .post('/api/workflows')
        .set(beta)
        .send({ task: 'generate', description: 'x' });
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(202);
      // Visibility catches up with the starts before the next one counts them.
      for (let j = 0; j < 50 && (await running('beta')) < Math.min(i + 1, 3); j++)
        await new Promise((r) => setTimeout(r, 100));
    }
    expect(refused?.body.error).toMatchObject({ code: 'QuotaExceeded', details: { quota: 'concurrent-jobs' } });
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThan(0);
    expect(await running('beta')).toBe(3);
  });

  it("refuses a tenant's job once its tokens of the day are spent, until midnight UTC", async () => {
    // What the llm pool's interceptor adds after each call (same process, so the in-process ledger).
    await usageLedger(undefined).add(tenantScope('alpha'), utcDay(), { tokens: 50_000, costUsd: 0.5 });
    const res = await request(stack.app).post('/api/workflows').set(alpha).send({ task: 'generate', description: 'x' });
    expect(res.status).toBe(429);
    expect(res.body.error.details.quota).toBe('daily-usage');
    const midnight = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(Math.ceil((midnight - Date.now()) / 1000) + 1);
  });
});
