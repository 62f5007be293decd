import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { classify, gitAuthFor, redact } from '../../activities/git/git-cli';
import { jobFor, signatureValid } from '../../api/routes/github-hooks';
import { startJobSchema } from '../../api/validation';
import { CredentialsFileError, readCredentialsFile, secretStrings } from '../../common/git-credentials';
import {
  forgeOf,
  jobBranch,
  ownerAndName,
  refProblem,
  repositorySpecProblem,
  repositoryUrlProblem,
  subPathProblem,
} from '../../common/repository-spec';

describe('repository specs', () => {
  it('accepts the four schemes and refuses others, credentials in the URL, and file:// with a host', () => {
    for (const url of [
      'https://github.com/acme/widgets.git',
      'ssh://git@git.example.com:2222/acme/widgets.git',
      'git://127.0.0.1:9418/acme/widgets.git',
      'file:///srv/repos/widgets',
    ])
      expect(repositoryUrlProblem(url)).toBeUndefined();
    expect(repositoryUrlProblem('ext::sh -c touch% /tmp/pwned')).toBeDefined();
    expect(repositoryUrlProblem('http://github.com/a/b')).toMatch(/must use one of/);
    expect(repositoryUrlProblem('https://me:hunter2@github.com/a/b')).toMatch(/credentials/);
    expect(repositoryUrlProblem('https://token@github.com/a/b')).toMatch(/credentials/);
    expect(repositoryUrlProblem('file://host/srv/x')).toMatch(/local path/);
    expect(repositoryUrlProblem('-uhttps://x')).toBeDefined();
  });

  it('refuses refs and paths that git or the disk would misread', () => {
    expect(refProblem('main')).toBeUndefined();
    expect(refProblem('refs/pull/7/head')).toBeUndefined();
    expect(refProblem('--upload-pack=evil')).toBeDefined();
    expect(refProblem('a..b')).toBeDefined();
    expect(refProblem('x@{1}')).toBeDefined();
    expect(subPathProblem('src/app')).toBeUndefined();
    expect(subPathProblem('../etc')).toBeDefined();
    expect(subPathProblem('/abs')).toBeDefined();
    expect(subPathProblem('a/.git/hooks')).toBeDefined();
    expect(repositorySpecProblem({ url: 'https://github.com/a/b', path: 'x/../y' })).toMatch(/^path/);
  });

  it('names the branch, the forge and the owner from the spec', () => {
    expect(jobBranch('job-acme.fix:1')).toBe('sophia/job-acme.fix-1');
    expect(forgeOf({ url: 'https://github.com/a/b.git' })).toBe('github');
    expect(forgeOf({ url: 'https://gitlab.com/a/b.git' })).toBeUndefined();
    expect(forgeOf({ url: 'https://ghe.corp/a/b.git' }, 'ghe.corp')).toBe('github');
    expect(forgeOf({ url: 'git://127.0.0.1/a/b.git', forge: 'github' })).toBe('github');
    expect(ownerAndName('https://github.com/acme/widgets.git')).toEqual({ owner: 'acme', name: 'widgets' });
  });

  it('takes files or a repository in a job, and push only with a repository', () => {
    const base = { task: 'refactor', description: 'x' };
    expect(startJobSchema.safeParse({ ...base, repository: { url: 'git://h/a/b.git' } }).success).toBe(true);
    expect(
      startJobSchema.safeParse({ ...base, repository: { url: 'git://h/a/b.git' }, files: { 'a.py': '' } }).success,
    ).toBe(false);
    expect(startJobSchema.safeParse({ ...base, options: { push: true } }).success).toBe(false);
    expect(startJobSchema.safeParse({ ...base, repository: { url: 'git://h/a/b.git', extra: 1 } }).success).toBe(false);
  });
});

describe('git credentials and errors', () => {
  it('reads a tenant file and reports a bad one by field, never by value', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-creds-'));
    const good = path.join(dir, 'good.json');
    fs.writeFileSync(good, JSON.stringify({ tenants: { acme: { github: { token: 'ghp_secretvalue1234' } } } }));
    const creds = readCredentialsFile(good).tenants.acme!;
    expect(secretStrings(creds)).toEqual(['ghp_secretvalue1234']);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ tenants: { acme: { git: [{ host: 'h', password: 'pw-secret-999' }] } } }));
    let error: unknown;
    try {
      readCredentialsFile(bad);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CredentialsFileError);
    expect((error as Error).message).toContain('tenants.acme.git.0');
    expect((error as Error).message).not.toContain('pw-secret-999');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives git a token through environment config, never argv, and hides it in messages', async () => {
    const auth = await gitAuthFor({ host: 'h', token: 'tok-12345678' });
    expect(auth.env.GIT_CONFIG_KEY_0).toBe('http.extraHeader');
    expect(auth.env.GIT_CONFIG_VALUE_0).toMatch(/^Authorization: Basic /);
    expect(redact('fatal: tok-12345678 at https://u:p@h/x', auth.secrets)).toBe('fatal: *** at https://***@h/x');
  });

  it('types git failures: auth and refused pushes are permanent, the network is retried', () => {
    const typeOf = (e: Error) => (e instanceof ApplicationFailure ? e.type : 'retried');
    expect(typeOf(classify('fetch', 'fatal: Authentication failed for https://h/x'))).toBe('RepositoryAuth');
    expect(typeOf(classify('push', ' ! [rejected] x -> x (fetch first)'))).toBe('PushRejected');
    expect(typeOf(classify('fetch', "fatal: couldn't find remote ref nope"))).toBe('RepositoryInvalid');
    expect(typeOf(classify('fetch', 'fatal: unable to access: Could not resolve host: h'))).toBe('retried');
  });
});

describe('the GitHub webhook', () => {
  const secret = 'whsec-0123456789abcdef';
  const body = Buffer.from('{"zen":"Keep it logically awesome."}');
  const sign = (b: Buffer, s = secret) => `sha256=${createHmac('sha256', s).update(b).digest('hex')}`;

  it('verifies X-Hub-Signature-256 over the raw bytes', () => {
    expect(signatureValid(body, sign(body), secret)).toBe(true);
    expect(signatureValid(body, sign(body).toUpperCase().replace('SHA256', 'sha256'), secret)).toBe(true);
    expect(signatureValid(Buffer.from(`${body.toString()} `), sign(body), secret)).toBe(false);
    expect(signatureValid(body, sign(body, 'another-secret-000'), secret)).toBe(false);
    expect(signatureValid(body, undefined, secret)).toBe(false);
    expect(signatureValid(body, 'sha1=abc', secret)).toBe(false);
  });

  it('maps only a labelled issue and an @sophia review comment on a pull request to jobs', () => {
    const creds = { webhook: { secret, repositories: ['a/b'], label: 'sophia' } };
    const repository = { full_name: 'a/b', clone_url: 'https://github.com/a/b.git', default_branch: 'main' };
    const issue = { number: 3, title: 'Fix the crash in parse()', body: 'boom' };
    expect(jobFor('issues', { action: 'labeled', label: { name: 'sophia' }, repository, issue }, creds)).toMatchObject({
      task: 'debug',
      options: { pullRequest: true },
    });
    expect(jobFor('issues', { action: 'labeled', label: { name: 'bug' }, repository, issue }, creds)).toBeUndefined();
    const pr = { ...issue, pull_request: {} };
    const comment = (text: string, type = 'User') => ({ body: text, user: { type } });
    expect(
      jobFor('issue_comment', { action: 'created', repository, issue: pr, comment: comment('@sophia review') }, creds),
    ).toMatchObject({ task: 'review', options: { commentOn: 3 } });
    expect(
      jobFor('issue_comment', { action: 'created', repository, issue, comment: comment('@sophia review') }, creds),
    ).toBeUndefined();
    expect(
      jobFor(
        'issue_comment',
        { action: 'created', repository, issue: pr, comment: comment('@sophia review', 'Bot') },
        creds,
      ),
    ).toBeUndefined();
  });
});
