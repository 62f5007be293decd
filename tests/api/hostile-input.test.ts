import request from 'supertest';
import { KEYS, listRoutes, useTenantStack } from '../support/tenants';

/**
 * Malformed and abusive input on every route the router has, as an attacker would send it: no answer
 * is a 5xx, none hangs, no error body is large, and no configured secret appears in any answer or in
 * any workflow history of the run.
 */

const SECRETS = {
  OPENAI_API_KEY: 'sk-openai-secret-4f1e2d3c',
  QDRANT_API_KEY: 'qdrant-secret-8a7b6c5d',
  CODACY_API_TOKEN: 'codacy-secret-1a2b3c4d',
  redisPassword: 'redis-pass-9z8y7x',
  modelPassword: 'model-pass-6w5v4u',
};

const stack = useTenantStack({
  OPENAI_API_KEY: SECRETS.OPENAI_API_KEY,
  OPENAI_BASE_URL: `http://sophia:${SECRETS.modelPassword}@127.0.0.1:9/v1`,
  QDRANT_API_KEY: SECRETS.QDRANT_API_KEY,
  CODACY_API_TOKEN: SECRETS.CODACY_API_TOKEN,
  // Nothing listens there: the readiness check fails and says so, without the password.
  REDIS_URL: `redis://:${SECRETS.redisPassword}@127.0.0.1:9`,
  API_WAIT_TIMEOUT_MS: 1_000,
  API_BODY_LIMIT: '2mb',
});

const admin = { authorization: `Bearer ${KEYS.alpha}` };
const answers: string[] = [];
const TIMEOUT_MS = 15_000;

const surrogate = 'a\ud800b';
const hostileIds = [
  'x'.repeat(5_000),
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  '%ED%A0%80',
  '%E2%80%AE',
  'job-alpha.%0a',
  'a%20b',
  'index-repository:beta:p',
  '%25',
];

/** Bodies every route gets, whatever it expects. */
const hostileBodies: { name: string; send: (t: request.Test) => request.Test }[] = [
  { name: 'malformed JSON', send: (t) => t.set('content-type', 'application/json').send('{"task": ') },
  { name: 'a JSON array', send: (t) => t.send([1, 2, 3]) },
  { name: 'a JSON string', send: (t) => t.set('content-type', 'application/json').send('"just a string"') },
  { name: 'null', send: (t) => t.set('content-type', 'application/json').send('null') },
  { name: 'text/plain', send: (t) => t.set('content-type', 'text/plain').send('hello') },
  { name: 'an unknown charset', send: (t) => t.set('content-type', 'application/json; charset=ebcdic').send('{}') },
  {
    name: 'gzip that is not gzip',
    send: (t) => t.set('content-type', 'application/json').set('content-encoding', 'gzip').send('{}'),
  },
  {
    name: 'deep nesting',
    send: (t) => t.set('content-type', 'application/json').send(`${'{"a":'.repeat(500)}1${'}'.repeat(500)}`),
  },
  {
    name: 'a 140,000-key files map',
    send: (t) =>
      t.send({
        task: 'review',
        description: 'x',
        files: Object.fromEntries(Array.from({ length: 140_000 }, (_, i) => [`f${i}`, ''])),
      }),
  },
  { name: 'an oversized body', send: (t) => t.send({ description: 'x'.repeat(3 * 1024 * 1024) }) },
  {
    name: 'lone surrogates everywhere',
    send: (t) =>
      t.send({
        task: surrogate,
        description: surrogate,
        reason: surrogate,
        note: surrogate,
        cron: surrogate,
        project: surrogate,
        query: surrogate,
        message: surrogate,
        feedback: surrogate,
        [surrogate]: 1,
      }),
  },
  {
    name: 'prototype keys',
    send: (t) => t.set('content-type', 'application/json').send('{"__proto__": {"admin": true}, "constructor": 1}'),
  },
  {
    name: 'numbers where strings go',
    send: (t) => t.send({ task: 7, description: Number.POSITIVE_INFINITY, requestId: -0, path: 5 }),
  },
];

/** Route-specific abuse with what each must answer. */
const specific: { name: string; run: () => request.Test; status: number | number[] }[] = [
  {
    name: 'file names `pkg/`, 256 bytes, .git and control characters',
    run: () =>
      request(stack.app)
        .post('/api/workflows')
        .set(admin)
        .send({ task: 'review', description: 'x', files: { 'pkg/': 'x', ['a'.repeat(256)]: 'x' } }),
    status: 400,
  },
  {
    name: 'a .git file and a bidi name',
    run: () =>
      request(stack.app)
        .post('/api/workflows')
        .set(admin)
        .send({ task: 'review', description: 'x', files: { '.git/config': 'x', 'a\u202Eb.py': 'x' } }),
    status: 400,
  },
  {
    name: 'indexing /root, /etc, /proc and a path with a NUL byte',
    run: () => request(stack.app).post('/api/index').set(admin).send({ path: '/root', project: 'p' }),
    status: 403,
  },
  {
    name: 'indexing /etc',
    run: () => request(stack.app).post('/api/index').set(admin).send({ path: '/etc', project: 'p' }),
    status: 403,
  },
  {
    name: 'indexing /proc/self',
    run: () => request(stack.app).post('/api/index').set(admin).send({ path: '/proc/self', project: 'p' }),
    status: 403,
  },
  {
    name: 'indexing a path with NUL',
    run: () => request(stack.app).post('/api/index').set(admin).send({ path: '/tmp/a\u0000b', project: 'p' }),
    status: 400,
  },
  {
    name: 'a schedule on /etc',
    run: () =>
      request(stack.app).post('/api/schedules').set(admin).send({ repositoryPath: '/etc', language: 'python' }),
    status: 403,
  },
  {
    name: 'cron @every 1s',
    run: () =>
      request(stack.app)
        .post('/api/schedules')
        .set(admin)
        .send({ repositoryPath: stack.repo, language: 'python', cron: '@every 1s' }),
    status: 400,
  },
  {
    name: 'a cron with a seconds field every second',
    run: () =>
      request(stack.app)
        .post('/api/schedules')
        .set(admin)
        .send({ repositoryPath: stack.repo, language: 'python', cron: '* * * * * *' }),
    status: 400,
  },
  {
    name: 'a task of binary junk',
    run: () =>
      request(stack.app).post('/api/workflows').set(admin).send({ task: '\u0001\u00ff<script>', description: 'x' }),
    status: 400,
  },
  {
    name: '?wait=abc',
    run: () => request(stack.app).get('/api/workflows/job-alpha.none/result?wait=abc').set(admin),
    status: 404,
  },
  {
    name: '?wait=1e309',
    run: () => request(stack.app).get('/api/workflows/job-alpha.none/result?wait=1e309').set(admin),
    status: 404,
  },
  {
    name: '?wait[]=1',
    run: () => request(stack.app).get('/api/workflows/job-alpha.none/result?wait[]=1&wait=2').set(admin),
    status: 404,
  },
  {
    name: 'a lone surrogate in the query',
    run: () => request(stack.app).get('/api/workflows/job-alpha.none/result?wait=%ED%A0%80').set(admin),
    // The query parser decodes invalid UTF-8 to U+FFFD, so it is no number: the job's own 404.
    status: [400, 404],
  },
  { name: 'an unknown route', run: () => request(stack.app).get('/api/../../etc/passwd').set(admin), status: 404 },
  {
    name: 'a huge bearer',
    run: () =>
      request(stack.app)
        .get('/api/schedules')
        .set('authorization', `Bearer ${'k'.repeat(9000)}`),
    status: [401, 431],
  },
];

function concrete(route: string, id: string): string {
  return route.replace(':id', id);
}

function record(res: request.Response): void {
  answers.push(JSON.stringify(res.headers), res.text ?? '');
}

describe('hostile input on every route', () => {
  const routes = () => listRoutes(stack.app);

  it('answers every hostile body on every route without a 5xx, a hang or a large error', async () => {
    const failures: string[] = [];
    // Each hostile id with an ordinary body, then each hostile body on an ordinary id.
    const attempts: { route: string; id: string; body: (typeof hostileBodies)[number] }[] = [];
    for (const route of routes()) {
      for (const id of route.includes(':id') ? hostileIds : []) attempts.push({ route, id, body: hostileBodies[1]! });
      for (const body of hostileBodies) attempts.push({ route, id: 'job-alpha.none', body });
    }
    for (const { route, id, body } of attempts) {
      const [method, path] = route.split(' ') as [string, string];
      const url = concrete(path, id);
      const res = await body
        .send(request(stack.app)[method.toLowerCase() as 'get' | 'post' | 'delete'](url).set(admin))
        .timeout(TIMEOUT_MS);
      record(res);
      if (res.status >= 500)
        failures.push(`${route} [${id.slice(0, 20)}] ${body.name}: ${res.status} ${res.text.slice(0, 200)}`);
      if (res.status >= 400 && (res.text?.length ?? 0) > 16_384)
        failures.push(`${route} ${body.name}: a ${res.text.length}-byte error body`);
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it.each(specific.map((s) => [s.name, s] as const))('answers %s with a clear 4xx', async (_name, s) => {
    const res = await s.run().timeout(TIMEOUT_MS);
    record(res);
    expect([s.status].flat()).toContain(res.status);
    if (res.status !== 431) expect(res.body.error.code).toEqual(expect.any(String));
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await request(stack.app)
      .post('/api/workflows')
      .set(admin)
      .send({ task: 'generate', description: 'x'.repeat(3 * 1024 * 1024) });
    record(res);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('BodyTooLarge');
  });

  it('keeps junk out of the metrics labels', async () => {
    const res = await request(stack.app).get('/metrics').expect(200);
    record(res);
    const tasks = [...res.text.matchAll(/coding_requests_total\{task="([^"]*)"/g)].map((m) => m[1]);
    expect(tasks.length).toBeGreaterThan(0);
    for (const task of tasks)
      expect(['generate', 'test', 'review', 'refactor', 'debug', 'document', 'deploy', 'unknown']).toContain(task);
  });

  it('says only ready or not on the public /ready, and the rest only with a key, without secrets', async () => {
    const anonymous = await request(stack.app).get('/ready');
    record(anonymous);
    expect(Object.keys(anonymous.body)).toEqual(['status']);
    const keyed = await request(stack.app).get('/ready').set(admin);
    record(keyed);
    expect(keyed.body.checks.redis.ok).toBe(false);
    expect(keyed.text).toContain('***@');
  });

  it('shows no configured secret in any answer of this suite, nor in any workflow history of its task queues', async () => {
    const histories: string[] = [];
    for await (const wf of stack.client.workflow.list({ query: `TaskQueue = '${stack.prefix}-workflows'` })) {
      const history = await stack.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      histories.push(
        JSON.stringify(history, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v)),
      );
    }
    expect(answers.length).toBeGreaterThan(100);
    const everything = [...answers, ...histories].join('\n');
    for (const [name, secret] of Object.entries({ ...SECRETS, ...KEYS })) {
      expect([name, everything.includes(secret)]).toEqual([name, false]);
    }
  });
});
