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
import type * as codacyActivities from '../../activities/codacy';
import type { ArtifactRef } from '../../activities/artifacts/store';
import type * as reviewActivities from '../../activities/review';
import type * as sandboxActivities from '../../activities/sandbox';
import { asTypedFailure } from '../shared/failures';
import { RETRY_POLICIES } from '../../temporal/retry-policies';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import { taskQueuesForWorkflowQueue } from '../../temporal/task-queues';
import {
  REVIEW_LANGUAGES,
  REVIEW_TASK_KIND,
  reviewBaselineKey,
  type ReviewOutcome,
  type ReviewPhase,
  type ReviewTestCounts,
  type ScheduledReviewInput,
  type ScheduledReviewResult,
} from './definitions';

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
  const { review, analysis, tests, codacy } = activitiesFor(workflowInfo().taskQueue);
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
    if (!(REVIEW_LANGUAGES as readonly string[]).includes(input.language) || !input.repositoryPath?.startsWith('/')) {
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        nonRetryable: true,
        message: `A review needs an absolute repositoryPath and a language in ${REVIEW_LANGUAGES.join(', ')}.`,
      });
    }
    const reviewedAt = new Date().toISOString();
    const key = reviewBaselineKey(input);

    enter('SNAPSHOT');
    const snapshot = await review.snapshotRepository.executeWithOptions(
      { summary: `snapshot ${input.repositoryPath}` },
      [{ path: input.repositoryPath, language: input.language }],
    );

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
    const { baseline: previous } = await review.loadReviewBaseline({ key });
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
      summary: `${snapshot.fileCount} file(s), ${findings.totalFindings} finding(s): ${comparison.summary}${testLine}`,
    };
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
