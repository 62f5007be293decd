import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import type { ScheduledReviewResult } from '../../workflows/scheduled-review/definitions';
import { CALC, calcScript, fileFix } from '../support/calc-script';
import { gitSync, startGitServer, type GitServer } from '../support/git-server';
import { startFakeGithub, type FakeGithub } from '../support/github-server';
import { maybeRecordHistory } from '../support/histories';
import { useJobStack } from '../support/job-stack';

/**
 * Git-native jobs end to end: real workers, the real API, a real git server (`git daemon` with
 * receive-pack on loopback), the scripted model, and GitHub's REST API answered from its documented
 * shapes. A refactor job on a git:// repository ends with a pushed branch, a clean patch and a pull
 * request; a scheduled review follows new commits and skips an unmoved head.
 */

let server: GitServer;
let github: FakeGithub;
let dir: string;

// Runs before the job stack's own beforeAll (declaration order), so its workers read these.
beforeAll(async () => {
  server = await startGitServer();
  github = await startFakeGithub();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-git-jobs-'));
  const credentials = path.join(dir, 'credentials.json');
  fs.writeFileSync(credentials, JSON.stringify({ tenants: { local: { github: { token: github.token } } } }));
  Object.assign(process.env, {
    SOPHIA_GIT_CREDENTIALS_FILE: credentials,
    GITHUB_API_URL: github.baseUrl,
    SOPHIA_REPO_ROOTS: server.root,
    SOPHIA_GIT_CACHE_DIR: path.join(dir, 'cache'),
  });
});

const stack = useJobStack();

afterAll(async () => {
  await server.close();
  await github.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('jobs and reviews on git repositories', () => {
  it('ends a refactor job on a git:// repository with a pushed branch, a clean patch and one pull request', async () => {
    const base = server.createRepository('acme/widgets', {
      'src/calc.py': CALC.BUGGY,
      'src/test_calc.py': CALC.TESTS,
      'README.md': '# widgets\n',
    });
    stack.model.reset();
    stack.model.setScript(calcScript({ fixes: fileFix(CALC.FIXED, 'add, not subtract') }));
    const started = await request(stack.app)
      .post('/api/workflows')
      .send({
        task: 'refactor',
        language: 'python',
        description: 'make add(a, b) add',
        repository: { url: server.url('acme/widgets'), path: 'src', forge: 'github' },
        options: { pullRequest: true },
        requestId: `git-refactor-${Date.now()}`,
      })
      .expect(202);
    const id = started.body.workflowId as string;
    const res = await request(stack.app).get(`/api/workflows/${id}/result?wait=100000`).expect(200);
    const result = res.body.result as CodingJobResult;
    expect(result.outcome).toBe('succeeded');
    const git = result.git!;
    expect(git).toMatchObject({ base, branch: `sophia/${id}`, pushed: true, pullRequest: { number: 7 } });
    expect(git.commits).toHaveLength(1);
    // The branch is on the server at the job's head, one commit on top of the base, authored as the service.
    expect(server.branchHead('acme/widgets', git.branch)).toBe(git.head);
    expect(gitSync(['rev-list', `${base}..${git.head}`], server.dir('acme/widgets')).split('\n')).toEqual([git.head]);
    expect(gitSync(['log', '-1', '--format=%an|%s', git.head], server.dir('acme/widgets'))).toMatch(
      /^Sophia Code\|Sophia: refactor round 1/,
    );

    // The patch, as the API and the CLI hand it out, applies cleanly at the base.
    const patch = await request(stack.app).get(`/api/workflows/${id}/patch`).expect(200);
    expect(patch.body).toMatchObject({ base, head: git.head, branch: git.branch, pushed: true });
    const raw = await request(stack.app).get(`/api/workflows/${id}/patch`).set('accept', 'text/x-diff').expect(200);
    expect(raw.text).toBe(patch.body.patch);
    expect(raw.text).toContain('+++ b/src/calc.py');
    const clone = path.join(dir, 'apply');
    gitSync(['clone', '--quiet', server.dir('acme/widgets'), clone]);
    gitSync(['checkout', '--quiet', base], clone);
    fs.writeFileSync(path.join(dir, 'job.patch'), raw.text);
    gitSync(['apply', '--check', path.join(dir, 'job.patch')], clone);

    // One pull request from the branch, whose body is the job's summary.
    expect(github.pulls).toHaveLength(1);
    expect(github.pulls[0]).toMatchObject({ head: git.branch, base: 'main' });
    expect(github.pulls[0]!.body).toContain('| outcome | succeeded');
    expect(github.pulls[0]!.body).toContain('1 passed');
    await maybeRecordHistory(stack.client, id, 'coding-lifecycle', 'refactor-on-git-pushed-with-pull-request');

    // A job on a repository without one answers NoPatch; one with files has none either.
    const other = await request(stack.app).get(`/api/workflows/${id.replace('git-refactor', 'nope')}/patch`);
    expect(other.status).toBe(404);
  });

  it('reviews a pull request head and posts the review back once, as the webhook asks', async () => {
    server.createRepository('reviews/acme/widgets', { 'calc.py': CALC.FIXED, 'test_calc.py': CALC.TESTS });
    // GitHub serves a pull request's head as refs/pull/<n>/head; here the branch stands in for it.
    server.pushCommit('reviews/acme/widgets', { 'calc.py': `import os\n${CALC.FIXED}` }, 'PR change', 'main');
    stack.model.reset();
    stack.model.setScript(calcScript());
    const before = github.comments.length;
    const started = await request(stack.app)
      .post('/api/workflows')
      .send({
        task: 'review',
        language: 'python',
        description: 'Review pull request #7',
        repository: { url: server.url('reviews/acme/widgets'), ref: 'main', forge: 'github' },
        options: { commentOn: 7 },
      })
      .expect(202);
    const res = await request(stack.app).get(`/api/workflows/${started.body.workflowId}/result?wait=100000`);
    expect(res.status).toBe(200);
    const result = res.body.result as CodingJobResult;
    expect(result.outcome).toBe('succeeded');
    // A review changes nothing: no commit, an empty patch, nothing pushed.
    expect(result.git!.commits).toEqual([]);
    expect(result.git!.pushed).toBeUndefined();
    expect(result.git!.head).toBe(result.git!.base);
    const posted = github.comments.slice(before);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({ issue: 7 });
    expect(posted[0]!.body).toContain('**review**');
    expect(posted[0]!.body).toContain(`<!-- sophia-code:${started.body.workflowId} -->`);
  });

  it('refuses a repository with credentials in its URL, and a file:// one outside SOPHIA_REPO_ROOTS', async () => {
    const bad = await request(stack.app)
      .post('/api/workflows')
      .send({ task: 'review', description: 'x', repository: { url: 'https://me:secret@github.com/a/b.git' } })
      .expect(400);
    expect(JSON.stringify(bad.body)).not.toContain('secret@');
    await request(stack.app)
      .post('/api/workflows')
      .send({ task: 'review', description: 'x', repository: { url: 'file:///etc/passwd-repo' } })
      .expect(403);
  });

  it('runs a scheduled review that follows new commits and skips a head that has not moved', async () => {
    const first = server.createRepository('acme/nightly', {
      'calc.py': 'import os\n\n\ndef total(values):\n    return sum(values)\n',
    });
    const scheduleId = `git-nightly-${stack.workers.prefix}`;
    await request(stack.app)
      .post('/api/schedules')
      .send({
        scheduleId,
        repository: { url: server.url('acme/nightly'), ref: 'main' },
        language: 'python',
        paused: true,
      })
      .expect(201);
    const tick = async (count: number) => {
      await request(stack.app).post(`/api/schedules/${scheduleId}/trigger`).expect(202);
      let runs: { workflowId: string; runId: string }[] = [];
      for (let i = 0; i < 300 && runs.length < count; i++) {
        runs = (await request(stack.app).get(`/api/schedules/${scheduleId}`).expect(200)).body.recentRuns;
        if (runs.length < count) await new Promise((r) => setTimeout(r, 100));
      }
      const run = runs[count - 1]!;
      return {
        ...run,
        result: (await stack.client.workflow.getHandle(run.workflowId, run.runId).result()) as ScheduledReviewResult,
      };
    };
    try {
      const one = await tick(1);
      expect(one.result).toMatchObject({ commit: first, comparison: { firstRun: true } });
      expect(one.result.comparison.new.map((f) => f.rule)).toContain('F401');

      const two = await tick(2);
      expect(two.result).toMatchObject({ commit: first, skipped: true });

      // Someone pushes between two ticks: the next review sees the new head and compares with the first.
      const next = server.pushCommit('acme/nightly', {
        'calc.py': 'import os\nimport sys\n\n\ndef total(values):\n    return sum(values)\n',
      });
      const three = await tick(3);
      expect(three.result).toMatchObject({ commit: next, previousCommit: first });
      expect(three.result.skipped).toBeUndefined();
      expect(three.result.comparison.new.map((f) => f.message).join(' ')).toContain('sys');
      expect(three.result.comparison.counts.stillOpen).toBe(1);
      await maybeRecordHistory(
        stack.client,
        three.workflowId,
        'scheduled-review',
        'git-new-commit-after-skip',
        three.runId,
      );
    } finally {
      await request(stack.app).delete(`/api/schedules/${scheduleId}`);
    }
  });
});
