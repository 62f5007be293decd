import {
  ActivityCancellationType,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as analysisActivities from '../../activities/analysis';
import type { FileSetRef } from '../../activities/artifacts/store';
import type * as fileActivities from '../../activities/files';
import type * as jobMemoryActivities from '../../activities/job-memory';
import type * as llmActivities from '../../activities/llm';
import type * as sandboxActivities from '../../activities/sandbox';
import { FAILURES, isFailureType } from '../../common/failures';
import { isExampleFailure } from '../../common/task-examples';
import { namedApis } from '../../common/task-names';
import { isTestPath } from '../../common/test-files';
import { RETRY_POLICIES } from '../../temporal/retry-policies';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import { taskQueuesForWorkflowQueue } from '../../temporal/task-queues';
import { asTypedFailure } from '../shared/failures';
import {
  approveUpdate,
  EMPTY_USAGE,
  rejectSignal,
  requestChangesUpdate,
  statusQuery,
  type CodingJobInput,
  type CodingJobResult,
  type CodingJobStatus,
  type FindingSummary,
  type IterationRecord,
  type Language,
  type LifecycleCheckpoint,
  type Outcome,
  type Phase,
  type RecalledMemory,
  type TestSummary,
  type TokenUsage,
} from './definitions';

function activitiesFor(workflowTaskQueue: string) {
  const queues = taskQueuesForWorkflowQueue(workflowTaskQueue);
  const sandboxOptions = {
    taskQueue: queues.sandbox,
    startToCloseTimeout: '10m',
    heartbeatTimeout: '1m',
    retry: RETRY_POLICIES.sandbox,
  } as const;
  return {
    files: proxyActivities<typeof fileActivities>({
      taskQueue: queues.memory,
      startToCloseTimeout: '30s',
      retry: RETRY_POLICIES.local,
    }),
    memory: proxyActivities<typeof jobMemoryActivities>({
      taskQueue: queues.memory,
      startToCloseTimeout: '1m',
      retry: RETRY_POLICIES.local,
    }),
    remember: proxyActivities<typeof jobMemoryActivities>({
      taskQueue: queues.memory,
      startToCloseTimeout: '1m',
      // Storing a finished job's memory waits out a Qdrant restart (minutes); only the job's close waits on it.
      retry: RETRY_POLICIES.remote,
    }),
    llm: proxyActivities<typeof llmActivities>({
      taskQueue: queues.llm,
      // Model calls stream for minutes on big tasks; the heartbeat catches a dead worker much sooner.
      startToCloseTimeout: '10m',
      heartbeatTimeout: '1m',
      retry: RETRY_POLICIES.llm,
    }),
    refactor: proxyActivities<typeof llmActivities>({
      taskQueue: queues.llm,
      // One model call per file: a big refactor takes long, and resumes from its heartbeat after a crash.
      // The model client heartbeats every second while it waits or streams, so 20 s of silence is a dead worker.
      startToCloseTimeout: '30m',
      heartbeatTimeout: '20s',
      retry: RETRY_POLICIES.llm,
    }),
    sandbox: proxyActivities<typeof sandboxActivities & typeof analysisActivities>({
      ...sandboxOptions,
      // A cancelled job closes only once the sandbox has killed the code's process tree and removed its workspace.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
    /** The sandbox as jobs started before PATCHES.sandboxCancelWaits call it: a cancel does not wait. */
    sandboxTryCancel: proxyActivities<typeof sandboxActivities & typeof analysisActivities>(sandboxOptions),
  };
}

/**
 * Changes to the lifecycle that running jobs replay: each is taken only where `patched()` says the
 * history was made by code that knew it (the replay tests over histories recorded before each change
 * prove it). Remove one with `deprecatePatch` once no job from before it can still be running.
 */
const PATCHES = {
  /** Cancelling a job waits for the sandbox to kill the code and remove its workspace. */
  sandboxCancelWaits: 'sandbox-cancel-waits',
  /** Long loops continue as new between refactor rounds. */
  continueAsNew: 'continue-as-new-between-rounds',
  /**
   * The loop as real models need it: no tests is never green (tests are written again), the API the
   * task names must exist, the review judges failing tests against the task and the refactor fixes
   * the side it found wrong.
   */
  realModelLoop: 'real-model-loop',
  /**
   * The task's own examples rank a round first (a round that fails one is worse than any that passes
   * them all), and a loop whose last rewrites did no better than its best round stops there.
   */
  taskExamples: 'task-examples',
} as const;

/** Rewrites in a row that may do no better than the best round before the loop stops. */
const STALLED_ROUNDS = 2;

/** Tasks that must end with tests that ran and passed. */
const NEEDS_TESTS = new Set(['generate', 'refactor', 'debug', 'test']);

/** Which tasks write code first, and which only check what the user gave. */
const GENERATES = new Set(['generate', 'document', 'deploy']);

/**
 * A coding job, as durable steps: GENERATE → WRITE_TESTS → RUN_TESTS → REVIEW → (REFACTOR → RUN_TESTS
 * → REVIEW)* → (approval gate) → DONE. Task kinds enter at different states: TEST at WRITE_TESTS with
 * the user's code, DEBUG writes a reproducing test first, REVIEW only runs the tests and reviews,
 * DOCUMENT checks docstrings with a real rule.
 *
 * Stops on success, at the iteration budget, or at the token/cost budget. Deterministic; every step is
 * an activity on its pool's queue, with code and reports in the artifact store and only references
 * here. The `status` query answers phase, iteration and the last test summary; every phase change
 * updates the search attributes, and the current details say the same in a few lines for the Web UI.
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
  const act = activitiesFor(workflowInfo().taskQueue);
  const language: Language = input.language ?? 'python';
  const project = input.project ?? 'default';
  const limits = {
    maxIterations: input.options?.maxIterations ?? input.defaults?.maxIterations ?? 4,
    maxTokens: input.options?.maxTokens ?? input.defaults?.maxTokens ?? 200_000,
    maxCostUsd: input.options?.maxCostUsd ?? input.defaults?.maxCostUsd ?? 2,
    approvalTimeout: input.options?.approvalTimeout ?? input.defaults?.approvalTimeout ?? '24h',
    approvalDefault: input.options?.approvalDefault ?? input.defaults?.approvalDefault ?? 'reject',
    continueAsNewAfter: input.options?.continueAsNewAfter ?? input.defaults?.continueAsNewAfter ?? 10,
  };
  const resume = input.resume;
  const singleShot = input.options?.singleShot === true;
  const realLoop = patched(PATCHES.realModelLoop);
  // Only new code is held to the names its task gives: a refactor may rename, a debug keeps the user's.
  const names = realLoop && input.task === 'generate' ? namedApis(input.description) : [];
  const testsRequired = realLoop && NEEDS_TESTS.has(input.task);
  let memories: RecalledMemory[] | undefined = resume?.memories;
  let best: Round | undefined;
  const started = resume?.startedAt ?? new Date().toISOString();
  const usage: TokenUsage = { ...EMPTY_USAGE, ...resume?.usage };
  const iterations: IterationRecord[] = [...(resume?.iterations ?? [])];
  const lastTests = [...iterations].reverse().find((i) => i.tests)?.tests;
  let status: CodingJobStatus = {
    task: input.task,
    phase: 'QUEUED',
    outcome: 'running',
    iteration: resume?.iteration ?? 0,
    startedAt: started,
    updatedAt: new Date().toISOString(),
    message: resume ? `Continued in run ${resume.runs + 1}` : 'Queued',
    usage,
    awaitingApproval: false,
    lastTests: lastTests && countsAndSummary(lastTests),
    run: (resume?.runs ?? 0) + 1,
  };
  let failedType: string | undefined;
  let decision: { kind: 'approve' | 'reject' | 'changes'; text?: string } | undefined;
  // Read through a function: TypeScript would otherwise keep the narrowing from before the await.
  const decisionNow = () => decision;

  setHandler(statusQuery, () => status, {
    description: 'Phase, iteration, the last test summary, usage, and whether the job waits for approval.',
  });
  setHandler(
    approveUpdate,
    (_input) => {
      decision = { kind: 'approve', text: _input.comment };
      return status;
    },
    {
      validator: (_input) => assertAwaitingApproval(),
      description: 'Approve the job at its approval gate: it finishes as succeeded.',
    },
  );
  setHandler(
    requestChangesUpdate,
    (changes) => {
      decision = { kind: 'changes', text: changes.feedback };
      return status;
    },
    {
      description:
        'Request changes at the approval gate: { feedback } drives another refactor round, then the gate again.',
      validator: (changes) => {
        assertAwaitingApproval();
        if (!changes || typeof changes.feedback !== 'string' || changes.feedback.trim() === '') {
          throw ApplicationFailure.create({ type: 'InvalidInput', message: 'feedback must be a non-empty string' });
        }
      },
    },
  );
  setHandler(
    rejectSignal,
    (reason) => {
      if (status.awaitingApproval) decision = { kind: 'reject', text: reason?.comment };
    },
    { description: 'Reject the job at its approval gate: it finishes as rejected.' },
  );
  function assertAwaitingApproval(): void {
    if (!status.awaitingApproval) {
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        message: `The job is not waiting for approval (phase ${status.phase}).`,
      });
    }
  }

  const sandbox = () => (patched(PATCHES.sandboxCancelWaits) ? act.sandbox : act.sandboxTryCancel);
  const enter = (phase: Phase, message: string, outcome: Outcome = status.outcome) => {
    status = { ...status, phase, message, outcome, updatedAt: new Date().toISOString(), usage: { ...usage } };
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.phase, value: phase },
      { key: SEARCH_ATTRIBUTES.iteration, value: status.iteration },
      { key: SEARCH_ATTRIBUTES.outcome, value: outcome },
    ]);
    setCurrentDetails(detailsFor(status, limits.maxIterations, iterations, failedType));
    log.info('phase', { phase, iteration: status.iteration, message });
  };
  const count = (u: llmActivities.ModelCallUsage): TokenUsage => {
    usage.promptTokens += u.promptTokens;
    usage.completionTokens += u.completionTokens;
    usage.totalTokens += u.totalTokens;
    if (u.pricing) usage.pricing = u.pricing;
    // A cached answer was paid for by an earlier attempt; it is not billed again.
    if (u.cached) usage.cachedCalls += 1;
    else usage.costUsd += u.costUsd;
    return { ...EMPTY_USAGE, ...u, cachedCalls: u.cached ? 1 : 0 };
  };
  const overBudget = () => usage.totalTokens >= limits.maxTokens || usage.costUsd >= limits.maxCostUsd;
  const finish = (outcome: Outcome, message: string, files?: FileSetRef): CodingJobResult => {
    enter(outcome === 'succeeded' || outcome === 'unverified' ? 'DONE' : 'FAILED', message, outcome);
    const last = iterations[iterations.length - 1];
    return {
      outcome,
      task: input.task,
      language,
      files: files ?? last?.files,
      explanation: iterations
        .map((i) => i.explanation)
        .filter(Boolean)
        .join('\n\n'),
      iterations,
      usage: { ...usage },
      message,
      ...(memories ? { memories } : {}),
      ...(names.length ? { namedApi: names } : {}),
    };
  };

  try {
    let code: FileSetRef;
    let userHasTests: boolean;
    let memoryContext: string | undefined;
    let lastFix: { from: FileSetRef; explanation: string } | undefined;
    if (resume) {
      ({ code, userHasTests, memoryContext, lastFix } = resume);
    } else {
      ({ code, userHasTests, memoryContext, memories } = await prepare());
    }
    if (singleShot) return finish('unverified', 'Generated in one shot, as asked: not tested and not reviewed', code);

    // What a refactor may rewrite: the tests for TEST jobs, the container file and manifests for DEPLOY
    // jobs, the code for everything else; and any other non-test file a blocking finding points at.
    // A blocking finding may name a file that does not exist yet (a DOCUMENT job's missing README).
    // Tests the job wrote itself (GENERATE, REFACTOR) can be wrong too: a test file a blocking finding
    // names is rewritten with the code. The user's tests are the spec, and a DEBUG job's reproducing
    // test is the bug: neither is ever rewritten to make a job pass.
    const mayFixOwnTests = !userHasTests && (input.task === 'generate' || input.task === 'refactor');
    // When tests fail, the review says from the task which side is wrong: only the job's own tests
    // can be the wrong side ("tests" rewrites them and leaves the code alone unless a finding names it).
    const targetsOf = (files: FileSetRef, blocking: FindingSummary[], wrong?: 'code' | 'tests' | 'both' | null) => {
      const present = files.files.map((f) => f.path);
      const named = (p: string) => blocking.some((f) => f.file === p);
      const missing = blocking.map((f) => f.file).filter((p) => p && !present.includes(p) && !isTestPath(p));
      const testsWrong = realLoop && mayFixOwnTests && (wrong === 'tests' || wrong === 'both');
      const codeWrong = !(realLoop && mayFixOwnTests && wrong === 'tests');
      const targets = present.filter((p) => {
        if (input.task === 'test') return isTestPath(p);
        if (isTestPath(p)) return mayFixOwnTests && (named(p) || testsWrong);
        return ((input.task === 'deploy' ? isDeployArtefact(p) : isSource(p)) && codeWrong) || named(p);
      });
      return input.task === 'test' ? targets : [...targets, ...new Set(missing)];
    };

    const firstIteration = resume?.iteration ?? 0;
    let feedback: string | undefined;
    let approvedBy = '';
    for (let iteration = firstIteration; ; iteration++) {
      status = { ...status, iteration };

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
          code,
          iterations,
          usage,
          startedAt: started,
          userHasTests,
          memoryContext,
          memories,
          lastFix,
          runs: status.run ?? 1,
        };
        log.info('continuing as new', { iteration, run: checkpoint.runs + 1 });
        // The input files are in the artifact store by now; the new run needs only the checkpoint.
        return await continueAsNew<typeof codingLifecycleWorkflow>({ ...input, files: undefined, resume: checkpoint });
      }
      const record = iterations[iterations.length - 1]!;

      // --- RUN_TESTS
      let tests: TestSummary | undefined;
      let failures = '';
      let exampleFailed = false;
      if (code.files.some((f) => isTestPath(f.path))) {
        enter('RUN_TESTS', 'Running the tests in the sandbox');
        const run = await sandbox().runTests.executeWithOptions({ summary: `run tests (iteration ${iteration})` }, [
          { files: code, language },
        ]);
        tests = { ...countsOf(run.report), summary: run.summary };
        record.tests = { ...tests, stdout: run.stdout, stderr: run.stderr };
        status = { ...status, lastTests: tests };
        exampleFailed = run.report.failures.some((f) => isExampleFailure(f.name));
        failures = run.report.failures
          .map((f) => `- ${f.name}: ${f.message}${f.trace ? `\n${f.trace}` : ''}`)
          .join('\n')
          .slice(0, 8_000);
      }
      // No tests is green only where the task asks for none (review, document, deploy).
      const missingTests = testsRequired && !tests;
      const testsGreen = tests ? tests.failed === 0 && tests.errors === 0 && tests.passed > 0 : !missingTests;

      // --- REVIEW: static analysis (real linters), then the model's review with that evidence.
      enter('REVIEW', tests ? `Reviewing (${tests.summary})` : 'Reviewing');
      const analysis = await sandbox().analyzeCode.executeWithOptions({ summary: 'static analysis' }, [
        {
          files: code,
          language,
          ruleset: RULESETS[input.task] ?? 'default',
          ...(names.length ? { expectedNames: names } : {}),
        },
      ]);
      const findings: FindingSummary[] = analysis.findings.map((f) => ({
        source: f.tool,
        severity: f.severity,
        // Lint errors block; docs rules (pydocstyle D, flake8-annotations ANN, jsdoc) block a DOCUMENT job, whatever their severity.
        blocking: f.severity === 'error' || (input.task === 'document' && /^(D|ANN)\d|jsdoc/i.test(f.rule)),
        file: f.file,
        line: f.line,
        message: `${f.rule}: ${f.message}`,
      }));
      const review = await act.llm.reviewCode.executeWithOptions({ summary: 'model review' }, [
        {
          description: input.description,
          language,
          files: code,
          analysis: findings.map((f) => `${f.file}:${f.line} [${f.source}] ${f.message}`).join('\n'),
          tests: tests?.summary ?? 'no tests',
          ...(realLoop && failures ? { failures } : {}),
          ...(realLoop && tests && testsGreen ? { testsGreen: true } : {}),
        },
      ]);
      record.usage = addTo(record.usage, count(review.usage));
      findings.push(
        ...review.findings.map((f) => ({
          source: 'review',
          severity: f.severity,
          blocking: f.severity === 'blocking',
          file: f.file,
          line: f.line ?? 0,
          message: f.suggestion ? `${f.message} (suggestion: ${f.suggestion})` : f.message,
        })),
      );
      if (missingTests) {
        findings.push({
          source: 'tests',
          severity: 'error',
          blocking: true,
          file: '',
          line: 0,
          message: 'No tests were written, so nothing shows that the code works: tests are written again.',
        });
      }
      const blocking = findings.filter((f) => f.blocking);
      record.findings = {
        blocking: blocking.length,
        total: findings.length,
        summary: `${blocking.length} blocking of ${findings.length}. ${analysis.summary} ${oneLine(review.summary, 200)}`,
        report: analysis.report,
        items: findings.slice(0, 50),
      };

      if (input.task === 'review') {
        return finish('succeeded', `Reviewed: ${record.findings.summary}`, code);
      }

      const green = testsGreen && blocking.length === 0;
      // The best round so far. A real model's rewrite can break what worked: the loop goes on from the
      // best round, not from a worse one, and a job that runs out of budget returns the best code.
      const round: Round = {
        code,
        score: [
          ...(patched(PATCHES.taskExamples) ? [exampleFailed ? 0 : 1] : []),
          testsGreen ? 1 : 0,
          findings.some((f) => f.source === 'task') ? 0 : 1,
          tests?.passed ?? 0,
          -blocking.length,
        ],
        failures,
        blocking,
        verdict: review.failingTests ?? null,
        iteration,
      };
      if (realLoop && (!best || compareScores(round.score, best.score) >= 0)) best = round;
      const bestCode = () => (realLoop && best ? best.code : code);
      if (green) {
        if (input.options?.requireApproval) {
          enter('AWAITING_APPROVAL', 'Waiting for a reviewer to approve or request changes');
          status = { ...status, awaitingApproval: true };
          decision = undefined;
          const decided = await condition(() => decision !== undefined, limits.approvalTimeout);
          status = { ...status, awaitingApproval: false };
          const outcome: { kind: 'approve' | 'reject' | 'changes'; text?: string } = decided
            ? (decisionNow() ?? { kind: 'reject' })
            : { kind: limits.approvalDefault };
          if (outcome.kind === 'reject') {
            await remember(false);
            const why = decided
              ? `Rejected by the reviewer${outcome.text ? `: ${outcome.text}` : ''}`
              : `No decision within ${limits.approvalTimeout}; the default outcome is to reject`;
            return finish('rejected', why, code);
          }
          if (outcome.kind === 'changes') feedback = outcome.text;
          if (!decided)
            approvedBy = `No decision within ${limits.approvalTimeout}; the default outcome is to approve. `;
        }
        if (!feedback) {
          await remember(true);
          return finish(
            'succeeded',
            `${approvedBy}Done after ${iteration} refactor round(s): ${tests?.summary ?? 'no tests'}`,
            code,
          );
        }
      }

      if (
        !green &&
        best &&
        iteration - best.iteration >= STALLED_ROUNDS &&
        iteration < limits.maxIterations &&
        patched(PATCHES.taskExamples)
      ) {
        await remember(false);
        return finish(
          'budget-exhausted',
          `Stopped: the last ${STALLED_ROUNDS} rewrites did no better than round ${best.iteration} ` +
            `(${tests?.summary ?? ''} ${blocking.length} blocking finding(s)); the files are those of round ${best.iteration}`,
          bestCode(),
        );
      }
      if (iteration >= limits.maxIterations) {
        await remember(false);
        return finish(
          'budget-exhausted',
          `Stopped at the iteration budget (${limits.maxIterations}): ${tests?.summary ?? ''} ${blocking.length} blocking finding(s)` +
            (best && best.code !== code ? `; the files are those of round ${best.iteration}, the best one` : ''),
          bestCode(),
        );
      }
      if (overBudget()) {
        await remember(false);
        return finish(
          'budget-exhausted',
          `Stopped at the token/cost budget (${usage.totalTokens} tokens, $${usage.costUsd.toFixed(4)})`,
          bestCode(),
        );
      }

      // --- REFACTOR
      status = { ...status, iteration: iteration + 1 };
      enter(
        'REFACTOR',
        feedback
          ? "Refactoring with the reviewer's feedback"
          : `Refactoring: ${tests?.summary ?? ''} ${blocking.length} blocking finding(s)`,
      );
      if (missingTests)
        code = await writeTestsFor(code, iteration + 1, `write tests again (iteration ${iteration + 1})`);
      // Tests written anew are the whole round unless something else was found wrong too.
      const otherBlocking = blocking.filter((f) => f.source !== 'tests');
      if (missingTests && otherBlocking.length === 0 && !feedback) continue;
      // A round worse than the best one is dropped: the rewrite starts again from the best round.
      const from = realLoop && best && compareScores(round.score, best.score) < 0 ? best : round;
      if (from !== round) {
        code = from.code;
        log.info('the last rewrite made things worse; going on from the best round', { best: from.iteration });
      }
      const targets = targetsOf(
        code,
        from === round ? otherBlocking : from.blocking.filter((f) => f.source !== 'tests'),
        from.verdict,
      );
      const before = code;
      const refactored = await act.refactor.refactorCode.executeWithOptions(
        { summary: `refactor ${targets.length} file(s) (iteration ${iteration + 1})` },
        [
          {
            description: input.description,
            language,
            files: code,
            targets,
            failures: from.failures,
            findings: from.blocking
              .map((f) => `- ${f.file}:${f.line} [${f.source}] ${f.message}`)
              .join('\n')
              .slice(0, 6_000),
            feedback,
            memoryContext,
            error: input.task === 'debug' ? input.error : undefined,
            ...(realLoop ? { attempt: iteration + 1 } : {}),
            budget: { tokens: limits.maxTokens - usage.totalTokens, costUsd: limits.maxCostUsd - usage.costUsd },
          },
        ],
      );
      code = refactored.files;
      if (!testsGreen) lastFix = { from: before, explanation: refactored.explanation };
      iterations.push({
        iteration: iteration + 1,
        step: 'refactor',
        files: code,
        explanation:
          from === round
            ? refactored.explanation
            : `(From round ${from.iteration}, the best so far: the rewrite after it made things worse.)\n${refactored.explanation}`,
        usage: count(refactored.usage),
        feedback,
      });
      feedback = undefined;
      if (refactored.budgetStopped) {
        await remember(false);
        return finish(
          'budget-exhausted',
          `Stopped before a refactor call that would cross the token/cost budget (${usage.totalTokens} tokens, $${usage.costUsd.toFixed(4)} spent)`,
          bestCode(),
        );
      }
    }

    async function remember(survived: boolean): Promise<void> {
      await act.remember.rememberJob
        .executeWithOptions({ summary: 'remember the finished job' }, [
          {
            jobId: workflowInfo().workflowId,
            tenant: input.tenant ?? 'local',
            project,
            language,
            task: input.task,
            description: input.description,
            files: code,
            survived,
            fixedFrom: lastFix?.from,
            fixExplanation: lastFix?.explanation,
            reviewSummary: iterations[iterations.length - 1]?.findings?.summary,
          },
        ])
        // Memory is a bonus; a store outage must not fail finished work.
        .catch((err: unknown) => log.warn('could not store memory', { error: String(err) }));
    }
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => enter('CANCELLED', 'Cancelled by request', 'cancelled'));
      throw err;
    }
    const failure = asTypedFailure(err, `${STEP_NAMES[status.phase]} failed`);
    failedType = failure.type ?? undefined;
    enter('FAILED', failure.message, 'failed');
    throw failure;
  }

  /** The first steps of a new job: store the input, recall memory, generate code and write tests. */
  async function prepare(): Promise<{
    code: FileSetRef;
    userHasTests: boolean;
    memoryContext?: string;
    memories?: RecalledMemory[];
  }> {
    let code: FileSetRef | undefined =
      input.files && Object.keys(input.files).length > 0
        ? (
            await act.files.storeFiles.executeWithOptions({ summary: 'store the job input files' }, [
              { files: input.files },
            ])
          ).files
        : undefined;
    const userHasTests = !!code?.files.some((f) => isTestPath(f.path));

    let memoryContext: string | undefined;
    let memories: RecalledMemory[] | undefined;
    if (!singleShot && ['generate', 'debug', 'refactor'].includes(input.task)) {
      const recalled = await act.memory.recallForJob
        .executeWithOptions({ summary: 'recall related memory' }, [
          { query: `${input.description}\n${input.error ?? ''}`, project, language, tenant: input.tenant ?? 'local' },
        ])
        // Memory makes jobs better, never blocks them.
        .catch(() => undefined);
      memoryContext = recalled?.context || undefined;
      memories = recalled?.used;
    }

    // --- GENERATE (generate, document, deploy)
    if (GENERATES.has(input.task) || !code) {
      enter('GENERATE', `Writing ${language} code`);
      const generated = await act.llm.generateCode.executeWithOptions(
        { summary: `${input.task}: ${oneLine(input.description)}` },
        [
          {
            task: GENERATES.has(input.task) ? input.task : 'generate',
            description: input.description,
            language,
            files: code,
            context: input.context,
            requirements: input.requirements,
            memoryContext,
          },
        ],
      );
      code = generated.files;
      iterations.push({
        iteration: 0,
        step: 'generate',
        files: code,
        explanation: generated.explanation,
        usage: count(generated.usage),
      });
    } else {
      iterations.push({ iteration: 0, step: 'input', files: code, explanation: '', usage: { ...EMPTY_USAGE } });
    }

    // --- WRITE_TESTS: every task but REVIEW, DOCUMENT and DEPLOY, unless the user brought tests.
    const needsTests =
      !singleShot &&
      (input.task === 'test' ||
        input.task === 'debug' ||
        (!userHasTests && ['generate', 'refactor'].includes(input.task)));
    if (needsTests) {
      enter('WRITE_TESTS', input.task === 'debug' ? 'Writing a test that reproduces the error' : 'Writing tests');
      code = await writeTestsFor(
        code,
        0,
        input.task === 'debug' ? 'write a reproducing test' : 'write tests',
        memoryContext,
      );
    }
    return { code, userHasTests, memoryContext, memories };
  }

  /** WRITE_TESTS: tests for `code` (for DEBUG, a test that reproduces the error), recorded as a step of `iteration`. */
  async function writeTestsFor(
    code: FileSetRef,
    iteration: number,
    summary: string,
    memoryContext?: string,
  ): Promise<FileSetRef> {
    const written = await act.llm.writeTests.executeWithOptions({ summary }, [
      {
        task: input.task,
        description: input.description,
        language,
        files: code,
        requirements: input.requirements,
        error: input.task === 'debug' ? (input.error ?? input.description) : undefined,
        context: input.context,
        ...(memoryContext ? { memoryContext } : {}),
      },
    ]);
    iterations.push({
      iteration,
      step: 'write-tests',
      files: written.files,
      explanation: written.explanation,
      usage: count(written.usage),
    });
    return written.files;
  }
}

/** One round of the loop as the refactor needs it, with its score. */
interface Round {
  code: FileSetRef;
  /**
   * The task's examples pass, tests green, named API present, tests passed, minus blocking findings:
   * compared in that order.
   */
  score: number[];
  failures: string;
  blocking: FindingSummary[];
  verdict: 'code' | 'tests' | 'both' | null;
  iteration: number;
}

/** Lexicographic: positive when `a` is the better round. */
function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Which analysis rules a task is held to: docs rules block DOCUMENT, the deploy asks (limits, probes, non-root) block DEPLOY. */
const RULESETS: Partial<Record<CodingJobInput['task'], 'docs' | 'deploy'>> = { document: 'docs', deploy: 'deploy' };

/** How a failure message names the step that failed. */
const STEP_NAMES: Record<Phase, string> = {
  QUEUED: 'Storing the input',
  GENERATE: 'Generating code',
  WRITE_TESTS: 'Writing tests',
  RUN_TESTS: 'Running the tests',
  REVIEW: 'Reviewing',
  REFACTOR: 'Refactoring',
  AWAITING_APPROVAL: 'Waiting for approval',
  DONE: 'Finishing',
  FAILED: 'Finishing',
  CANCELLED: 'Cancelling',
};

/**
 * What the Web UI shows as the job's current details: where it stands, in a few Markdown lines,
 * so nobody has to read the JSON of an activity to know.
 */
function detailsFor(
  status: CodingJobStatus,
  maxIterations: number,
  iterations: IterationRecord[],
  failedType?: string,
): string {
  const lines = [
    `**${status.phase}** · iteration ${status.iteration} of at most ${maxIterations}${status.run && status.run > 1 ? ` · run ${status.run}` : ''}`,
    status.message,
  ];
  if (status.lastTests) lines.push(`**Last tests:** ${status.lastTests.summary}`);
  const findings = [...iterations].reverse().find((i) => i.findings)?.findings;
  if (findings) {
    lines.push(`**Last review:** ${findings.summary}`);
    for (const f of (findings.items ?? []).filter((i) => i.blocking).slice(0, 5)) {
      lines.push(`- ${f.file}:${f.line} [${f.source}] ${oneLine(f.message, 160)}`);
    }
  }
  lines.push(`**Usage:** ${status.usage.totalTokens} tokens, $${status.usage.costUsd.toFixed(4)}`);
  if (failedType && isFailureType(failedType)) {
    lines.push(
      `**Failure type:** ${failedType}. **What to do:** ${FAILURES[failedType].hint} A retry resumes from this step; finished steps are not redone.`,
    );
  }
  return lines.join('\n\n');
}

function countsAndSummary(t: TestSummary): TestSummary {
  return { passed: t.passed, failed: t.failed, errors: t.errors, skipped: t.skipped, summary: t.summary };
}

function countsOf(report: { passed: number; failed: number; errors: number; skipped: number }) {
  return { passed: report.passed, failed: report.failed, errors: report.errors, skipped: report.skipped };
}

function addTo(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    costUsd: a.costUsd + b.costUsd,
    cachedCalls: a.cachedCalls + b.cachedCalls,
  };
}

function isDeployArtefact(p: string): boolean {
  return /(^|\/)(Dockerfile|Containerfile)([.-][^/]*)?$|\.dockerfile$|\.ya?ml$/i.test(p);
}

function isSource(p: string): boolean {
  return /\.(py|[cm]?[jt]sx?)$/.test(p);
}

function oneLine(text: string, max = 80): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
