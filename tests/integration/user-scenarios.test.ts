import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { CodingJobResult, FindingSummary } from '../../workflows/coding-job/definitions';
import { testApp } from '../support/api';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server';
import { startWorkers, type RunningWorkers } from '../support/workers';

/**
 * The user's own end-to-end scenarios, through the public REST API, on real workers, a real Temporal,
 * the real bubblewrap sandbox running real pytest, and real ruff. Only the model is scripted, and its
 * answers are the Python files under tests/support/fixtures/user-scenarios/.
 */

const FIXTURES = path.join(__dirname, '..', 'support', 'fixtures', 'user-scenarios');
const fixture = (...parts: string[]) => fs.readFileSync(path.join(FIXTURES, ...parts), 'utf8');
const testCount = (source: string) => source.match(/^def test_/gm)?.length ?? 0;

const CLEAN_REVIEW = { content: { findings: [], summary: 'Correct, and the tests cover it.' } };
/** A job's own project, so memory from another scenario never reaches its prompts. */
const project = (name: string) => `${name}-${Date.now()}`;
/** The path a refactor prompt asks for ("Rewrite the file x.py.\n\n…"). */
const rewriteTarget = (user: string) => /^Rewrite the file (.+?)\.\n/.exec(user)?.[1];

let model: ScriptedModelServer;
let workers: RunningWorkers;

beforeAll(async () => {
  model = await startScriptedModelServer();
  workers = await startWorkers(['workflows', 'llm', 'sandbox', 'memory'], {
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: 'test-key',
  });
});

afterAll(async () => {
  await workers.stop();
  await model.close();
});

beforeEach(() => {
  model.reset();
  model.respondWith(undefined);
});

function api() {
  return testApp({ TEMPORAL_TASK_QUEUE_PREFIX: workers.prefix, API_WAIT_TIMEOUT_MS: 150_000 });
}

const testRuns = (result: CodingJobResult) => result.iterations.filter((i) => i.tests);
const ruleOf = (f: FindingSummary) => /^([A-Z]+\d+):/.exec(f.message)?.[1] ?? '';

describe("the user's own scenarios, end to end through the API with a scripted model", () => {
  it('(a) generates a user-profile CRUD API in Python whose generated pytest tests pass in the sandbox', async () => {
    const module = fixture('profiles', 'profiles.py');
    const tests = fixture('profiles', 'test_profiles.py');
    model.setScript({
      rules: [
        {
          match: 'test engineer',
          in: 'system',
          reply: {
            content: {
              files: [{ path: 'test_profiles.py', content: tests }],
              explanation: 'CRUD and validation tests',
            },
          },
        },
        { match: 'code reviewer', in: 'system', reply: CLEAN_REVIEW },
      ],
      default: {
        content: {
          files: [{ path: 'profiles.py', content: module }],
          explanation: 'An in-memory ProfileRepository and a WSGI ProfileApi over it, stdlib only.',
        },
      },
    });
    const { app, gateway } = api();
    try {
      const res = await request(app)
        .post('/api/coding/assist')
        .send({
          message:
            'Create a user-profile CRUD API in Python: create, read, update and delete profiles (username, email, bio), ' +
            'with validation errors as 422. Standard library only.',
          project: project('profiles'),
        })
        .expect(200);

      expect(res.body).toMatchObject({ task: 'generate', language: 'python', success: true, outcome: 'succeeded' });
      // The pytest run really happened in the sandbox: every CRUD test passed.
      expect(res.body.tests.failed).toBe(0);
      expect(res.body.tests.passed).toBeGreaterThanOrEqual(testCount(tests));
      expect(testCount(tests)).toBeGreaterThanOrEqual(8);

      const { body: done } = await request(app).get(`/api/workflows/${res.body.workflowId}/result`).expect(200);
      const result = done.result as CodingJobResult;
      expect(result.iterations.map((i) => i.step)).toEqual(['generate', 'write-tests']);
      const last = result.iterations[result.iterations.length - 1]!;
      expect(last.tests).toMatchObject({ passed: testCount(tests), failed: 0, errors: 0 });
      // ruff ran on the generated code and tests, and nothing it found blocks (pytest's asserts are not findings).
      expect(last.findings!.summary).toMatch(/from ruff/);
      expect(last.findings!.items!.filter((f) => f.source === 'ruff' && f.blocking)).toEqual([]);
      expect(last.findings!.items!.filter((f) => f.message.startsWith('S101'))).toEqual([]);
      expect(last.findings!.blocking).toBe(0);

      const { body: download } = await request(app).get(`/api/workflows/${res.body.workflowId}/files`).expect(200);
      expect(Object.keys(download.files).sort()).toEqual(['profiles.py', 'test_profiles.py']);
      for (const fn of [
        'def create',
        'def get',
        'def update',
        'def delete',
        'class ValidationError',
        'class ProfileApi',
      ]) {
        expect(download.files['profiles.py']).toContain(fn);
      }
      expect(res.body.code).toEqual(download.files);

      // The test engineer was shown the generated module.
      const testPrompt = model.chatRequests().find((r) => r.system.includes('test engineer'));
      expect(testPrompt?.user).toContain('--- profiles.py\n"""User profiles');
    } finally {
      await gateway.close();
    }
  }, 180_000);

  it('(b) debugs a JWT verification bug: a reproducing test fails first, its failure drives the fix, then it passes', async () => {
    const buggy = fixture('jwt', 'jwt_auth_buggy.py');
    const fixed = fixture('jwt', 'jwt_auth_fixed.py');
    const tests = fixture('jwt', 'test_jwt_auth.py');
    const traceback = [
      'Traceback (most recent call last):',
      '  File "/srv/api/middleware.py", line 21, in authenticate',
      '    claims = verify(token, settings.JWT_SECRET)',
      '  File "/srv/api/jwt_auth.py", line 53, in verify',
      '    raise InvalidToken("signature mismatch")',
      'jwt_auth.InvalidToken: signature mismatch',
    ].join('\n');
    model.setScript({
      rules: [
        {
          match: 'test engineer',
          in: 'system',
          reply: {
            content: { files: [{ path: 'test_jwt_auth.py', content: tests }], explanation: 'reproduces the rejection' },
          },
        },
        {
          match: 'code reviewer',
          in: 'system',
          reply: [
            {
              content: {
                findings: [
                  {
                    severity: 'blocking',
                    file: 'jwt_auth.py',
                    line: 52,
                    message: 'The HMAC is computed over the payload segment only, not over "header.payload".',
                    suggestion: 'Sign f"{header_b64}.{payload_b64}" and compare with hmac.compare_digest.',
                  },
                ],
                summary: 'Signature check covers the wrong segment.',
              },
            },
            CLEAN_REVIEW,
          ],
        },
        {
          match: 'fixing code',
          in: 'system',
          reply: { content: { content: fixed, explanation: 'Verify the HMAC over header.payload, in constant time.' } },
        },
      ],
    });
    const { app, gateway } = api();
    try {
      const started = await request(app)
        .post('/api/workflows')
        .send({
          task: 'debug',
          language: 'python',
          project: project('jwt'),
          description: 'verify() rejects every token that sign() issued, so nobody can log in.',
          files: { 'jwt_auth.py': buggy },
          error: traceback,
        })
        .expect(202);
      const { body } = await request(app)
        .get(`/api/workflows/${started.body.workflowId}/result?wait=150000`)
        .expect(200);
      const result = body.result as CodingJobResult;

      expect(result.outcome).toBe('succeeded');
      expect(result.iterations.map((i) => i.step)).toEqual(['input', 'write-tests', 'refactor']);
      const [reproduced, afterFix] = testRuns(result);
      // The reproducing test really failed against the user's code in the sandbox…
      expect(reproduced!.step).toBe('write-tests');
      expect(reproduced!.tests!.failed).toBeGreaterThan(0);
      expect(reproduced!.tests!.summary).toContain('signature mismatch');
      // …and every test passes after the fix.
      expect(afterFix!.step).toBe('refactor');
      expect(afterFix!.tests).toMatchObject({ passed: testCount(tests), failed: 0, errors: 0 });

      // The test came first, written from the user's error, and did not touch the code.
      const chats = model.chatRequests();
      const testIndex = chats.findIndex((r) => r.system.includes('test engineer'));
      const fixIndex = chats.findIndex((r) => r.system.includes('fixing code'));
      expect(testIndex).toBe(0);
      expect(fixIndex).toBeGreaterThan(testIndex);
      expect(chats[testIndex]!.user).toContain('Write a test that reproduces this error');
      expect(chats[testIndex]!.user).toContain('jwt_auth.InvalidToken: signature mismatch');
      // The fix prompt carries the real pytest failure and the blocking review finding.
      const fixPrompt = chats[fixIndex]!.user;
      expect(fixPrompt).toContain('Rewrite the file jwt_auth.py.');
      expect(fixPrompt).toMatch(/Failing tests:\n- [^\n]*test_a_token_from_sign_verifies[^\n]*signature mismatch/);
      expect(fixPrompt).toContain('computed over the payload segment only');
      // …and the error the user reported, so the fix aims at the bug and not only at the test.
      expect(fixPrompt).toContain(`The error the user reported:\n${traceback}`);
      expect(chats.filter((r) => r.system.includes('fixing code'))).toHaveLength(1);

      const { body: download } = await request(app).get(`/api/workflows/${started.body.workflowId}/files`).expect(200);
      expect(download.files['jwt_auth.py']).toBe(fixed);
      expect(download.files['test_jwt_auth.py']).toBe(tests);
    } finally {
      await gateway.close();
    }
  }, 180_000);

  it('(b) takes the stack trace a user pastes as context into the reproducing test and the fix', async () => {
    const buggy = fixture('jwt', 'jwt_auth_buggy.py');
    const stack = '  File "/srv/api/jwt_auth.py", line 53, in verify\njwt_auth.InvalidToken: signature mismatch';
    model.setScript({
      rules: [
        {
          match: 'test engineer',
          in: 'system',
          reply: {
            content: {
              files: [{ path: 'test_jwt_auth.py', content: fixture('jwt', 'test_jwt_auth.py') }],
              explanation: 'repro',
            },
          },
        },
        { match: 'code reviewer', in: 'system', reply: CLEAN_REVIEW },
        {
          match: 'fixing code',
          in: 'system',
          reply: { content: { content: fixture('jwt', 'jwt_auth_fixed.py'), explanation: 'sign header.payload' } },
        },
      ],
    });
    const { app, gateway } = api();
    try {
      const res = await request(app)
        .post('/api/coding/assist')
        .send({
          message: 'Fix the JWT check: our own tokens are rejected after login.',
          context: stack,
          files: { 'jwt_auth.py': buggy },
          project: project('jwt-assist'),
        })
        .expect(200);
      expect(res.body).toMatchObject({ task: 'debug', language: 'python', success: true });
      const chats = model.chatRequests();
      const reproduce = chats.find((r) => r.system.includes('test engineer'));
      expect(reproduce?.user).toMatch(/reproduces this error[\s\S]*jwt_auth\.InvalidToken: signature mismatch/);
      const fix = chats.find((r) => r.system.includes('fixing code'));
      expect(fix?.user).toContain('signature mismatch');
    } finally {
      await gateway.close();
    }
  }, 180_000);

  it('(c) adds type hints and docstrings across three files: ruff D rules block the gap, the refactor round closes it', async () => {
    const names = ['money.py', 'cart.py', 'discounts.py'];
    const before = Object.fromEntries(names.map((n) => [n, fixture('docs-before', n)]));
    const after = Object.fromEntries(names.map((n) => [n, fixture('docs-after', n)]));
    const userTests = fixture('docs-before', 'test_shop.py');
    model.setScript({
      rules: [
        { match: 'code reviewer', in: 'system', reply: CLEAN_REVIEW },
        {
          // The first answer documents money.py and cart.py, and forgets discounts.py.
          match: 'Add documentation without changing behaviour',
          in: 'system',
          reply: {
            content: {
              files: [
                { path: 'money.py', content: after['money.py'] },
                { path: 'cart.py', content: after['cart.py'] },
                { path: 'README.md', content: fixture('docs-after', 'README.md') },
              ],
              explanation: 'Docstrings and type hints for money and cart, and a README section.',
            },
          },
        },
      ],
    });
    // A refactor asks for one file per call; answer each with its documented version.
    model.respondWith((r) => {
      if (!r.system.includes('fixing code')) return undefined;
      const target = rewriteTarget(r.user);
      return target && after[target]
        ? { content: { content: after[target], explanation: `documented ${target}` } }
        : undefined;
    });
    const { app, gateway } = api();
    try {
      const res = await request(app)
        .post('/api/coding/assist')
        .send({
          message: 'Add type hints and docstrings to these three files.',
          files: { ...before, 'test_shop.py': userTests },
          project: project('docs'),
        })
        .expect(200);
      expect(res.body).toMatchObject({ task: 'document', language: 'python' });
      const { body } = await request(app).get(`/api/workflows/${res.body.workflowId}/result`).expect(200);
      const result = body.result as CodingJobResult;
      expect(result.outcome).toBe('succeeded');
      expect(result.iterations.map((i) => i.step)).toEqual(['generate', 'refactor']);

      // First round: the real ruff docs ruleset finds the undocumented file, and its D findings block.
      const first = result.iterations[0]!;
      const firstD = first.findings!.items!.filter((f) => f.source === 'ruff' && /^D\d/.test(ruleOf(f)));
      expect(firstD.length).toBeGreaterThan(0);
      expect(new Set(firstD.map((f) => f.file))).toEqual(new Set(['discounts.py']));
      expect(firstD.every((f) => f.blocking)).toBe(true);
      expect(firstD.map(ruleOf)).toEqual(expect.arrayContaining(['D100', 'D103']));
      // The same run reports the missing type hints (flake8-annotations).
      const firstAnn = first.findings!.items!.filter((f) => f.source === 'ruff' && ruleOf(f).startsWith('ANN'));
      expect(new Set(firstAnn.map((f) => f.file))).toEqual(new Set(['discounts.py']));

      // The user's tests are not asked for docstrings: the refactor never rewrites them, so they must not block.
      expect(first.findings!.items!.filter((f) => f.file === 'test_shop.py')).toEqual([]);
      const documentPrompt = model.chatRequests().find((r) => r.system.includes('Add documentation'));
      expect(documentPrompt?.system).toContain('type hints');

      // The refactor prompt for discounts.py carried ruff's D-rule findings.
      const fixes = model.chatRequests().filter((r) => r.system.includes('fixing code'));
      const discountsFix = fixes.find((r) => rewriteTarget(r.user) === 'discounts.py');
      expect(discountsFix?.user).toMatch(/discounts\.py:1 \[ruff\] D100: Missing docstring in public module/);
      expect(discountsFix?.user).toMatch(/discounts\.py:\d+ \[ruff\] D103: Missing docstring in public function/);

      // Final round: zero D and zero ANN findings, and the user's tests still pass (behaviour kept).
      const final = result.iterations[result.iterations.length - 1]!;
      const leftover = final.findings!.items!.filter((f) => f.source === 'ruff' && /^(D|ANN)\d/.test(ruleOf(f)));
      expect(leftover).toEqual([]);
      expect(final.findings!.blocking).toBe(0);
      expect(final.tests).toMatchObject({ passed: testCount(userTests), failed: 0, errors: 0 });

      const { body: download } = await request(app).get(`/api/workflows/${res.body.workflowId}/files`).expect(200);
      const files = download.files as Record<string, string>;
      for (const name of names) expect(files[name]).toBe(after[name]);
      expect(files['test_shop.py']).toBe(userTests);
      expect(files['README.md']).toContain('bulk_discount');
      // Independently of ruff: every function signature in the downloaded files is annotated.
      const signatures = names.flatMap((n) => [...files[n]!.matchAll(/^\s*def \w+\((.*)\)(.*):$/gm)]);
      expect(signatures.length).toBeGreaterThanOrEqual(8);
      for (const [line, params, returns] of signatures) {
        expect({ line, returns: /->/.test(returns!) }).toEqual({ line, returns: true });
        const untyped = params!
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p && p !== 'self' && !p.includes(':'));
        expect({ line, untyped }).toEqual({ line, untyped: [] });
      }
    } finally {
      await gateway.close();
    }
  }, 180_000);
});
