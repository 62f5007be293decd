import request from 'supertest';
import type { Client } from '@temporalio/client';
import { artifactStore, type FileSetRef } from '../../activities/artifacts';
import { testApp } from '../support/api';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server';
import { maybeRecordHistory } from '../support/histories';
import { testClient } from '../support/temporal';
import { startWorkers, type RunningWorkers } from '../support/workers';

const answer = {
  files: [{ path: 'slug.py', content: 'def slugify(text):\n    return "-".join(text.lower().split())\n' }],
  explanation: 'Lower-cases and joins words with dashes.',
};

let model: ScriptedModelServer;
let workers: RunningWorkers;
let client: Client;

const TESTS = 'from slug import slugify\n\n\ndef test_slugify():\n    assert slugify("Hello World") == "hello-world"\n';
const script = {
  rules: [
    {
      match: 'test engineer',
      in: 'system' as const,
      reply: { content: { files: [{ path: 'test_slug.py', content: TESTS }], explanation: 'tests' } },
    },
    { match: 'code reviewer', in: 'system' as const, reply: { content: { findings: [], summary: 'fine' } } },
  ],
  default: { content: answer, usage: { promptTokens: 120, completionTokens: 40 } },
};
/** The requests of the generation step (not the tests or the review). */
const generateRequests = () => model.chatRequests().filter((r) => !/test engineer|code reviewer/.test(r.system));

beforeAll(async () => {
  model = await startScriptedModelServer(script);
  workers = await startWorkers(['workflows', 'llm', 'sandbox', 'memory'], {
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: 'test-key',
    OPENAI_MODEL: 'scripted-model',
  });
  client = await testClient();
});

afterAll(async () => {
  await workers.stop();
  await model.close();
  await client.connection.close();
});

beforeEach(() => {
  model.reset();
  model.setScript(script);
});

async function resultOf(app: ReturnType<typeof testApp>['app'], workflowId: string) {
  return request(app).get(`/api/workflows/${workflowId}/result?wait=60000`);
}

describe('a generate job, end to end through the API, real workers and a real Temporal', () => {
  it("completes with the model's files stored as artifacts and references in the result", async () => {
    const { app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: workers.prefix });
    const started = await request(app)
      .post('/api/workflows')
      .send({
        task: 'generate',
        language: 'python',
        description: 'a slugify(text) function',
        requirements: ['pure function'],
        files: { 'README.md': '# slugs\n' },
      })
      .expect(202);
    const res = await resultOf(app, started.body.workflowId);
    expect(res.status).toBe(200);
    const result = res.body.result;
    expect(result.outcome).toBe('succeeded');
    expect(result.explanation).toContain(answer.explanation);
    const files = await artifactStore().getFiles(result.files as FileSetRef);
    expect(files['slug.py']).toBe(answer.files[0]!.content);
    expect(files['README.md']).toBe('# slugs\n');
    expect(files['test_slug.py']).toBe(TESTS);
    expect(result.iterations.find((i: { tests?: unknown }) => i.tests).tests).toMatchObject({ passed: 1, failed: 0 });
    expect(result.usage.promptTokens).toBeGreaterThanOrEqual(120);

    // The model was sent the task, the requirements and the user's files, and asked for code as code
    // blocks under their paths (a JSON answer, as here, is read too), with the named function spelt out.
    const sent = generateRequests();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.user).toContain('a slugify(text) function');
    expect(sent[0]!.user).toContain('pure function');
    expect(sent[0]!.user).toContain('# slugs');
    expect(sent[0]!.body.response_format).toBeUndefined();
    expect(sent[0]!.system).toContain(
      "each file as one Markdown code block, the file's path alone on the line before it",
    );
    expect(sent[0]!.system).toContain('The task names `slugify`');
    expect(result.namedApi).toEqual(['slugify']);

    // History carries references, not code.
    const history = JSON.stringify((await client.workflow.getHandle(started.body.workflowId).fetchHistory()).events);
    expect(history).not.toContain('return \\"-\\".join');

    const status = await request(app).get(`/api/workflows/${started.body.workflowId}`).expect(200);
    expect(status.body).toMatchObject({ status: 'COMPLETED', phase: 'DONE', outcome: 'succeeded' });
    await gateway.close();
  });

  it('is found by a workflow list query on its search attributes once done', async () => {
    const { app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: workers.prefix });
    const project = `p${Date.now()}`;
    const started = await request(app)
      .post('/api/workflows')
      .send({ task: 'generate', description: 'x', project })
      .expect(202);
    await resultOf(app, started.body.workflowId);
    let found: string[] = [];
    for (let i = 0; i < 50 && found.length === 0; i++) {
      found = [];
      const query = `SophiaProject = '${project}' AND SophiaPhase = 'DONE' AND SophiaOutcome = 'succeeded'`;
      for await (const wf of client.workflow.list({ query })) found.push(wf.workflowId);
      if (found.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(found).toEqual([started.body.workflowId]);
    await gateway.close();
  });

  it('retries a 429 after its retry-after and then completes', async () => {
    const { app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: workers.prefix });
    model.enqueue({ fault: 'rate-limit', retryAfterSeconds: 1 }, { fault: 'server-error' });
    const started = await request(app)
      .post('/api/workflows')
      .send({ task: 'generate', description: `a fresh prompt ${Date.now()}` })
      .expect(202);
    const res = await resultOf(app, started.body.workflowId);
    expect(res.body.result.outcome).toBe('succeeded');
    expect(generateRequests()).toHaveLength(3);
    await gateway.close();
  });

  it('fails fast with a typed ModelConfig failure when no model is configured', async () => {
    const noModel = await startWorkers(['workflows', 'llm', 'sandbox', 'memory'], {
      OPENAI_BASE_URL: undefined,
      OPENAI_API_KEY: undefined,
    });
    try {
      const { app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: noModel.prefix });
      const started = await request(app)
        .post('/api/workflows')
        .send({ task: 'generate', description: 'x' })
        .expect(202);
      const res = await resultOf(app, started.body.workflowId);
      expect(res.status).toBe(424);
      expect(res.body.error.code).toBe('ModelConfig');
      expect(res.body.error.message).toMatch(/OPENAI_BASE_URL/);
      const status = await request(app).get(`/api/workflows/${started.body.workflowId}`).expect(200);
      expect(status.body).toMatchObject({ status: 'FAILED', phase: 'FAILED', outcome: 'failed' });
      // One attempt only: a permanent failure is not retried.
      const history = await client.workflow.getHandle(started.body.workflowId).fetchHistory();
      const scheduled = history.events?.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'generateCode',
      );
      const attempts = history.events
        ?.filter((e) => e.activityTaskStartedEventAttributes)
        .map((e) => e.activityTaskStartedEventAttributes!.attempt);
      expect(scheduled).toHaveLength(1);
      expect(attempts?.every((a) => a === 1)).toBe(true);
      await maybeRecordHistory(client, started.body.workflowId, 'coding-lifecycle', 'no-model-configured');
      await gateway.close();
    } finally {
      await noModel.stop();
      process.env.OPENAI_BASE_URL = model.url;
      process.env.OPENAI_API_KEY = 'test-key';
    }
  });
});
