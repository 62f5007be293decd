import request from 'supertest';
import { artifactStore, type FileSetRef } from '../../activities/artifacts';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import { CALC, calcScript, fileFix } from '../support/calc-script';
import { maybeRecordHistory } from '../support/histories';
import { useJobStack } from '../support/job-stack';

const { FIXED, TESTS } = CALC;
const CLEAN_REVIEW = { findings: [], summary: 'Looks correct.' };

const stack = useJobStack();

function scriptBuggyThenFixed(): void {
  stack.model.reset();
  stack.model.setScript(calcScript());
}

describe('the coding lifecycle on real workers, a real sandbox and real linters', () => {
  it('runs the tests, sees the failure, sends it back in the refactor prompt, and finishes green', async () => {
    scriptBuggyThenFixed();
    const started = await request(stack.app)
      .post('/api/workflows')
      .send({ task: 'generate', language: 'python', description: `an add(a, b) function ${Date.now()}` })
      .expect(202);
    const res = await request(stack.app)
      .get(`/api/workflows/${started.body.workflowId}/result?wait=100000`)
      .expect(200);
    const result = res.body.result as CodingJobResult;

    expect(result.outcome).toBe('succeeded');
    const runs = result.iterations.filter((i) => i.tests);
    expect(runs).toHaveLength(2);
    expect(runs[0]!.tests).toMatchObject({ passed: 0, failed: 1 });
    expect(runs[0]!.tests!.summary).toContain('one plus two is three');
    expect(runs[1]!.tests).toMatchObject({ passed: 1, failed: 0 });
    expect(result.iterations.map((i) => i.step)).toEqual(['generate', 'write-tests', 'refactor']);

    const refactorPrompt = stack.model.chatRequests().find((r) => r.system.includes('fixing code'));
    expect(refactorPrompt?.user).toContain('Rewrite the file calc.py');
    expect(refactorPrompt?.user).toContain('one plus two is three');

    const files = await artifactStore().getFiles(result.files as FileSetRef);
    expect(files['calc.py']).toBe(FIXED);
    expect(files['test_calc.py']).toBe(TESTS);
    expect(result.usage.totalTokens).toBeGreaterThan(0);
    await maybeRecordHistory(stack.client, started.body.workflowId, 'coding-lifecycle', 'generate-buggy-then-fixed');
  });

  it('reviews user code without changing it, with real linter findings', async () => {
    stack.model.reset();
    stack.model.setScript({
      default: {
        content: {
          findings: [{ severity: 'minor', file: 'util.py', line: 1, message: 'unused import', suggestion: null }],
          summary: 'One nit.',
        },
      },
    });
    const started = await request(stack.app)
      .post('/api/workflows')
      .send({
        task: 'review',
        language: 'python',
        description: 'review util',
        files: { 'util.py': 'import os\n\n\ndef f():\n    return 1\n' },
      })
      .expect(202);
    const res = await request(stack.app).get(`/api/workflows/${started.body.workflowId}/result?wait=60000`).expect(200);
    const result = res.body.result as CodingJobResult;
    expect(result.outcome).toBe('succeeded');
    const findings = result.iterations[0]!.findings!;
    expect(findings.items!.some((f) => f.source === 'ruff' && f.message.startsWith('F401'))).toBe(true);
    expect(findings.items!.some((f) => f.source === 'review' && f.message.includes('unused import'))).toBe(true);
    expect(stack.model.chatRequests()).toHaveLength(1);
    await maybeRecordHistory(stack.client, started.body.workflowId, 'coding-lifecycle', 'review');
  });

  it('waits at the approval gate, takes requested changes through the API, then finishes on approval', async () => {
    scriptBuggyThenFixed();
    const started = await request(stack.app)
      .post('/api/workflows')
      .send({
        task: 'generate',
        language: 'python',
        description: `add with approval ${Date.now()}`,
        files: { 'calc.py': FIXED, 'test_calc.py': TESTS },
        options: { requireApproval: true },
      })
      .expect(202);
    const id = started.body.workflowId;
    const waitFor = async (phase: string) => {
      for (let i = 0; i < 200; i++) {
        const s = await request(stack.app).get(`/api/workflows/${id}`);
        if (s.body.phase === phase && s.body.awaitingApproval === (phase === 'AWAITING_APPROVAL')) return s.body;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`never reached ${phase}`);
    };
    await waitFor('AWAITING_APPROVAL');
    const bad = await request(stack.app)
      .post(`/api/workflows/${id}/request-changes`)
      .send({ feedback: '' })
      .expect(400);
    expect(bad.body.error.code).toBe('InvalidInput');
    await request(stack.app)
      .post(`/api/workflows/${id}/request-changes`)
      .send({ feedback: 'use operator.add' })
      .expect(200);
    await waitFor('AWAITING_APPROVAL');
    await request(stack.app).post(`/api/workflows/${id}/approve`).send({ comment: 'ship it' }).expect(200);
    const res = await request(stack.app).get(`/api/workflows/${id}/result?wait=60000`).expect(200);
    expect(res.body.result.outcome).toBe('succeeded');
    const withFeedback = stack.model
      .chatRequests()
      .filter((r) => r.system.includes('fixing code') && r.user.includes('Reviewer feedback:\nuse operator.add'));
    expect(withFeedback).toHaveLength(1);
    expect(res.body.result.iterations.some((i: { feedback?: string }) => i.feedback === 'use operator.add')).toBe(true);
    // Approving a finished job is a conflict, not a crash.
    const late = await request(stack.app).post(`/api/workflows/${id}/approve`).send({}).expect(409);
    expect(late.body.error.code).toBe('JobNotAwaitingApproval');
    await maybeRecordHistory(stack.client, id, 'coding-lifecycle', 'approval-with-changes');
  });

  it("recalls a verified earlier job of the same task into the next job's prompt, marked as reference, and names it in the result", async () => {
    scriptBuggyThenFixed();
    const project = `mem${Date.now()}`;
    const description = 'an add(a, b) function for the calculator';
    const first = await request(stack.app)
      .post('/api/workflows')
      .send({ task: 'generate', language: 'python', project, description })
      .expect(202);
    await request(stack.app).get(`/api/workflows/${first.body.workflowId}/result?wait=100000`).expect(200);
    stack.model.reset();
    scriptBuggyThenFixed();
    const second = await request(stack.app)
      .post('/api/workflows')
      .send({ task: 'generate', language: 'python', project, description: `${description}, with a docstring` })
      .expect(202);
    const res = await request(stack.app).get(`/api/workflows/${second.body.workflowId}/result?wait=100000`).expect(200);
    const prompt = stack.model.chatRequests().find((r) => !/test engineer|code reviewer|fixing code/.test(r.system));
    expect(prompt?.user).toContain('Code from earlier jobs (reference only');
    expect(prompt?.user).toMatch(/<reference>[\s\S]*return a \+ b[\s\S]*<\/reference>/);
    const memories = (res.body.result as CodingJobResult).memories ?? [];
    expect(memories.length).toBeGreaterThan(0);
    expect(memories.every((m) => m.score >= 0.5)).toBe(true);
    expect(memories.some((m) => m.jobId === first.body.workflowId)).toBe(true);
  });

  it('does not put an unrelated earlier job of the same project in front of the model', async () => {
    scriptBuggyThenFixed();
    const project = `leak${Date.now()}`;
    const first = await request(stack.app)
      .post('/api/workflows')
      .send({ task: 'generate', language: 'python', project, description: 'an add(a, b) function for the calculator' })
      .expect(202);
    expect(
      (await request(stack.app).get(`/api/workflows/${first.body.workflowId}/result?wait=100000`).expect(200)).body
        .result.outcome,
    ).toBe('succeeded');
    stack.model.reset();
    const wordCount = 'def word_count(text):\n    """Count the words."""\n    return len(text.split())\n';
    stack.model.setScript(
      calcScript({
        code: wordCount,
        tests: 'from calc import word_count\n\n\ndef test_two():\n    assert word_count("a b") == 2\n',
        fixes: fileFix(wordCount),
      }),
    );
    const second = await request(stack.app)
      .post('/api/workflows')
      .send({
        task: 'generate',
        language: 'python',
        project,
        description: 'a word_count(text) function that counts the words of a sentence',
        options: { maxIterations: 1 },
      })
      .expect(202);
    const res = await request(stack.app).get(`/api/workflows/${second.body.workflowId}/result?wait=100000`).expect(200);
    for (const r of stack.model.chatRequests()) {
      expect(r.user).not.toContain('return a + b');
      expect(r.user).not.toContain('return a - b');
      expect(r.user).not.toContain('<reference>');
    }
    expect((res.body.result as CodingJobResult).memories ?? []).toEqual([]);
  });

  it('rewrites a test it wrote itself when the review says the test is wrong, but never the tests a user brought', async () => {
    const WRONG_TEST =
      'from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 4, "one plus two is four?"\n';
    const wrongTestReview = {
      content: {
        findings: [
          {
            severity: 'blocking',
            file: 'test_calc.py',
            line: 5,
            message: 'the test expects 1 + 2 == 4',
            suggestion: 'expect 3',
          },
        ],
        summary: 'The code is right; the test is wrong.',
      },
    };
    const script = () => {
      stack.model.reset();
      stack.model.setScript({
        rules: [
          {
            match: 'test engineer',
            in: 'system',
            reply: { content: { files: [{ path: 'test_calc.py', content: WRONG_TEST }], explanation: 'pytest' } },
          },
          {
            match: 'Rewrite the file test_calc.py',
            in: 'user',
            reply: { content: { content: TESTS, explanation: '1 + 2 is 3' } },
          },
          { match: 'fixing code', in: 'system', reply: { content: { content: FIXED, explanation: 'unchanged' } } },
          // The review flags the wrong test for as long as it is there.
          { match: '/code reviewer[\\s\\S]*one plus two is four/', reply: wrongTestReview },
          { match: 'code reviewer', in: 'system', reply: { content: CLEAN_REVIEW } },
        ],
        default: { content: { files: [{ path: 'calc.py', content: FIXED }], explanation: 'add' } },
      });
    };

    // Its own test: the refactor rewrites it along with the code, and the job ends green.
    script();
    const own = await request(stack.app)
      .post('/api/workflows')
      .send({ task: 'generate', language: 'python', description: `add, own wrong test ${Date.now()}` })
      .expect(202);
    const ownResult = (
      await request(stack.app).get(`/api/workflows/${own.body.workflowId}/result?wait=60000`).expect(200)
    ).body.result as CodingJobResult;
    expect(ownResult.outcome).toBe('succeeded');
    const rewritten = stack.model
      .chatRequests()
      .map((r) => /^Rewrite the file (\S+)\./.exec(r.user)?.[1])
      .filter(Boolean);
    expect(rewritten.sort()).toEqual(['calc.py', 'test_calc.py']);
    const files = await artifactStore().getFiles(ownResult.files as FileSetRef);
    expect(files['test_calc.py']).toBe(TESTS);

    // The user's own test: the same finding never makes the job touch it; the job stops at its budget.
    script();
    const users = await request(stack.app)
      .post('/api/workflows')
      .send({
        task: 'generate',
        language: 'python',
        description: `add, user's test ${Date.now()}`,
        files: { 'test_calc.py': WRONG_TEST },
        options: { maxIterations: 1 },
      })
      .expect(202);
    const usersResult = (
      await request(stack.app).get(`/api/workflows/${users.body.workflowId}/result?wait=60000`).expect(200)
    ).body.result as CodingJobResult;
    expect(usersResult.outcome).toBe('budget-exhausted');
    expect(stack.model.chatRequests().some((r) => r.user.startsWith('Rewrite the file test_calc.py'))).toBe(false);
    expect((await artifactStore().getFiles(usersResult.files as FileSetRef))['test_calc.py']).toBe(WRONG_TEST);
  });
});
