import { createSign } from 'node:crypto';
import { Octokit } from '@octokit/rest';
import { ApplicationFailure } from '@temporalio/common';
import type { GithubAuth } from '../../common/git-credentials';
import type { CommentRef, Forge, IssueRef, PullRequestRef } from './forge';

/**
 * GitHub through its REST API (Octokit), with a token or a GitHub App installation token. Errors
 * map to the catalogue: 401/403 → `RepositoryAuth`, 404 → `RepositoryInvalid`, 422 →
 * `InvalidInput` (never retried); 429, 5xx and the network are thrown plainly and retried.
 */
export class GithubForge implements Forge {
  readonly name = 'github' as const;
  private readonly octokit: Octokit;
  private readonly baseUrl: string;

  constructor(
    readonly owner: string,
    readonly repo: string,
    private readonly auth: GithubAuth | undefined,
    baseUrl = 'https://api.github.com',
  ) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
    this.octokit = new Octokit({
      baseUrl: this.baseUrl,
      userAgent: 'sophia-code',
      // Temporal retries; Octokit's own retries would hide the attempt from the history.
      request: { retries: 0 },
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      ...(auth && 'token' in auth ? { auth: auth.token } : {}),
    });
    if (auth && 'appId' in auth) {
      // A GitHub App: each request carries an installation token, made from the App's JWT when needed.
      this.octokit.hook.before('request', async (options) => {
        options.headers.authorization = `token ${await this.installationToken()}`;
      });
    }
  }

  private cachedToken?: { token: string; expiresAt: number };

  /** A GitHub App's installation token (valid an hour; renewed 5 minutes before it ends). */
  private async installationToken(): Promise<string> {
    const auth = this.auth;
    if (!auth || !('appId' in auth)) throw new Error('not a GitHub App');
    if (this.cachedToken && this.cachedToken.expiresAt - Date.now() > 5 * 60_000) return this.cachedToken.token;
    const { data } = await this.call(() =>
      // A client of its own: the main one's hook would ask for a token to ask for a token.
      new Octokit({ baseUrl: this.baseUrl, userAgent: 'sophia-code', request: { retries: 0 } }).request(
        'POST /app/installations/{installation_id}/access_tokens',
        {
          installation_id: auth.installationId,
          headers: { authorization: `Bearer ${appJwt(auth.appId, auth.privateKey)}` },
        },
      ),
    );
    this.cachedToken = { token: data.token, expiresAt: Date.parse(data.expires_at) };
    return data.token;
  }

  /** The token git uses over https: the plain token, or the App's installation token. */
  async gitToken(): Promise<string | undefined> {
    if (!this.auth) return undefined;
    return 'token' in this.auth ? this.auth.token : this.installationToken();
  }

  async defaultBranch(): Promise<string> {
    const { data } = await this.call(() => this.octokit.rest.repos.get({ owner: this.owner, repo: this.repo }));
    return data.default_branch;
  }

  async findPullRequest(head: string): Promise<PullRequestRef | undefined> {
    const { data } = await this.call(() =>
      this.octokit.rest.pulls.list({
        owner: this.owner,
        repo: this.repo,
        head: `${this.owner}:${head}`,
        state: 'open',
      }),
    );
    const pr = data.find((p) => p.head.ref === head);
    return pr && toPullRequest(pr);
  }

  async createPullRequest(input: {
    head: string;
    base: string;
    title: string;
    body: string;
    draft?: boolean;
  }): Promise<PullRequestRef> {
    const { data } = await this.call(() =>
      this.octokit.rest.pulls.create({ owner: this.owner, repo: this.repo, ...input }),
    );
    return toPullRequest(data);
  }

  async listComments(issue: number): Promise<{ id: number; url: string; body: string }[]> {
    const { data } = await this.call(() =>
      this.octokit.rest.issues.listComments({ owner: this.owner, repo: this.repo, issue_number: issue, per_page: 100 }),
    );
    return data.map((c) => ({ id: c.id, url: c.html_url, body: c.body ?? '' }));
  }

  async createComment(issue: number, body: string): Promise<CommentRef> {
    const { data } = await this.call(() =>
      this.octokit.rest.issues.createComment({ owner: this.owner, repo: this.repo, issue_number: issue, body }),
    );
    return { id: data.id, url: data.html_url };
  }

  async findIssue(marker: string): Promise<IssueRef | undefined> {
    const { data } = await this.call(() =>
      this.octokit.rest.issues.listForRepo({ owner: this.owner, repo: this.repo, state: 'open', per_page: 100 }),
    );
    const found = data.find((i) => !i.pull_request && (i.body ?? '').includes(marker));
    return found && { number: found.number, url: found.html_url };
  }

  async createIssue(input: { title: string; body: string }): Promise<IssueRef> {
    const { data } = await this.call(() =>
      this.octokit.rest.issues.create({ owner: this.owner, repo: this.repo, ...input }),
    );
    return { number: data.number, url: data.html_url };
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw githubFailure(err);
    }
  }
}

function toPullRequest(p: {
  number: number;
  html_url: string;
  state: string;
  head: { ref: string };
  base: { ref: string };
}): PullRequestRef {
  return {
    number: p.number,
    url: p.html_url,
    state: p.state === 'open' ? 'open' : 'closed',
    head: p.head.ref,
    base: p.base.ref,
  };
}

/** An Octokit error as a catalogue failure (permanent) or a plain error (retried). */
export function githubFailure(err: unknown): Error {
  const status = (err as { status?: number }).status;
  const message = (err as { response?: { data?: { message?: string } } }).response?.data?.message ?? String(err);
  const typed = (type: string, text: string) => ApplicationFailure.create({ type, nonRetryable: true, message: text });
  if (status === 401 || (status === 403 && !/rate limit/i.test(message)))
    return typed('RepositoryAuth', `GitHub refused the tenant's credentials (HTTP ${status}): ${message}`);
  if (status === 404)
    return typed('RepositoryInvalid', `GitHub has no such repository or object (HTTP 404): ${message}`);
  if (status === 422) return typed('InvalidInput', `GitHub refused the request (HTTP 422): ${message}`);
  return new Error(`GitHub API call failed${status ? ` (HTTP ${status})` : ''}: ${message}`);
}

/** The RS256 JWT a GitHub App signs to ask for an installation token (10 minutes, issued 60 s back for clock skew). */
export function appJwt(appId: number | string, privateKey: string, now = Date.now()): string {
  const b64 = (v: object | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString('base64url');
  const iat = Math.floor(now / 1000) - 60;
  const unsigned = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iat, exp: iat + 600, iss: String(appId) })}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(privateKey);
  return `${unsigned}.${b64(signature)}`;
}
