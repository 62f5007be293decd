import {
  allHandlersFinished,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  log,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import { asTypedFailure } from '../shared/failures';
import type { CodingJobInput, CodingJobResult, LifecycleCheckpoint } from './definitions';
import { STEP_NAMES } from './details';
import { checkout, commitRound, deliver, roundMessage } from './git';
import { CodingJob, type Round } from './job';
import { PATCHES } from './patches';
import { awaitApproval, crossCheck, prepare, probeCheck, refactor, review, runTests, writeTestsFor } from './phases';
import { isExamplesPath } from '../../common/task-examples';
import type { FileSetRef } from '../../activities/artifacts/store';
import { compareScores, otherThanMissingTests, scoreOf, stalled, STALLED_ROUNDS, testsGreen } from './policy';

/**
 * A coding job, as durable steps: GENERATE → WRITE_TESTS → RUN_TESTS → REVIEW → (REFACTOR → RUN_TESTS
 * → REVIEW)* → (approval gate) → DONE. Task kinds enter at different states: TEST at WRITE_TESTS with
 * the user's code, DEBUG writes a reproducing test first, REVIEW only runs the tests and reviews,
 * DOCUMENT checks docstrings with a real rule.
 *
 * Stops on success, at the iteration budget, or at the token/cost budget. Deterministic; every step is
 * an activity on its pool's queue (proxies.ts), with code and reports in the artifact store and only
 * references here. The decisions are pure functions (policy.ts), the phases one function each
 * (phases.ts), and the job's state with its status query and approval gate a small class (job.ts).
 * The `status` query answers phase, iteration and the last test summary; every phase change updates
 * the search attributes, and the current details say the same in a few lines for the Web UI.
 * Fails with the catalogue type of the step that failed (e.g. ModelConfig when no model is set up);
 * `POST /api/workflows/:id/retry` resets a failed job to that step, keeping every finished one.
 *
 * Long loops continue as new every `continueAsNewAfter` rounds with a checkpoint of references
 * (`input.resume`). Cancelling waits for the sandbox to clean up. Both are behind `PATCHES`, so jobs
 * started by older code replay as they ran.
 *
 * Memory never fails a job: recall gives up after a few quick retries, and storing the finished job's
 * memory retries with the `remote` preset (minutes), so a Qdrant restart delays the job's close, not its memory.
 */
export async function codingLifecycleWorkflow(input: CodingJobInput): Promise<CodingJobResult> {
  const job = new CodingJob(input);
  job.setHandlers();
  try {
    const result = await lifecycle(job);
    // A job on a repository ends with its branch: the result's commit, the patch, the push and pull request.
    return job.git ? await deliver(job, result) : result;
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => job.enter('CANCELLED', 'Cancelled by request', 'cancelled'));
      throw err;
    }
    const failure = asTypedFailure(err, `${STEP_NAMES[job.status.phase]} failed`);
    job.failedType = failure.type ?? undefined;
    job.enter('FAILED', failure.message, 'failed');
    throw failure;
  }
}

/** The loop itself: prepare (or resume), then rounds until a result. */
async function lifecycle(job: CodingJob): Promise<CodingJobResult> {
  const { input, limits, usage } = job;
  const resume = input.resume;
  {
    if (resume) {
      ({
        code: job.code,
        userHasTests: job.userHasTests,
        memoryContext: job.memoryContext,
        lastFix: job.lastFix,
      } = resume);
      job.git = resume.git && { ...resume.git, commits: [...resume.git.commits] };
    } else {
      const checkedOut = input.repository && patched(PATCHES.gitRepository) ? await checkout(job) : undefined;
      await prepare(job, checkedOut);
    }
    if (job.singleShot) {
      return job.finish('unverified', 'Generated in one shot, as asked: not tested and not reviewed', job.code);
    }

    const firstIteration = resume?.iteration ?? 0;
    let feedback: string | undefined;
    let approvedBy = '';
    for (let iteration = firstIteration; ; iteration++) {
      job.status = { ...job.status, iteration };

      // Long loops continue as new between rounds, carrying references only, so the history stays small.
      const roundsThisRun = iteration - firstIteration;
      if (
        roundsThisRun > 0 &&
        (roundsThisRun >= limits.continueAsNewAfter || workflowInfo().continueAsNewSuggested) &&
        patched(PATCHES.continueAsNew)
      ) {
        await condition(allHandlersFinished);
        const checkpoint: LifecycleCheckpoint = {
          iteration,
          code: job.code,
          iterations: job.iterations,
          usage,
          startedAt: job.startedAt,
          userHasTests: job.userHasTests,
          memoryContext: job.memoryContext,
          memories: job.memories,
          lastFix: job.lastFix,
          runs: job.status.run ?? 1,
          ...(job.git ? { git: job.git } : {}),
        };
        log.info('continuing as new', { iteration, run: checkpoint.runs + 1 });
        // The input files are in the artifact store by now; the new run needs only the checkpoint.
        return await continueAsNew<typeof codingLifecycleWorkflow>({ ...input, files: undefined, resume: checkpoint });
      }
      let record = job.iterations[job.iterations.length - 1]!;

      // --- RUN_TESTS. No tests is green only where the task asks for none (review, document, deploy).
      let { tests, failures, exampleFailed } = await runTests(job, record, iteration);
      // The first round's code passes every example but fails some of its own tests: fresh drafts
      // give a second opinion on which side is wrong before the loop acts on either. Else the first
      // green round (examples and tests) gets one, on inputs off the examples. One a job.
      const adopted =
        iteration === 0 &&
        !resume &&
        tests &&
        tests.failed > 0 &&
        tests.errors === 0 &&
        !exampleFailed &&
        hasExamples(job.code) &&
        patched(PATCHES.crossCheckDrafts)
          ? await crossCheck(job)
          : !job.secondOpinion &&
              !resume &&
              tests &&
              tests.failed === 0 &&
              tests.errors === 0 &&
              job.language === 'python' &&
              hasExamples(job.code) &&
              patched(PATCHES.probeDrafts)
            ? await probeCheck(job, iteration)
            : undefined;
      if (adopted) {
        record = adopted;
        ({ tests, failures, exampleFailed } = await runTests(job, record, iteration));
      }
      const missingTests = job.testsRequired && !tests;
      const testsPass = testsGreen(tests, missingTests);

      // --- REVIEW
      const reviewed = await review(job, record, { tests, failures, testsGreen: testsPass, missingTests });
      const { findings, blocking } = reviewed;
      if (input.task === 'review') {
        return job.finish('succeeded', `Reviewed: ${record.findings!.summary}`, job.code);
      }

      // The best round so far. A real model's rewrite can break what worked: the loop goes on from the
      // best round, not from a worse one, and a job that runs out of budget returns the best code.
      const round: Round = {
        code: job.code,
        score: scoreOf({
          ...(patched(PATCHES.taskExamples) ? { exampleFailed } : {}),
          testsGreen: testsPass,
          findings,
          tests,
          blocking,
        }),
        failures,
        blocking,
        verdict: reviewed.verdict,
        iteration,
      };
      if (job.realLoop && (!job.best || compareScores(round.score, job.best.score) >= 0)) job.best = round;
      // An accepted round (the best so far) is a commit on the job's branch.
      if (job.git && job.best === round) await commitRound(job, round.code, roundMessage(job, round));

      // --- AWAITING_APPROVAL, then DONE
      const green = testsPass && blocking.length === 0;
      if (green) {
        if (input.options?.requireApproval) {
          const { decision, decided } = await awaitApproval(job);
          if (decision.kind === 'reject') {
            await job.remember(false);
            const why = decided
              ? `Rejected by the reviewer${decision.text ? `: ${decision.text}` : ''}`
              : `No decision within ${limits.approvalTimeout}; the default outcome is to reject`;
            return job.finish('rejected', why, job.code);
          }
          if (decision.kind === 'changes') feedback = decision.text;
          if (!decided)
            approvedBy = `No decision within ${limits.approvalTimeout}; the default outcome is to approve. `;
        }
        if (!feedback) {
          await job.remember(true);
          return job.finish(
            'succeeded',
            `${approvedBy}Done after ${iteration} refactor round(s): ${tests?.summary ?? 'no tests'}`,
            job.code,
          );
        }
      }

      if (
        stalled({ green, iteration, bestIteration: job.best?.iteration, maxIterations: limits.maxIterations }) &&
        patched(PATCHES.taskExamples)
      ) {
        await job.remember(false);
        const best = job.best!.iteration;
        return job.finish(
          'budget-exhausted',
          `Stopped: the last ${STALLED_ROUNDS} rewrites did no better than round ${best} ` +
            `(${tests?.summary ?? ''} ${blocking.length} blocking finding(s)); the files are those of round ${best}`,
          job.bestCode(),
        );
      }
      if (iteration >= limits.maxIterations) {
        await job.remember(false);
        return job.finish(
          'budget-exhausted',
          `Stopped at the iteration budget (${limits.maxIterations}): ${tests?.summary ?? ''} ${blocking.length} blocking finding(s)` +
            (job.best && job.best.code !== job.code
              ? `; the files are those of round ${job.best.iteration}, the best one`
              : ''),
          job.bestCode(),
        );
      }
      if (job.overBudget()) {
        await job.remember(false);
        return job.finish(
          'budget-exhausted',
          `Stopped at the token/cost budget (${usage.totalTokens} tokens, $${usage.costUsd.toFixed(4)})`,
          job.bestCode(),
        );
      }

      // --- REFACTOR (with tests written again first, where the round had none)
      job.status = { ...job.status, iteration: iteration + 1 };
      job.enter(
        'REFACTOR',
        feedback
          ? "Refactoring with the reviewer's feedback"
          : `Refactoring: ${tests?.summary ?? ''} ${blocking.length} blocking finding(s)`,
      );
      if (missingTests) {
        job.code = await writeTestsFor(job, iteration + 1, `write tests again (iteration ${iteration + 1})`);
      }
      // Tests written anew are the whole round unless something else was found wrong too.
      if (missingTests && otherThanMissingTests(blocking).length === 0 && !feedback) continue;
      const { budgetStopped } = await refactor(job, round, { iteration, feedback, testsGreen: testsPass });
      feedback = undefined;
      if (budgetStopped) {
        await job.remember(false);
        return job.finish(
          'budget-exhausted',
          `Stopped before a refactor call that would cross the token/cost budget (${usage.totalTokens} tokens, $${usage.costUsd.toFixed(4)} spent)`,
          job.bestCode(),
        );
      }
    }
  }
}

/** Whether the job's files hold the task's examples as a test file (written by GENERATE's drafts). */
function hasExamples(code: FileSetRef): boolean {
  return code.files.some((f) => isExamplesPath(f.path));
}
