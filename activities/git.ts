/**
 * Activities of git-native jobs and reviews, served by the sandbox pool (it keeps the bare-clone
 * cache): check a repository out at one commit, commit a round's files to the job's branch, make the
 * unified patch, push, open the pull request and post a review. Only activity functions are exported
 * as values: the worker registers every export.
 *
 * Credentials come from the tenant's entry in `SOPHIA_GIT_CREDENTIALS_FILE`, read here; inputs and
 * results carry the tenant and the repository URL only, so no secret enters workflow history.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { config } from '../common/config';
import { tenantCredentialsFor, type TenantCredentials } from '../common/git-credentials';
import { parseRepoRoots, resolveRepoPath } from '../common/repo-roots';
import {
  forgeOf,
  localPathOf,
  ownerAndName,
  repositorySpecProblem,
  type RepositorySpec,
} from '../common/repository-spec';
import { artifactStore, type ArtifactRef, type FileSetRef } from './artifacts';
import { marker, type Forge } from './forge/forge';
import { GithubForge } from './forge/github';
import { ANONYMOUS, git, gitAuthFor, parseIdentity, scratchName, type GitAuth } from './git/git-cli';
import { RepoCache } from './git/repo-cache';
import { readTree, type SnapshotLanguage } from './review/snapshot';
import { heartbeat } from './context';

export type { RepositorySpec } from '../common/repository-spec';

function cache(): RepoCache {
  const cfg = config();
  return new RepoCache(cfg.SOPHIA_GIT_CACHE_DIR ?? path.join(cfg.dataDir, 'git'));
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'InvalidInput', nonRetryable: true, message });
}

function credentials(tenant: string): TenantCredentials {
  try {
    return tenantCredentialsFor(config().SOPHIA_GIT_CREDENTIALS_FILE, tenant);
  } catch (err) {
    throw ApplicationFailure.create({ type: 'RepositoryAuth', nonRetryable: true, message: (err as Error).message });
  }
}

/** The remote, checked, with the tenant's credentials for its host. */
async function remoteOf(repository: RepositorySpec, tenant: string): Promise<{ dir: string; auth: GitAuth }> {
  const problem = repositorySpecProblem(repository);
  if (problem) throw invalid(`repository.${problem}`);
  const local = localPathOf(repository.url);
  if (local !== undefined) {
    // A file:// repository is a path on the worker's disk: the same roots as any other local path.
    const resolved = await resolveRepoPath(local.replace(/\/$/, ''), parseRepoRoots(config().SOPHIA_REPO_ROOTS));
    if ('refusal' in resolved)
      throw ApplicationFailure.create({
        type: resolved.refusal.type,
        nonRetryable: true,
        message: resolved.refusal.message,
      });
    if ('missing' in resolved)
      throw ApplicationFailure.create({
        type: 'RepositoryInvalid',
        nonRetryable: true,
        message: 'The file:// repository does not exist on the worker.',
      });
  }
  const dir = await cache().ensure(tenant, repository.url);
  return { dir, auth: local !== undefined ? ANONYMOUS : await hostAuth(repository, tenant) };
}

async function hostAuth(repository: RepositorySpec, tenant: string): Promise<GitAuth> {
  const url = new URL(repository.url);
  const creds = credentials(tenant);
  const entry = creds.git?.find((e) => e.host === url.host || e.host === url.hostname);
  if (entry) return gitAuthFor(entry);
  if (creds.github && forgeOf(repository, config().GITHUB_HOST) === 'github' && url.protocol === 'https:') {
    const token = await forgeFor(repository, tenant).gitToken();
    if (token) return gitAuthFor({ host: url.host, username: 'x-access-token', token });
  }
  return ANONYMOUS;
}

function forgeFor(repository: RepositorySpec, tenant: string): GithubForge {
  const cfg = config();
  if (forgeOf(repository, cfg.GITHUB_HOST) !== 'github')
    throw invalid(
      'Pull requests, comments and issues need a GitHub repository (github.com, GITHUB_HOST, or repository.forge: github); other hosts get a pushed branch and a patch.',
    );
  const coordinates = ownerAndName(repository.url);
  if (!coordinates) throw invalid('The repository URL does not name an owner and a repository (/owner/name).');
  return new GithubForge(coordinates.owner, coordinates.name, credentials(tenant).github, cfg.GITHUB_API_URL);
}

async function withRemote<T>(
  repository: RepositorySpec,
  tenant: string | undefined,
  use: (dir: string, auth: GitAuth) => Promise<T>,
): Promise<T> {
  const { dir, auth } = await remoteOf(repository, tenant ?? 'local');
  try {
    return await use(dir, auth);
  } finally {
    await auth.dispose();
  }
}

const SHA = /^[0-9a-f]{40}$/;

function assertSha(value: string | undefined, field: string): void {
  if (value !== undefined && !SHA.test(value)) throw invalid(`${field} must be a full 40-hex commit id`);
}

export interface ResolveRepositoryHeadInput {
  repository: RepositorySpec;
  tenant?: string;
}

export interface ResolveRepositoryHeadResult {
  /** The commit `repository.ref` (or the remote's HEAD) names now. */
  sha: string;
  summary: string;
}

/**
 * Fetches `repository.ref` into the bare-clone cache (commits and trees only) and answers its commit.
 * Idempotent (a fetch); the answer is recorded in history, so a replay sees the same commit. Timeouts:
 * a fetch, up to minutes for a big repository on a slow host; `startToCloseTimeout` of 10 min.
 * Failures: `InvalidInput`, `PathNotAllowed` (file:// outside SOPHIA_REPO_ROOTS), `RepositoryInvalid`
 * (no such repository or ref), `RepositoryAuth` (credentials refused); network errors are retried.
 */
export async function resolveRepositoryHead(input: ResolveRepositoryHeadInput): Promise<ResolveRepositoryHeadResult> {
  return withRemote(input.repository, input.tenant, async (dir, auth) => {
    const sha = await cache().resolve(dir, input.repository.ref, auth);
    return { sha, summary: `${input.repository.ref ?? 'HEAD'} is ${sha.slice(0, 12)}` };
  });
}

export interface CheckoutRepositoryInput {
  repository: RepositorySpec;
  tenant?: string;
  language: SnapshotLanguage;
  /** The commit to check out, when known (a retry, a replay, a scheduled review that resolved its head). */
  pin?: string;
}

export interface CheckoutRepositoryResult {
  /** The commit checked out: the job's base, recorded in its history. */
  sha: string;
  /** The language's sources and test configuration under `repository.path`, relative to it. */
  files: FileSetRef;
  fileCount: number;
  bytes: number;
  skipped: number;
  summary: string;
}

/**
 * Checks a repository out at one commit: fetches `repository.ref` (or uses `pin`) into the bare-clone
 * cache, adds a worktree at that commit (the partial clone fetches the contents it needs in one
 * batch), copies the language's files under `repository.path` into the artifact store, and removes
 * the worktree. Idempotent: the same commit gives the same FileSetRef. Heartbeats every 200 files.
 * Timeouts: a fetch plus a checkout; `startToCloseTimeout` of 10 min, `heartbeatTimeout` 1 min.
 * Failures: as `resolveRepositoryHead`, plus `InvalidInput` when the tree is over the snapshot limits.
 */
export async function checkoutRepository(input: CheckoutRepositoryInput): Promise<CheckoutRepositoryResult> {
  assertSha(input.pin, 'pin');
  return withRemote(input.repository, input.tenant, async (dir, auth) => {
    const repoCache = cache();
    const sha = await repoCache.resolve(dir, input.repository.ref, auth, input.pin);
    heartbeat({ phase: 'checkout', sha });
    const snapshot = await repoCache.withWorktree(dir, sha, auth, async (tree) => {
      const root = input.repository.path ? path.join(tree, input.repository.path) : tree;
      const stat = await fs.stat(root).catch(() => undefined);
      if (!stat?.isDirectory())
        throw ApplicationFailure.create({
          type: 'RepositoryInvalid',
          nonRetryable: true,
          message: `repository.path ${input.repository.path} is not a directory at ${sha.slice(0, 12)}.`,
        });
      return readTree(root, input.language);
    });
    const files = await artifactStore().putFiles(snapshot.files);
    return {
      sha,
      files,
      fileCount: files.files.length,
      bytes: snapshot.bytes,
      skipped: snapshot.skipped,
      summary: `${sha.slice(0, 12)}: ${files.files.length} ${input.language} file(s), ${snapshot.bytes} bytes`,
    };
  });
}

export interface CommitRoundInput {
  repository: RepositorySpec;
  tenant?: string;
  /** `sophia/<job-id>`. */
  branch: string;
  /** The commit the job checked out. */
  base: string;
  /** The previous round's commit on the branch; `base` for the first. */
  parent?: string;
  /** The round's files, relative to `repository.path`. */
  files: FileSetRef;
  /** The files the job started from: those the round no longer has are deleted. */
  baseFiles?: FileSetRef;
  message: string;
  /** Workflow time of the round: author and committer date, so a retried commit is the same commit. */
  at: string;
}

export interface CommitRoundResult {
  /** The branch's head after this round (the parent when the round changed nothing). */
  sha: string;
  changed: boolean;
  summary: string;
}

/**
 * Commits a round's files on top of `parent` in the bare-clone cache, authored as the service
 * (`SOPHIA_GIT_AUTHOR`), and moves `refs/heads/<branch>` there. Files keep their mode; deleted ones
 * are dropped. Built with plumbing (a private index, `commit-tree`): no worktree, no hooks.
 *
 * Idempotent: the commit is a pure function of the input (dates come from `at`), so a retry makes the
 * same commit id. A round that changes nothing makes no commit. Fast (seconds); `startToCloseTimeout`
 * of 10 min covers a lazy fetch. Failures: `InvalidInput`, `RepositoryInvalid` (the parent commit is
 * not in the cache: the cache was lost; retry the job from its start).
 */
export async function commitRound(input: CommitRoundInput): Promise<CommitRoundResult> {
  assertSha(input.base, 'base');
  assertSha(input.parent, 'parent');
  if (!/^sophia\/[\w.-]+$/.test(input.branch)) throw invalid('branch must be sophia/<job-id>');
  return withRemote(input.repository, input.tenant, async (dir) => {
    const parent = input.parent ?? input.base;
    if (!(await cache().hasCommit(dir, parent)))
      throw ApplicationFailure.create({
        type: 'RepositoryInvalid',
        nonRetryable: true,
        message: `Commit ${parent.slice(0, 12)} is not in the repository cache; retry the job from its start.`,
      });
    const prefix = input.repository.path ? `${input.repository.path}/` : '';
    const index = path.join(os.tmpdir(), `sophia-index-${scratchName()}`);
    const env = { GIT_INDEX_FILE: index };
    try {
      await git(['--git-dir', dir, 'read-tree', parent], { env });
      const entries = new Map<string, { mode: string; blob: string }>();
      for (const line of (await git(['--git-dir', dir, 'ls-files', '-s', '-z'], { env })).stdout.split('\0')) {
        const m = /^(\d+) ([0-9a-f]{40}) \d\t(.+)$/s.exec(line);
        if (m) entries.set(m[3]!, { mode: m[1]!, blob: m[2]! });
      }
      const store = artifactStore();
      const lines: string[] = [];
      const kept = new Set<string>();
      for (const file of input.files.files) {
        const target = prefix + file.path;
        kept.add(target);
        const content = await store.get(file.id);
        const blob = blobId(content);
        const existing = entries.get(target);
        if (existing?.blob === blob) continue;
        await git(['--git-dir', dir, 'hash-object', '-w', '--stdin'], { input: content });
        lines.push(`${existing?.mode === '100755' ? '100755' : '100644'} ${blob}\t${target}`);
      }
      for (const file of input.baseFiles?.files ?? []) {
        const target = prefix + file.path;
        if (!kept.has(target) && entries.has(target)) lines.push(`0 ${'0'.repeat(40)}\t${target}`);
      }
      if (lines.length > 0)
        await git(['--git-dir', dir, 'update-index', '-z', '--index-info'], {
          env,
          input: lines.map((l) => `${l}\0`).join(''),
        });
      const tree = (await git(['--git-dir', dir, 'write-tree'], { env })).stdout.trim();
      const parentTree = (await git(['--git-dir', dir, 'rev-parse', `${parent}^{tree}`])).stdout.trim();
      if (tree === parentTree) {
        await git(['--git-dir', dir, 'update-ref', `refs/heads/${input.branch}`, parent]);
        return { sha: parent, changed: false, summary: `no change on ${input.branch}` };
      }
      const who = parseIdentity(config().SOPHIA_GIT_AUTHOR);
      const when = `@${Math.floor(Date.parse(input.at) / 1000)} +0000`;
      const sha = (
        await git(['--git-dir', dir, 'commit-tree', tree, '-p', parent, '-F', '-'], {
          input: input.message.endsWith('\n') ? input.message : `${input.message}\n`,
          env: {
            GIT_AUTHOR_NAME: who.name,
            GIT_AUTHOR_EMAIL: who.email,
            GIT_AUTHOR_DATE: when,
            GIT_COMMITTER_NAME: who.name,
            GIT_COMMITTER_EMAIL: who.email,
            GIT_COMMITTER_DATE: when,
          },
        })
      ).stdout.trim();
      await git(['--git-dir', dir, 'update-ref', `refs/heads/${input.branch}`, sha]);
      const stat = (await git(['--git-dir', dir, 'diff', '--shortstat', parent, sha])).stdout.trim();
      return { sha, changed: true, summary: `${sha.slice(0, 12)} on ${input.branch}: ${stat}` };
    } finally {
      await fs.rm(index, { force: true });
    }
  });
}

/** Git's id of a blob with this content. */
function blobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

export interface CreatePatchInput {
  repository: RepositorySpec;
  tenant?: string;
  base: string;
  head: string;
}

export interface CreatePatchResult {
  /** The unified diff (`git diff --binary --full-index base head`), applicable with `git apply` at `base`. */
  patch: ArtifactRef;
  filesChanged: number;
  insertions: number;
  deletions: number;
  summary: string;
}

/**
 * The unified patch from the job's base to its branch head, relative to the repository root, stored
 * in the artifact store. Idempotent (content-addressed). Seconds; `startToCloseTimeout` of 10 min
 * covers a lazy fetch of the base's contents. Failures: `InvalidInput`, `RepositoryInvalid`.
 */
export async function createPatch(input: CreatePatchInput): Promise<CreatePatchResult> {
  assertSha(input.base, 'base');
  assertSha(input.head, 'head');
  return withRemote(input.repository, input.tenant, async (dir, auth) => {
    const diff = await git(['--git-dir', dir, 'diff', '--binary', '--full-index', input.base, input.head, '--'], {
      auth,
    });
    const numstat = (await git(['--git-dir', dir, 'diff', '--numstat', input.base, input.head, '--'], { auth })).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
    const insertions = numstat.reduce((n, [a]) => n + (Number(a) || 0), 0);
    const deletions = numstat.reduce((n, [, d]) => n + (Number(d) || 0), 0);
    const patch = await artifactStore().put(diff.stdout, 'text/x-diff');
    return {
      patch,
      filesChanged: numstat.length,
      insertions,
      deletions,
      summary: `${numstat.length} file(s) changed, +${insertions} −${deletions}`,
    };
  });
}

export interface PushBranchInput {
  repository: RepositorySpec;
  tenant?: string;
  branch: string;
  sha: string;
}

export interface PushBranchResult {
  /** False when the remote branch was already at `sha` (a retried push). */
  pushed: boolean;
  sha: string;
  summary: string;
}

/**
 * Pushes the job's branch to the remote at `sha`. Idempotent: the remote branch is read first, and a
 * push that already landed is not made again; a remote branch at an earlier commit of the job moves
 * forward. Timeouts: a push, minutes at most; `startToCloseTimeout` of 10 min. Failures:
 * `PushRejected` (the remote branch has commits the job did not make), `RepositoryAuth`,
 * `RepositoryInvalid`, `InvalidInput`; network errors are retried.
 */
export async function pushBranch(input: PushBranchInput): Promise<PushBranchResult> {
  assertSha(input.sha, 'sha');
  if (!/^sophia\/[\w.-]+$/.test(input.branch)) throw invalid('branch must be sophia/<job-id>');
  return withRemote(input.repository, input.tenant, async (dir, auth) => {
    const remote = await remoteHead(dir, input.branch, auth);
    if (remote === input.sha)
      return { pushed: false, sha: input.sha, summary: `${input.branch} already at ${input.sha.slice(0, 12)}` };
    await git(
      ['--git-dir', dir, 'push', '--quiet', '--porcelain', 'origin', `${input.sha}:refs/heads/${input.branch}`],
      {
        auth,
      },
    );
    return { pushed: true, sha: input.sha, summary: `pushed ${input.branch} at ${input.sha.slice(0, 12)}` };
  });
}

async function remoteHead(dir: string, branch: string, auth: GitAuth): Promise<string | undefined> {
  const { stdout } = await git(['--git-dir', dir, 'ls-remote', '--heads', 'origin', `refs/heads/${branch}`], { auth });
  return stdout.split('\t')[0]?.trim() || undefined;
}

export interface OpenPullRequestInput {
  repository: RepositorySpec;
  tenant?: string;
  branch: string;
  title: string;
  /** The job's summary; the activity adds the Web UI link and the marker that finds it again. */
  body: string;
  workflowId: string;
  /** Open it as a draft: the job did not end green. */
  draft?: boolean;
}

export interface OpenPullRequestResult {
  number: number;
  url: string;
  /** False when the pull request already existed (a retry). */
  created: boolean;
  summary: string;
}

/**
 * Opens the pull request of the job's (pushed) branch through the forge adapter, into `repository.ref`
 * when it is a branch, else the default branch. Idempotent: an open pull request from the branch is
 * answered as it is, and a create that raced one is read back. Seconds; `startToCloseTimeout` of
 * 2 min. Failures: `InvalidInput` (not a GitHub repository; GitHub's 422), `RepositoryAuth`,
 * `RepositoryInvalid`; 429/5xx are retried.
 */
export async function openPullRequest(input: OpenPullRequestInput): Promise<OpenPullRequestResult> {
  const forge = forgeFor(input.repository, input.tenant ?? 'local');
  const found = await forge.findPullRequest(input.branch);
  if (found)
    return { number: found.number, url: found.url, created: false, summary: `pull request #${found.number} exists` };
  const ref = input.repository.ref;
  const base =
    ref && !SHA.test(ref) && !ref.startsWith('refs/tags/')
      ? ref.replace(/^refs\/heads\//, '')
      : await forge.defaultBranch();
  const body = `${input.body}\n\n${webUiLine(input.workflowId)}\n${marker(input.workflowId)}`;
  try {
    const pr = await forge.createPullRequest({
      head: input.branch,
      base,
      title: input.title,
      body,
      ...(input.draft ? { draft: true } : {}),
    });
    return { number: pr.number, url: pr.url, created: true, summary: `opened pull request #${pr.number}` };
  } catch (err) {
    const raced = await forge.findPullRequest(input.branch).catch(() => undefined);
    if (raced)
      return { number: raced.number, url: raced.url, created: false, summary: `pull request #${raced.number} exists` };
    throw err;
  }
}

function webUiLine(workflowId: string): string {
  const cfg = config();
  const url = `${cfg.TEMPORAL_UI_URL.replace(/\/$/, '')}/namespaces/${encodeURIComponent(cfg.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`;
  return `[The job in the Temporal Web UI](${url})`;
}

export interface PostReviewInput {
  repository: RepositorySpec;
  tenant?: string;
  /** A pull request (or issue) to comment on; without one, an issue is opened. */
  issue?: number;
  title: string;
  body: string;
  /** What makes the post findable again: the workflow id of the review. */
  key: string;
}

export interface PostReviewResult {
  kind: 'comment' | 'issue';
  url: string;
  created: boolean;
  summary: string;
}

/**
 * Posts a review through the forge adapter: a comment on `issue`, or a new issue. Idempotent: the
 * post carries a hidden marker of `key`, and one already there is answered instead of posting again.
 * Seconds; `startToCloseTimeout` of 2 min. Failures: as `openPullRequest`.
 */
export async function postReview(input: PostReviewInput): Promise<PostReviewResult> {
  const forge: Forge = forgeFor(input.repository, input.tenant ?? 'local');
  const tag = marker(input.key);
  const body = `${input.body}\n\n${webUiLine(input.key)}\n${tag}`;
  if (input.issue !== undefined) {
    const existing = (await forge.listComments(input.issue)).find((c) => c.body.includes(tag));
    if (existing) return { kind: 'comment', url: existing.url, created: false, summary: 'review comment exists' };
    const made = await forge.createComment(input.issue, `**${input.title}**\n\n${body}`);
    return { kind: 'comment', url: made.url, created: true, summary: `commented on #${input.issue}` };
  }
  const existing = await forge.findIssue(tag);
  if (existing)
    return { kind: 'issue', url: existing.url, created: false, summary: `issue #${existing.number} exists` };
  const made = await forge.createIssue({ title: input.title, body });
  return { kind: 'issue', url: made.url, created: true, summary: `opened issue #${made.number}` };
}
