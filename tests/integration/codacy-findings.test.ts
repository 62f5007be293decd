import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import request from 'supertest';
import { artifactStore } from '../../activities/artifacts';
import {
  fetchCodacyFindings,
  type FetchCodacyFindingsInput,
  type FetchCodacyFindingsResult,
} from '../../activities/codacy';
import type { Finding } from '../../activities/analysis';
import { resetConfig } from '../../common/config';
import { taskQueues } from '../../temporal/task-queues';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import {
  SCHEDULED_REVIEW_WORKFLOW_TYPE,
  type ScheduledReviewResult,
} from '../../workflows/scheduled-review/definitions';
import type { scheduledReviewWorkflow } from '../../workflows/scheduled-review/workflow';
import { CODACY_COMMIT, CODACY_TOKEN, startFakeCodacy, type FakeCodacy } from '../support/codacy-server';
import { maybeRecordHistory } from '../support/histories';
import { useJobStack } from '../support/job-stack';

/**
 * Codacy's findings come from the llm pool (the one that holds the token), and only for the revision
 * Codacy analysed. Codacy is the recorded fake on a real local HTTP server; everything else is real.
 */

let fake: FakeCodacy;
const env: Record<string, string> = {};
beforeAll(async () => {
  fake = await startFakeCodacy();
  Object.assign(env, { CODACY_API_TOKEN: CODACY_TOKEN, CODACY_BASE_URL: fake.baseUrl });
});
afterAll(async () => {
  await fake?.close();
});
const stack = useJobStack({ env });

beforeEach(() => {
  fake.requests.length = 0;
  fake.failNext([]);
  fake.setLastAnalysed(CODACY_COMMIT);
});

const WIDGETS = { provider: 'gh', organization: 'acme', repository: 'widgets' };
const CALC = 'import os\n\n\ndef total(values):\n    return sum(values)\n';

describe('fetchCodacyFindings', () => {
  const input: FetchCodacyFindingsInput = {
    repository: { ...WIDGETS, branch: 'main' },
    revision: CODACY_COMMIT,
    language: 'python',
    files: ['calc.py'],
  };

  it('keeps the issues on the reviewed files when Codacy analysed this very revision, heartbeating per request', async () => {
    const activity = new MockActivityEnvironment();
    const beats: unknown[] = [];
    activity.on('heartbeat', (d: unknown) => beats.push(d));
    const result = (await activity.run(fetchCodacyFindings, input)) as FetchCodacyFindingsResult;
    expect(result).toMatchObject({ analysed: true, analysedRevision: CODACY_COMMIT, count: 2 });
    const findings = JSON.parse(await artifactStore().getText(result.report!)) as Finding[];
    // other/legacy.py is not among the reviewed files.
    expect(findings.map((f) => `${f.file}:${f.line}:${f.rule}`)).toEqual([
      'calc.py:1:PyLint_W0611',
      'calc.py:7:Bandit_B307',
    ]);
    expect(fake.requests[0]).toMatchObject({ method: 'GET', query: { branch: 'main' } });
    expect(fake.requests[1]?.body).toEqual({ branchName: 'main', languages: ['Python'] });
    expect(beats).toHaveLength(fake.requests.length);
  });

  it('adds nothing when Codacy last analysed another revision, and does not even ask for its issues', async () => {
    fake.setLastAnalysed('0'.repeat(40));
    const result = (await new MockActivityEnvironment().run(fetchCodacyFindings, input)) as FetchCodacyFindingsResult;
    expect(result).toMatchObject({ analysed: false, count: 0, analysedRevision: '0'.repeat(40) });
    expect(result.report).toBeUndefined();
    expect(result.summary).toContain('not 4f1c0de2b9a8');
    expect(fake.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('fails typed, not retried, where this pool has no Codacy token', async () => {
    const saved = process.env.CODACY_API_TOKEN;
    delete process.env.CODACY_API_TOKEN;
    resetConfig();
    try {
      await expect(new MockActivityEnvironment().run(fetchCodacyFindings, input)).rejects.toMatchObject({
        type: 'CodacyConfig',
        nonRetryable: true,
      });
      expect(fake.requests).toEqual([]);
    } finally {
      process.env.CODACY_API_TOKEN = saved;
      resetConfig();
    }
  });
});

describe('Codacy in the workflows', () => {
  it("adds Codacy's findings to a review of a committed revision, fetched through the llm pool after a 503", async () => {
    stack.model.reset();
    stack.model.setScript({ default: { content: { findings: [], summary: 'Fine.' } } });
    // One retry by the remote retry policy, not a loop inside the activity.
    fake.failNext([503]);
    const started = await request(stack.app)
      .post('/api/workflows')
      .send({
        task: 'review',
        language: 'python',
        description: 'review calc',
        files: { 'calc.py': CALC },
        codacy: { repository: WIDGETS, revision: CODACY_COMMIT },
      })
      .expect(202);
    const res = await request(stack.app).get(`/api/workflows/${started.body.workflowId}/result?wait=60000`).expect(200);
    const result = res.body.result as CodingJobResult;
    const items = result.iterations[0]!.findings!.items!;
    expect(items.filter((f) => f.source.startsWith('codacy/')).map((f) => `${f.file}:${f.line}`)).toEqual([
      'calc.py:1',
      'calc.py:7',
    ]);
    expect(fake.requests.filter((r) => r.method === 'GET')).toHaveLength(2);
    await maybeRecordHistory(stack.client, started.body.workflowId, 'coding-lifecycle', 'review-with-codacy');
  });

  it('refuses Codacy on a job that writes code: Codacy never saw that code', async () => {
    const res = await request(stack.app)
      .post('/api/workflows')
      .send({
        task: 'generate',
        description: 'a total function',
        codacy: { repository: WIDGETS, revision: CODACY_COMMIT },
      })
      .expect(400);
    expect(JSON.stringify(res.body)).toContain('codacy');
    expect(fake.requests).toEqual([]);
  });

  it("reviews a clean git work tree with Codacy's findings of its commit, and a changed one without them", async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-codacy-repo-'));
    try {
      fs.writeFileSync(path.join(repo, 'calc.py'), CALC);
      const git = (...args: string[]) =>
        execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' });
      git('init', '-q');
      git('add', '.');
      git('commit', '-qm', 'calc');
      const head = git('rev-parse', 'HEAD').trim();
      fake.setLastAnalysed(head);
      const review = (id: string) =>
        stack.client.workflow.execute<typeof scheduledReviewWorkflow>(SCHEDULED_REVIEW_WORKFLOW_TYPE, {
          workflowId: `${id}-${stack.workers.prefix}`,
          taskQueue: taskQueues(stack.workers.prefix).workflows,
          args: [{ repositoryPath: repo, language: 'python', codacy: { ...WIDGETS, branch: 'main' } }],
        });

      const clean: ScheduledReviewResult = await review('codacy-clean');
      expect(clean.codacy).toMatchObject({ analysed: true });
      expect(clean.findings.tools).toContain('codacy');
      expect(clean.comparison.new.filter((f) => f.tool.startsWith('codacy/')).map((f) => f.rule)).toEqual([
        'PyLint_W0611',
        'Bandit_B307',
      ]);
      await maybeRecordHistory(
        stack.client,
        `codacy-clean-${stack.workers.prefix}`,
        'scheduled-review',
        'codacy-analysed-revision',
      );

      fake.requests.length = 0;
      fs.writeFileSync(path.join(repo, 'calc.py'), `${CALC}\n# changed\n`);
      const changed: ScheduledReviewResult = await review('codacy-changed');
      expect(changed.codacy).toMatchObject({ analysed: false });
      expect(changed.findings.tools).not.toContain('codacy');
      expect(fake.requests).toEqual([]);
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });
});
