import request from 'supertest';
import { register } from 'prom-client';
import { useJobStack } from '../support/job-stack';

const BUGGY = 'import os\n\n\ndef add(a, b):\n    """Add two numbers."""\n    return a - b\n';
const FIXED = 'def add(a, b):\n    """Add two numbers."""\n    return a + b\n';
const TESTS =
  'from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n';

const stack = useJobStack();

/** The current value of one series of a counter on the workers' registry (the workers run in this process). */
async function value(name: string, labels: Record<string, string>): Promise<number> {
  const metric = register.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) =>
      Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want),
    )
    .filter((v) => !('metricName' in v) || v.metricName === name || v.metricName === `${name}_count`)
    .reduce((sum, v) => sum + v.value, 0);
}

describe('activity metrics', () => {
  it('count model calls with their tokens, sandbox runs, test cases and findings of a real job', async () => {
    const { model, app } = stack;
    model.reset();
    model.setScript({
      rules: [
        {
          match: 'test engineer',
          in: 'system',
          reply: {
            content: { files: [{ path: 'test_calc.py', content: TESTS }], explanation: 'tests' },
            usage: { promptTokens: 100, completionTokens: 40 },
          },
        },
        {
          match: 'code reviewer',
          in: 'system',
          reply: { content: { findings: [], summary: 'ok' }, usage: { promptTokens: 50, completionTokens: 10 } },
        },
        {
          match: 'fixing code',
          in: 'system',
          reply: {
            content: { content: FIXED, explanation: 'plus' },
            usage: { promptTokens: 70, completionTokens: 30 },
          },
        },
      ],
      default: {
        content: { files: [{ path: 'calc.py', content: BUGGY }], explanation: 'first' },
        usage: { promptTokens: 80, completionTokens: 20 },
      },
    });
    const series = {
      generate: ['sophia_llm_calls_total', { purpose: 'generate', outcome: 'ok' }],
      review: ['sophia_llm_calls_total', { purpose: 'review', outcome: 'ok' }],
      promptTokens: ['sophia_llm_tokens_total', { kind: 'prompt' }],
      completionTokens: ['sophia_llm_tokens_total', { kind: 'completion' }],
      runsFailing: ['sophia_sandbox_runs_total', { driver: 'bwrap', outcome: 'exit-nonzero' }],
      runsGreen: ['sophia_sandbox_runs_total', { driver: 'bwrap', outcome: 'exit-0' }],
      passed: ['sophia_test_cases_total', { language: 'python', result: 'passed' }],
      failed: ['sophia_test_cases_total', { language: 'python', result: 'failed' }],
      unusedImport: ['sophia_analysis_findings_total', { tool: 'ruff' }],
    } as const;
    const read = async () =>
      Object.fromEntries(
        await Promise.all(
          Object.entries(series).map(async ([k, [name, labels]]) => [k, await value(name, labels)] as const),
        ),
      );
    const before = await read();

    const started = await request(app)
      .post('/api/workflows')
      .send({ task: 'generate', language: 'python', description: `metrics ${Date.now()}` })
      .expect(202);
    const res = await request(app).get(`/api/workflows/${started.body.workflowId}/result?wait=60000`).expect(200);
    expect(res.body.result.outcome).toBe('succeeded');

    const after = await read();
    const delta = Object.fromEntries(Object.keys(series).map((k) => [k, after[k]! - before[k]!]));
    // generate, tests, review ×2, one refactor of calc.py: 80+100+50+50+70 prompt tokens, 20+40+10+10+30 completion.
    expect(delta).toEqual({
      generate: 1,
      review: 2,
      promptTokens: 350,
      completionTokens: 110,
      // pytest fails once, then passes; ruff runs in the sandbox too, once per review, and exits 0.
      runsFailing: 1,
      runsGreen: 3,
      // The first run: test_add fails, test_zero passes (0 - 0 == 0); the second: both pass.
      passed: 3,
      failed: 1,
      // `import os` is unused in the first version only.
      unusedImport: 1,
    });
    const text = await register.metrics();
    expect(text).toMatch(/^sophia_llm_call_duration_seconds_count\{purpose="refactor",outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^sophia_sandbox_run_duration_seconds_count\{driver="bwrap"\} [1-9]/m);
  });
});
