import { createVerify, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { openPullRequest, postReview } from '../../activities/git';
import { resetConfig } from '../../common/config';
import { startFakeGithub, type FakeGithub } from '../support/github-server';

/**
 * The GitHub forge adapter (Octokit) against a loopback server answering GitHub's documented
 * response shapes (tests/support/recordings/github, labelled there: not captures). Pull requests and
 * review posts are made once however often the activity runs; a GitHub App signs a JWT and works
 * with its installation token; a refused token is a typed failure that does not show the token.
 */

let github: FakeGithub;
let dir: string;
const saved = { ...process.env };
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const repository = { url: 'https://github.com/acme/widgets.git' };

beforeAll(async () => {
  github = await startFakeGithub();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-forge-'));
  const credentials = path.join(dir, 'credentials.json');
  fs.writeFileSync(
    credentials,
    JSON.stringify({
      tenants: {
        acme: { github: { token: github.token } },
        app: {
          github: {
            appId: 4242,
            privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
            installationId: 99,
          },
        },
        wrong: { github: { token: 'ghp_notTheRightOne000000000000000000000000' } },
      },
    }),
  );
  Object.assign(process.env, {
    SOPHIA_DATA_DIR: dir,
    SOPHIA_GIT_CREDENTIALS_FILE: credentials,
    GITHUB_API_URL: github.baseUrl,
    TEMPORAL_UI_URL: 'http://ui.example',
  });
  resetConfig();
});

afterAll(async () => {
  process.env = saved;
  resetConfig();
  await github.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the GitHub forge adapter', () => {
  it('opens the pull request of a branch once, however often the activity runs', async () => {
    const input = {
      repository: { ...repository, ref: 'develop' },
      tenant: 'acme',
      branch: 'sophia/job-acme.pr-1',
      title: 'Sophia: refactor calc',
      body: '**Outcome:** succeeded · tests 3 passed',
      workflowId: 'job-acme.pr-1',
    };
    const first = await openPullRequest(input);
    const second = await openPullRequest(input);
    expect(first).toMatchObject({ number: 7, created: true, url: 'https://github.com/acme/widgets/pull/7' });
    expect(second).toMatchObject({ number: 7, created: false });
    expect(github.pulls).toHaveLength(1);
    const pr = github.pulls[0]!;
    expect(pr).toMatchObject({ head: 'sophia/job-acme.pr-1', base: 'develop', title: 'Sophia: refactor calc' });
    expect(pr.body).toContain('tests 3 passed');
    expect(pr.body).toContain('http://ui.example/namespaces/default/workflows/job-acme.pr-1');
    expect(pr.body).toContain('<!-- sophia-code:job-acme.pr-1 -->');
    const creates = github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/pulls'));
    expect(creates).toHaveLength(1);
    expect(creates[0]!.authorization).toBe(`token ${github.token}`);
  });

  it('opens into the default branch when the job named no branch', async () => {
    const made = await openPullRequest({
      repository,
      tenant: 'acme',
      branch: 'sophia/job-acme.pr-2',
      title: 't',
      body: 'b',
      workflowId: 'job-acme.pr-2',
    });
    expect(github.pulls.find((p) => p.number === made.number)?.base).toBe('main');
  });

  it('posts a review comment and a review issue once each', async () => {
    const comment = {
      repository,
      tenant: 'acme',
      issue: 7,
      title: 'Review',
      body: '2 new findings',
      key: 'review-x-1',
    };
    expect((await postReview(comment)).created).toBe(true);
    expect((await postReview(comment)).created).toBe(false);
    expect(github.comments.filter((c) => c.issue === 7)).toHaveLength(1);
    const issue = { repository, tenant: 'acme', title: 'Scheduled review', body: '1 new finding', key: 'review-y-1' };
    expect(await postReview(issue)).toMatchObject({ kind: 'issue', created: true });
    expect(await postReview(issue)).toMatchObject({ kind: 'issue', created: false });
    expect(github.issues).toHaveLength(1);
  });

  it('works as a GitHub App: a signed JWT buys the installation token every call then uses', async () => {
    await postReview({ repository, tenant: 'app', issue: 8, title: 'Review', body: 'ok', key: 'review-app-1' });
    const exchange = github.requests.find((r) => r.path === '/app/installations/99/access_tokens');
    expect(exchange).toBeDefined();
    const [header, payload, signature] = exchange!.authorization!.replace(/^Bearer /, '').split('.') as [
      string,
      string,
      string,
    ];
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toMatchObject({ iss: '4242' });
    const valid = createVerify('RSA-SHA256')
      .update(`${header}.${payload}`)
      .verify(publicKey, Buffer.from(signature, 'base64url'));
    expect(valid).toBe(true);
    const after = github.requests.filter((r) => r.path.includes('/issues/8/comments'));
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((r) => r.authorization === `token ${github.installationToken}`)).toBe(true);
  });

  it('answers a refused token with RepositoryAuth, without the token, and a non-GitHub repository with InvalidInput', async () => {
    const refused = await postReview({ repository, tenant: 'wrong', issue: 7, title: 't', body: 'b', key: 'k' }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect((refused as ApplicationFailure).type).toBe('RepositoryAuth');
    expect((refused as ApplicationFailure).message).not.toContain('ghp_notTheRightOne');
    const elsewhere = await openPullRequest({
      repository: { url: 'https://git.example.com/acme/widgets.git' },
      tenant: 'acme',
      branch: 'sophia/x',
      title: 't',
      body: 'b',
      workflowId: 'x',
    }).catch((e: unknown) => e);
    expect((elsewhere as ApplicationFailure).type).toBe('InvalidInput');
  });
});
