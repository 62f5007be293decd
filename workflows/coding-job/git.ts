import { workflowInfo } from '@temporalio/workflow';
import type { FileSetRef } from '../../activities/artifacts/store';
import { jobBranch } from '../../common/repository-spec';
import type { CodingJobResult, JobGitResult } from './definitions';
import type { CodingJob, Round } from './job';
import { oneLine } from './policy';

/**
 * A job on a git repository (PATCHES.gitRepository): check out at one commit before the first step,
 * one commit on `sophia/<job-id>` per accepted round, and at the end the result's commit, the patch,
 * the push and the pull request (`options.push`, `options.pullRequest`), or the review posted back
 * (`options.commentOn`). Every step is an idempotent activity on the sandbox pool; the commit ids are
 * in history, so a retry or a replay works on the same code.
 */

/** What the job carries of its repository between steps (and across continue-as-new). */
export interface GitState {
  base: string;
  branch: string;
  head: string;
  commits: string[];
  /** The files checked out, so a round that drops one deletes it. */
  baseFiles: FileSetRef;
}

/** Checks the repository out; answers its files, and sets `job.git`. */
export async function checkout(job: CodingJob): Promise<FileSetRef> {
  const repository = job.input.repository!;
  const checkedOut = await job.act.git.checkoutRepository.executeWithOptions(
    { summary: `check out ${oneLine(repository.url, 60)}${repository.ref ? ` @ ${repository.ref}` : ''}` },
    [{ repository, tenant: job.tenant, language: job.language }],
  );
  job.git = {
    base: checkedOut.sha,
    branch: jobBranch(workflowInfo().workflowId),
    head: checkedOut.sha,
    commits: [],
    baseFiles: checkedOut.files,
  };
  return checkedOut.files;
}

/** Commits an accepted round's files on the job's branch (nothing when they match its head). */
export async function commitRound(job: CodingJob, files: FileSetRef, message: string): Promise<void> {
  const git = job.git!;
  const committed = await job.act.git.commitRound.executeWithOptions({ summary: oneLine(message, 60) }, [
    {
      repository: job.input.repository!,
      tenant: job.tenant,
      branch: git.branch,
      base: git.base,
      parent: git.head,
      files,
      baseFiles: git.baseFiles,
      message: `${message}\n\nSophia-Job: ${workflowInfo().workflowId}`,
      at: new Date().toISOString(),
    },
  ]);
  if (committed.changed) {
    git.head = committed.sha;
    git.commits.push(committed.sha);
  }
}

/** The commit message of a round: what it did and how its tests and review went. */
export function roundMessage(job: CodingJob, round: Round): string {
  const record = job.iterations.filter((i) => i.iteration === round.iteration).pop();
  const tests = record?.tests?.summary ?? 'no tests';
  const findings = record?.findings ? `${record.findings.blocking} blocking finding(s)` : 'not reviewed';
  const head = `Sophia: ${job.input.task} round ${round.iteration} (${oneLine(tests, 50)}; ${findings})`;
  const why = record?.explanation ? `\n\n${record.explanation.slice(0, 2_000)}` : '';
  return `${head}${why}`;
}

/** The end of a job on a repository: the result's commit, the patch, then the push, pull request or review post. */
export async function deliver(job: CodingJob, result: CodingJobResult): Promise<CodingJobResult> {
  const git = job.git!;
  const { input } = job;
  const repository = input.repository!;
  if (result.files && input.task !== 'review')
    await commitRound(job, result.files, `Sophia: ${input.task} result (${result.outcome})`);
  const patch = await job.act.git.createPatch.executeWithOptions({ summary: 'the unified patch' }, [
    { repository, tenant: job.tenant, base: git.base, head: git.head },
  ]);
  const out: JobGitResult = {
    url: repository.url,
    base: git.base,
    branch: git.branch,
    head: git.head,
    commits: git.commits,
    patch: patch.patch,
    patchSummary: patch.summary,
  };
  const changed = git.head !== git.base;
  if (changed && (input.options?.push || input.options?.pullRequest)) {
    job.enter('DONE', `Pushing ${git.branch}`, result.outcome);
    await job.act.forge.pushBranch.executeWithOptions({ summary: `push ${git.branch}` }, [
      { repository, tenant: job.tenant, branch: git.branch, sha: git.head },
    ]);
    out.pushed = true;
  }
  if (changed && input.options?.pullRequest) {
    const pr = await job.act.forge.openPullRequest.executeWithOptions({ summary: 'open the pull request' }, [
      {
        repository,
        tenant: job.tenant,
        branch: git.branch,
        title: `Sophia: ${oneLine(input.description, 90)}`,
        body: summaryOf(job, result),
        workflowId: workflowInfo().workflowId,
        // A job that did not end green still shows its work, as a draft for a human to finish.
        ...(result.outcome === 'succeeded' ? {} : { draft: true }),
      },
    ]);
    out.pullRequest = { number: pr.number, url: pr.url };
  }
  if (input.options?.commentOn !== undefined) {
    await job.act.forge.postReview.executeWithOptions({ summary: `post the review on #${input.options.commentOn}` }, [
      {
        repository,
        tenant: job.tenant,
        issue: input.options.commentOn,
        title: `Sophia Code ${input.task}: ${result.outcome}`,
        body: summaryOf(job, result),
        key: workflowInfo().workflowId,
      },
    ]);
  }
  return { ...result, git: out };
}

/** A pull request's or review comment's body: outcome, tests, findings, rounds and cost. */
export function summaryOf(job: CodingJob, result: CodingJobResult): string {
  const tests = [...result.iterations].reverse().find((i) => i.tests)?.tests;
  const findings = [...result.iterations].reverse().find((i) => i.findings)?.findings;
  const rounds = Math.max(0, ...result.iterations.map((i) => i.iteration));
  const lines = [
    `**${job.input.task}**: ${oneLine(job.input.description, 300)}`,
    '',
    `| | |`,
    `|---|---|`,
    `| outcome | ${result.outcome}: ${oneLine(result.message, 200)} |`,
    `| tests | ${tests ? oneLine(tests.summary, 120) : 'none ran'} |`,
    `| findings | ${findings ? `${findings.blocking} blocking of ${findings.total}` : 'not reviewed'} |`,
    `| rounds | ${rounds} refactor round(s), ${job.git?.commits.length ?? 0} commit(s) |`,
    `| cost | ${result.usage.totalTokens} tokens, $${result.usage.costUsd.toFixed(4)}${result.usage.pricing ? ` (${result.usage.pricing})` : ''} |`,
  ];
  for (const f of (findings?.items ?? []).filter((i) => i.blocking).slice(0, 10))
    lines.push(`- \`${f.file}:${f.line}\` [${f.source}] ${oneLine(f.message, 160)}`);
  return lines.join('\n');
}
