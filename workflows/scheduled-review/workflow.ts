import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  patched,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as analysisActivities from '../../activities/analysis';
import type * as gitActivities from '../../activities/git';
import type * as codacyActivities from '../../activities/codacy';
import type { ArtifactRef } from '../../activities/artifacts/store';
import type * as reviewActivities from '../../activities/review';
import type * as sandboxActivities from '../../activities/sandbox';
import { asTypedFailure } from '../shared/failures';
import { RETRY_POLICIES } from '../../temporal/retry-policies';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import { taskQueuesForWorkflowQueue } from '../../temporal/task-queues';
import type { FileSetRef } from '../../activities/artifacts/store';
import {
  REVIEW_LANGUAGES,
  REVIEW_TASK_KIND,
  reviewBaselineKey,
  type ReviewBaseline,
  type ReviewOutcome,
  type ReviewPhase,
  type ReviewTestCounts,
  type ScheduledReviewInput,
  type ScheduledReviewResult,
} from './definitions';

/** Changes to the review that running reviews could replay (see the coding job's PATCHES). */
const REVIEW_PATCHES = {
  /** Reviews of a git repository: fetch each tick, skip an unmoved head, compare by commit. */
  reviewOnGit: 'review-on-git',
} as const;
/** Codacy's findings come from the llm pool's `fetchCodacyFindings`, for the analysed commit only. */
const CODACY_ACTIVITY_PATCH = 'codacy-activity';

function activitiesFor(workflowTaskQueue: string) {
  const { sandbox, llm } = taskQueuesForWorkflowQueue(workflowTaskQueue);
  return {
    // Reading the repository, the baseline and two reports: seconds, local I/O, cheap to retry.
    review: proxyActivities<typeof reviewActivities>({
      taskQueue: sandbox,
      startToCloseTimeout: '2 minutes',
      heartbeatTimeout: '30 seconds',
      retry: RETRY_POLICIES.local,
    }),
    // Local analyzers over a whole repository: well under a minute, heartbeating between analyzers.
    analysis: proxyActivities<typeof analysisActivities>({
      taskQueue: sandbox,
      startToCloseTimeout: '3 minutes',
      heartbeatTimeout: '1 minute',
      retry: RETRY_POLICIES.sandbox,
    }),
    // A fetch and checkout of a big repository takes minutes; the bare-clone cache is on the sandbox pool.
    git: proxyActivities<typeof gitActivities>({
      taskQueue: sandbox,
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout: '1 minute',
      retry: RETRY_POLICIES.sandbox,
    }),
    // Posting to the forge waits out a GitHub that is down or rate limiting for minutes.
    forge: proxyActivities<typeof gitActivities>({
      taskQueue: sandbox,
      startToCloseTimeout: '2 minutes',
      retry: RETRY_POLICIES.remote,
    }),
    // Codacy from the pool that holds its token: one attempt per try, a heartbeat per request (20 s
    // each); Codacy may be down or rate-limited for minutes, which the remote preset waits out.
    codacy: proxyActivities<typeof codacyActivities>({
      taskQueue: llm,
      startToCloseTimeout: '5 minutes',
      heartbeatTimeout: '30 seconds',
      retry: RETRY_POLICIES.remote,
    }),
    // A test suite runs for up to SANDBOX_TIMEOUT_MS (set on the worker); the heartbeat catches a dead worker.
    tests: proxyActivities<typeof sandboxActivities>({
      taskQueue: sandbox,
      startToCloseTimeout: '15 minutes',
      heartbeatTimeout: '30 seconds',
      retry: RETRY_POLICIES.sandbox,
    }),
  };
}

/**
 * A review of a local repository, started by a Temporal Schedule (or directly): snapshot the
 * repository's files, run the tests if asked, analyse the code (ruff / ESLint, plus Codacy's findings
 * when the schedule names a Codacy repository and Codacy analysed the very commit under review),
 * then compare the findings with the previous review under the same schedule and make this review
 * the next one's baseline. The result has new, fixed and still-open findings (capped lists, counts,
 * and the full comparison as an artifact) and the test counts against the previous run's.
 *
 * Deterministic; every step is an activity on the sandbox pool, which reads the repository, but
 * Codacy's, on the llm pool that holds its token. Each
 * run is a new execution, so the baseline lives in a small state file via `loadReviewBaseline` /
 * `saveReviewBaseline`; re-running a review is idempotent. Search attributes: SophiaTaskKind=review,
 * SophiaProject, SophiaLanguage, SophiaPhase per step, SophiaOutcome. Fails with the catalogue type
 * of the step that failed: `RepositoryInvalid` (no such directory on the sandbox worker),
 * `InvalidInput`, `ToolchainMissing`, `SandboxUnavailable`.
 */
export async function scheduledReviewWorkflow(input: ScheduledReviewInput): Promise<ScheduledReviewResult> {
  const { review, analysis, tests, codacy, git, forge } = activitiesFor(workflowInfo().taskQueue);
  const project = input.project ?? 'default';
  const enter = (phase: ReviewPhase, outcome: ReviewOutcome = 'running') => {
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.phase, value: phase },
      { key: SEARCH_ATTRIBUTES.outcome, value: outcome },
    ]);
    log.info('review phase', { phase, repositoryPath: input.repositoryPath });
  };

  try {
    // The search attributes are set here too, so a review started without a schedule is found as well.
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.taskKind, value: REVIEW_TASK_KIND },
      { key: SEARCH_ATTRIBUTES.project, value: project },
      { key: SEARCH_ATTRIBUTES.language, value: String(input.language) },
    ]);
    // A review of a git repository (new code only: no history from before it has a repository).
    const onGit = !!input.repository && patched(REVIEW_PATCHES.reviewOnGit);
    if (
      !(REVIEW_LANGUAGES as readonly string[]).includes(input.language) ||
      (!onGit && !input.repositoryPath?.startsWith('/'))
    ) {
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        nonRetryable: true,
        message: `A review needs an absolute repositoryPath and a language in ${REVIEW_LANGUAGES.join(', ')}.`,
      });
    }
    const reviewedAt = new Date().toISOString();
    const key = reviewBaselineKey(input);

    enter('SNAPSHOT');
    let early: ReviewBaseline | undefined;
    let commit: string | undefined;
    let snapshot: { files: FileSetRef; fileCount: number; summary: string; revision?: string };
    if (onGit) {
      // Each tick fetches the branch; an unmoved head is recorded as skipped, not reviewed again.
      const head = await git.resolveRepositoryHead.executeWithOptions(
        { summary: `fetch ${input.repository!.ref ?? 'HEAD'}` },
        [{ repository: input.repository!, tenant: input.tenant }],
      );
      commit = head.sha;
      early = (await review.loadReviewBaseline({ key })).baseline;
      if (early?.commit === commit) {
        const result = skippedResult(input, key, reviewedAt, early, commit);
        enter('DONE', 'skipped');
        return result;
      }
      const checkedOut = await git.checkoutRepository.executeWithOptions(
        { summary: `check out ${commit.slice(0, 12)}` },
        [{ repository: input.repository!, tenant: input.tenant, language: input.language, pin: commit }],
      );
      // A commit checked out is a clean revision: Codacy's findings for it apply as they are.
      snapshot = { ...checkedOut, revision: checkedOut.sha };
    } else {
      snapshot = await review.snapshotRepository.executeWithOptions({ summary: `snapshot ${input.repositoryPath}` }, [
        { path: input.repositoryPath, language: input.language },
      ]);
    }

    let testRun: { counts: ReviewTestCounts; summary: string } | undefined;
    if (input.runTests) {
      enter('RUN_TESTS');
      const run = await tests.runTests.executeWithOptions({ summary: `tests of ${snapshot.summary}` }, [
        { files: snapshot.files, language: input.language },
      ]);
      const { passed, failed, errors, skipped } = run.report;
      testRun = { counts: { passed, failed, errors, skipped }, summary: run.summary };
    }

    enter('REVIEW');
    // Codacy's findings count only for the commit it analysed, so only a clean work tree asks for them.
    let fromCodacy: { analysed: boolean; summary: string; report?: ArtifactRef } | undefined;
    if (input.codacy && patched(CODACY_ACTIVITY_PATCH)) {
      fromCodacy = snapshot.revision
        ? await codacy.fetchCodacyFindings.executeWithOptions({ summary: `Codacy at ${snapshot.revision}` }, [
            {
              repository: input.codacy,
              revision: snapshot.revision,
              language: input.language,
              files: snapshot.files.files.map((f) => f.path),
            },
          ])
        : { analysed: false, summary: 'The work tree differs from its last commit: no Codacy findings.' };
    }
    const findings = await analysis.analyzeCode.executeWithOptions({ summary: `analyse ${snapshot.summary}` }, [
      {
        files: snapshot.files,
        language: input.language,
        ...(fromCodacy?.report ? { codacyFindings: fromCodacy.report } : {}),
      },
    ]);

    enter('COMPARE');
    const previous = onGit ? early : (await review.loadReviewBaseline({ key })).baseline;
    const comparison = await review.compareReviewFindings.executeWithOptions(
      { summary: previous ? `compare with ${previous.workflowId}` : 'first review: no baseline' },
      [{ current: findings.report, previous }],
    );
    const { workflowId, runId } = workflowInfo();
    await review.saveReviewBaseline({
      key,
      baseline: {
        findings: findings.report,
        totalFindings: findings.totalFindings,
        tests: testRun?.counts,
        workflowId,
        runId,
        reviewedAt,
        ...(commit ? { commit } : {}),
      },
    });

    const testLine = testRun ? `; tests: ${testRun.summary}` : '';
    const result: ScheduledReviewResult = {
      repositoryPath: input.repositoryPath,
      language: input.language,
      project,
      baselineKey: key,
      reviewedAt,
      fileCount: snapshot.fileCount,
      findings: {
        total: findings.totalFindings,
        tools: findings.tools,
        report: findings.report,
        summary: findings.summary,
      },
      comparison,
      tests: testRun && { ...testRun.counts, summary: testRun.summary, previous: previous?.tests },
      ...(fromCodacy ? { codacy: { analysed: fromCodacy.analysed, summary: fromCodacy.summary } } : {}),
      summary: `${commit ? `${commit.slice(0, 12)}: ` : ''}${snapshot.fileCount} file(s), ${findings.totalFindings} finding(s): ${comparison.summary}${testLine}`,
      ...(commit ? { commit, ...(previous?.commit ? { previousCommit: previous.commit } : {}) } : {}),
    };
    if (onGit && input.post) {
      const posted = await forge.postReview.executeWithOptions({ summary: 'post the review' }, [
        {
          repository: input.repository!,
          tenant: input.tenant,
          ...(input.post.issue !== undefined ? { issue: input.post.issue } : {}),
          title: `Sophia Code review of ${commit!.slice(0, 12)}: ${comparison.summary}`,
          body: reviewBody(result),
          key: workflowId,
        },
      ]);
      result.posted = { url: posted.url, created: posted.created };
    }
    enter('DONE', 'succeeded');
    return result;
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => enter('CANCELLED', 'cancelled'));
      throw err;
    }
    enter('FAILED', 'failed');
    throw asTypedFailure(err);
  }
}

/** A tick whose head has not moved: the previous review stands; nothing is fetched, analysed or saved. */
function skippedResult(
  input: ScheduledReviewInput,
  key: string,
  reviewedAt: string,
  previous: ReviewBaseline,
  commit: string,
): ScheduledReviewResult {
  const summary = `head unmoved at ${commit.slice(0, 12)}: skipped (reviewed by ${previous.workflowId})`;
  return {
    repositoryPath: input.repositoryPath,
    language: input.language,
    project: input.project ?? 'default',
    baselineKey: key,
    reviewedAt,
    fileCount: 0,
    findings: { total: previous.totalFindings, tools: [], report: previous.findings, summary },
    comparison: {
      firstRun: false,
      counts: { new: 0, fixed: 0, stillOpen: previous.totalFindings },
      new: [],
      fixed: [],
      stillOpen: [],
      report: previous.findings,
      previous: { workflowId: previous.workflowId, runId: previous.runId, reviewedAt: previous.reviewedAt },
      summary,
    },
    summary,
    commit,
    previousCommit: commit,
    skipped: true,
  };
}

/** The review as a forge comment: the comparison and the new findings. */
function reviewBody(result: ScheduledReviewResult): string {
  const lines = [`**${result.summary}**`, ''];
  for (const f of result.comparison.new.slice(0, 20))
    lines.push(`- new: \`${f.file}:${f.line}\` ${f.tool} ${f.rule}: ${f.message.slice(0, 160)}`);
  for (const f of result.comparison.fixed.slice(0, 10)) lines.push(`- fixed: \`${f.file}\` ${f.tool} ${f.rule}`);
  if (result.tests) lines.push('', `Tests: ${result.tests.summary}`);
  return lines.join('\n');
}
