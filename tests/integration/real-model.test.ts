import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import request from 'supertest';
import type { Express } from 'express';
import type { TemporalGateway } from '../../api/temporal-gateway';
import { artifactStore } from '../../activities/artifacts';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import { testApp } from '../support/api';
import { startLocalModel, type LocalModel } from '../support/local-model';
import { startWorkers, type RunningWorkers } from '../support/workers';

/**
 * One real job on a real local code model (Qwen2.5-Coder-0.5B on llama.cpp, what `npm start` serves
 * with SOPHIA_LOCAL_MODEL=0.5b), end to end through the API. It checks the mechanics a real model
 * stresses, not the model's cleverness: answers read and validated, tests written and run in the
 * sandbox, files that parse, the named function there, and a local model's cost of 0.
 */
let model: LocalModel;
let workers: RunningWorkers;
let app: Express;
let gateway: TemporalGateway;

beforeAll(async () => {
  model = await startLocalModel('0.5b');
  workers = await startWorkers(['workflows', 'llm', 'sandbox', 'memory'], {
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: undefined,
    OPENAI_MODEL: model.name,
    LLM_CONTEXT_TOKENS: String(model.contextPerSlot),
    LLM_TEMPERATURE: '0',
    OPENAI_TIMEOUT_MS: '600000',
    LLM_STALL_TIMEOUT_MS: '180000',
    LLM_PRICE_INPUT_PER_MTOK: undefined,
    LLM_PRICE_OUTPUT_PER_MTOK: undefined,
  });
  ({ app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: workers.prefix, API_WAIT_TIMEOUT_MS: 900_000 }));
}, 180_000);

afterAll(async () => {
  await gateway?.close();
  await workers?.stop();
  await model?.close();
});

describe('a real job on the local 0.5B code model', () => {
  it('generates a function, writes tests that run in the sandbox, and ends green on files that parse', async () => {
    const started = await request(app)
      .post('/api/workflows')
      .send({
        task: 'generate',
        language: 'python',
        description: 'an is_even(n) function that returns True when the integer n is even and False when it is odd',
        project: `real-model-${Date.now()}`,
        options: { maxIterations: 4 },
      })
      .expect(202);
    const res = await request(app).get(`/api/workflows/${started.body.workflowId}/result?wait=900000`).expect(200);
    const result = res.body.result as CodingJobResult;

    const files = await artifactStore().getFiles(result.files!);
    const paths = Object.keys(files);
    const tests = paths.filter((p) => /^test_.*\.py$/.test(path.basename(p)));
    const code = paths.filter((p) => p.endsWith('.py') && !tests.includes(p));
    expect(result.namedApi).toEqual(['is_even']);
    expect(tests.length).toBeGreaterThan(0);
    expect(code.some((p) => /^def is_even\(/m.test(files[p]!))).toBe(true);
    // Every file is Python that parses: no fences, no JSON, no prose left in it.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'real-model-'));
    for (const p of paths) {
      fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      fs.writeFileSync(path.join(dir, p), files[p]!);
    }
    const parsed = spawnSync(
      'python3',
      ['-c', 'import ast,sys\nfor p in sys.argv[1:]: ast.parse(open(p).read(), p)', ...paths],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    expect(parsed.stderr).toBe('');
    // The tests really ran in the sandbox, and the job is green.
    const lastRun = result.iterations.filter((i) => i.tests).pop()?.tests;
    expect(lastRun?.passed).toBeGreaterThan(0);
    expect(result.outcome).toBe('succeeded');
    // A model on this machine costs nothing, and says so.
    expect(result.usage.costUsd).toBe(0);
    expect(result.usage.pricing).toBe('local');
    expect(result.usage.totalTokens).toBeGreaterThan(0);
  }, 900_000);
});
