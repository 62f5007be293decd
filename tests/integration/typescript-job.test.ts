import request from 'supertest';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import { useJobStack } from '../support/job-stack';

// An off-by-one in a TypeScript pager: the last page is lost.
const BUGGY =
  'export function pageCount(items: number, perPage: number): number {\n  return Math.floor(items / perPage);\n}\n';
const FIXED =
  'export function pageCount(items: number, perPage: number): number {\n  return Math.ceil(items / perPage);\n}\n';
const TESTS = [
  "import { test } from 'node:test';",
  "import assert from 'node:assert/strict';",
  "import { pageCount } from '../src/pager';",
  '',
  "test('a partial last page counts', () => {",
  "  assert.equal(pageCount(11, 5), 3, 'eleven items at five per page make three pages');",
  '});',
  '',
  "test('exact pages', () => {",
  '  assert.equal(pageCount(10, 5), 2);',
  '});',
  '',
].join('\n');

const stack = useJobStack();

/** A generate job for a pager whose task states two examples; its result and final files. */
async function pagerJobWithExamples(): Promise<{ result: CodingJobResult; files: Record<string, string> }> {
  const started = await request(stack.app)
    .post('/api/workflows')
    .send({
      task: 'generate',
      language: 'typescript',
      description: `a pageCount(items, perPage) function ${Date.now()}: pageCount(11, 5) === 3, pageCount(10, 5) === 2`,
    })
    .expect(202);
  const id = started.body.workflowId as string;
  const res = await request(stack.app).get(`/api/workflows/${id}/result?wait=90000`).expect(200);
  const files = (await request(stack.app).get(`/api/workflows/${id}/files`).expect(200)).body.files;
  return { result: res.body.result as CodingJobResult, files: files as Record<string, string> };
}

describe('a TypeScript job', () => {
  it('runs the generated node:test tests through tsx in the sandbox, fixes the failing one, and lints with ESLint', async () => {
    const { model, app } = stack;
    model.reset();
    model.setScript({
      rules: [
        {
          match: 'test engineer',
          in: 'system',
          reply: { content: { files: [{ path: 'test/pager.test.ts', content: TESTS }], explanation: 'node:test' } },
        },
        { match: 'code reviewer', in: 'system', reply: { content: { findings: [], summary: 'Fine.' } } },
        { match: 'fixing code', in: 'system', reply: { content: { content: FIXED, explanation: 'ceil, not floor' } } },
      ],
      default: { content: { files: [{ path: 'src/pager.ts', content: BUGGY }], explanation: 'pager' } },
    });
    const started = await request(app)
      .post('/api/workflows')
      .send({
        task: 'generate',
        language: 'typescript',
        description: `a pageCount(items, perPage) function ${Date.now()}`,
      })
      .expect(202);
    const res = await request(app).get(`/api/workflows/${started.body.workflowId}/result?wait=90000`).expect(200);
    const result = res.body.result as CodingJobResult;

    expect(result.outcome).toBe('succeeded');
    const runs = result.iterations.filter((i) => i.tests).map((i) => i.tests!);
    expect(runs.map((t) => [t.passed, t.failed])).toEqual([
      [1, 1],
      [2, 0],
    ]);
    expect(runs[0]!.summary).toContain('eleven items at five per page make three pages');
    expect(result.iterations.find((i) => i.findings)!.findings!.summary).toMatch(/eslint/);
    // Only the source file is rewritten; the failing assertion reached the fix prompt.
    const fixes = model.chatRequests().filter((r) => r.system.includes('fixing code'));
    expect(fixes).toHaveLength(1);
    expect(fixes[0]!.user).toContain('Rewrite the file src/pager.ts');
    expect(fixes[0]!.user).toContain('eleven items at five per page make three pages');
    const files = (await request(app).get(`/api/workflows/${started.body.workflowId}/files`).expect(200)).body
      .files as Record<string, string>;
    expect(files).toEqual({ 'src/pager.ts': FIXED, 'test/pager.test.ts': TESTS });
  });

  it.each([
    ["node's runner", TESTS, 'node:test'],
    ['jest', TESTS.replace("from 'node:test'", "from '@jest/globals'"), '@jest/globals'],
  ])(
    "checks each draft against the task's examples in the sandbox, and goes on with the draft that passes them (%s)",
    async (_runner, tests, runnerModule) => {
      const { model } = stack;
      model.reset();
      const draft = (content: string) => ({
        content: { files: [{ path: 'src/pager.ts', content }], explanation: 'pager' },
      });
      model.setScript({
        rules: [
          {
            match: 'test engineer',
            in: 'system',
            reply: { content: { files: [{ path: 'test/pager.test.ts', content: tests }], explanation: 'tests' } },
          },
          { match: 'code reviewer', in: 'system', reply: { content: { findings: [], summary: 'Fine.' } } },
          { match: 'Write only the code, not tests', in: 'system', reply: [draft(BUGGY), draft(FIXED)] },
        ],
      });
      const { result, files } = await pagerJobWithExamples();

      expect(result.outcome).toBe('succeeded');
      expect(result.iterations.map((i) => i.step).slice(0, 3)).toEqual(['generate', 'generate', 'write-tests']);
      // The first draft's examples ran in the sandbox (under node's runner: no tests are written yet): one right, one wrong.
      expect(result.iterations[0]!.tests).toMatchObject({ passed: 1, failed: 1 });
      expect(result.iterations[1]!.tests).toMatchObject({ passed: 2, failed: 0 });
      const drafts = model.chatRequests().filter((r) => r.system.includes('Write only the code, not tests'));
      expect(drafts).toHaveLength(2);
      expect(drafts[1]!.user).toContain("pageCount(11, 5) returned 2; the task's example says 3");
      // The examples file stays beside the model's tests, is written for their runner, runs with them,
      // and is clean by ESLint.
      const last = result.iterations.filter((i) => i.tests).pop()!;
      expect(last.tests).toMatchObject({ passed: 4, failed: 0, errors: 0 });
      const lint = result.iterations.find((i) => i.findings)!.findings!;
      expect(lint.summary).toMatch(/eslint/);
      expect(JSON.stringify(lint)).not.toContain('pager.examples.test.ts');
      expect(files['src/pager.ts']).toBe(FIXED);
      expect(files['src/pager.examples.test.ts']).toContain("import { pageCount } from './pager';");
      expect(files['src/pager.examples.test.ts']).toContain('test_pager_examples::test_example_2');
      expect(files['src/pager.examples.test.ts']).toContain(`import { test } from '${runnerModule}';`);
    },
  );

  it("drops a wrong job-written test without a model call when the task's own examples all pass", async () => {
    const { model } = stack;
    model.reset();
    const wrong = TESTS.replace(
      "test('exact pages', () => {\n  assert.equal(pageCount(10, 5), 2);",
      'test(\'exact pages for "10, 5"\', () => {\n  assert.equal(pageCount(10, 5), 3);',
    );
    expect(wrong).not.toBe(TESTS);
    model.setScript({
      rules: [
        {
          match: 'test engineer',
          in: 'system',
          reply: { content: { files: [{ path: 'test/pager.test.ts', content: wrong }], explanation: 'tests' } },
        },
        {
          // The model blames the code; the task's examples, which the code passes, say otherwise.
          match: '/code reviewer[\\s\\S]*Failing tests:/',
          reply: { content: { findings: [], failingTests: 'code', summary: 'pageCount is wrong.' } },
        },
        { match: 'code reviewer', in: 'system', reply: { content: { findings: [], summary: 'Fine.' } } },
      ],
      default: { content: { files: [{ path: 'src/pager.ts', content: FIXED }], explanation: 'pager' } },
    });
    const { result, files } = await pagerJobWithExamples();

    expect(result.outcome).toBe('succeeded');
    expect(model.chatRequests().some((r) => r.user.startsWith('Rewrite the file'))).toBe(false);
    expect(files['src/pager.ts']).toBe(FIXED);
    expect(files['test/pager.test.ts']).toContain("test('a partial last page counts'");
    expect(files['test/pager.test.ts']).not.toContain('exact pages');
    expect(result.iterations.filter((i) => i.tests).pop()!.tests).toMatchObject({ passed: 3, failed: 0, errors: 0 });
  });
});
