import { condition, log, patched } from '@temporalio/workflow';
import { PATCHES } from './patches';
import type { FileSetRef } from '../../activities/artifacts/store';
import type { GenerateCodeResult } from '../../activities/llm';
import type { TestReport } from '../../activities/sandbox';
import { isExampleFailure } from '../../common/task-examples';
import { isTestPath } from '../../common/test-files';
import type { CodingJob, Decision, Round } from './job';
import { stepFailureType } from '../shared/failures';
import { EMPTY_USAGE, type FindingSummary, type IterationRecord, type TestSummary } from './definitions';
import {
  addUsage,
  analysisFindings,
  compareScores,
  countsOf,
  generatesFirst,
  generatorTask,
  mayFixOwnTests,
  MISSING_TESTS_FINDING,
  needsTests,
  oneLine,
  recallsMemory,
  refactorTargets,
  reviewFindings,
  rulesetOf,
} from './policy';

/**
 * The lifecycle's phases, one function each. Each runs its activities, records what it did in the
 * job's iterations and enters its phase; the loop in workflow.ts decides which comes next.
 */

/** The first steps of a new job: store the input, recall memory, GENERATE, and WRITE_TESTS. */
export async function prepare(job: CodingJob, checkedOut?: FileSetRef): Promise<void> {
  const { input, act } = job;
  // A job on a repository starts from the files checked out (git.ts); others from the request's files.
  let code: FileSetRef | undefined = checkedOut?.files.length
    ? checkedOut
    : input.files && Object.keys(input.files).length > 0
      ? (
          await act.files.storeFiles.executeWithOptions({ summary: 'store the job input files' }, [
            { files: input.files },
          ])
        ).files
      : undefined;
  job.userHasTests = !!code?.files.some((f) => isTestPath(f.path));

  if (recallsMemory(input.task, job.singleShot)) {
    const recalled = await act.memory.recallForJob
      .executeWithOptions({ summary: 'recall related memory' }, [
        {
          query: `${input.description}\n${input.error ?? ''}`,
          project: job.project,
          language: job.language,
          tenant: job.tenant,
        },
      ])
      // Memory makes jobs better, never blocks them.
      .catch(() => undefined);
    job.memoryContext = recalled?.context || undefined;
    job.memories = recalled?.used;
  }

  if (generatesFirst(input.task, !!code)) {
    job.enter('GENERATE', `Writing ${job.language} code`);
    const drafts = draftsFor(job);
    job.drafts = { written: 1, ...(code ? { given: code } : {}) };
    const generate = (draft?: { attempt: number; failure?: string }) => generateDraft(job, drafts > 1, draft);
    const generated = await generate();
    const record: IterationRecord = {
      iteration: 0,
      step: 'generate',
      files: generated.files,
      explanation: generated.explanation,
      usage: job.count(generated.usage),
    };
    job.iterations.push(record);
    code =
      drafts > 1 && generated.examplesPath
        ? await bestDraft(job, { files: generated.files, record }, drafts, (draft) => generate(draft))
        : generated.files;
  } else {
    job.iterations.push({ iteration: 0, step: 'input', files: code!, explanation: '', usage: { ...EMPTY_USAGE } });
  }
  job.code = code!;

  if (needsTests(input.task, { singleShot: job.singleShot, userHasTests: job.userHasTests })) {
    const debug = input.task === 'debug';
    job.enter('WRITE_TESTS', debug ? 'Writing a test that reproduces the error' : 'Writing tests');
    job.code = await writeTestsFor(job, 0, debug ? 'write a reproducing test' : 'write tests', job.memoryContext);
  }
}

/** One GENERATE call: the first answer, or a later draft (with its own seed); over the user's files, if any. */
function generateDraft(
  job: CodingJob,
  withExamples: boolean,
  draft?: { attempt: number; failure?: string },
  tests?: FileSetRef,
): Promise<GenerateCodeResult> {
  const { input } = job;
  const label = tests ? 'cross-check draft' : 'draft';
  return job.act.llm.generateCode.executeWithOptions(
    { summary: `${input.task}${draft ? ` (${label} ${draft.attempt})` : ''}: ${oneLine(input.description)}` },
    [
      {
        task: generatorTask(input.task),
        description: input.description,
        language: job.language,
        files: job.drafts?.given,
        context: input.context,
        requirements: input.requirements,
        // A cross-check is a second opinion: recalled memory, which the code saw, could bias it the same way.
        ...(tests ? {} : { memoryContext: job.memoryContext }),
        ...(withExamples ? { withExamples: true } : {}),
        ...(draft ? { draft } : {}),
        ...(tests ? { tests } : {}),
      },
    ],
  );
}

/** Drafts the job may write: new code from the real-model loop, when the task asks for more than one. */
function draftsFor(job: CodingJob): number {
  const { input } = job;
  return job.realLoop && !job.singleShot && input.task === 'generate' && patched(PATCHES.exampleDrafts)
    ? job.limits.drafts
    : 1;
}

/**
 * GENERATE, checked against the task's own examples: each draft's examples run in the sandbox, and
 * while one fails (and drafts and budget are left) the model writes a fresh draft, told which example
 * the last one got wrong. A small model's fix of its own code is mostly the same code again; a fresh
 * sample often is right. Returns the draft that passed the most examples (the first of equals).
 */
async function bestDraft(
  job: CodingJob,
  first: { files: FileSetRef; record: IterationRecord },
  drafts: number,
  generate: (draft: { attempt: number; failure?: string }) => Promise<GenerateCodeResult>,
): Promise<FileSetRef> {
  // Ranked by examples passed, then by loading (a draft that does not even import is worse than one
  // that gets an example wrong), then by examples failed; the first of equals stays.
  let best: { files: FileSetRef; rank: number[]; attempt: number } | undefined;
  let draft: typeof first | undefined = first;
  let failure: string | undefined;
  let failed = 0;
  let attempt = 1;
  for (; ; attempt++) {
    if (draft) {
      const run = await job
        .sandbox()
        .runTests.executeWithOptions({ summary: `run the task's examples (draft ${attempt})` }, [
          { files: draft.files, language: job.language },
        ]);
      const { passed, errors } = run.report;
      failed = run.report.failed + errors;
      draft.record.tests = { ...countsOf(run.report), summary: `the task's examples: ${run.summary}` };
      const rank = [passed, -errors, -failed];
      if (!best || compareScores(rank, best.rank) > 0) best = { files: draft.files, rank, attempt };
      if (failed === 0) break;
      const example = run.report.failures.find((f) => isExampleFailure(f.name));
      failure = example ? oneLine(example.message, 400) : undefined;
    }
    if (attempt >= drafts || job.overBudget()) break;
    job.drafts!.written = attempt + 1;
    job.enter('GENERATE', `Draft ${attempt + 1} of ${drafts}: draft ${best!.attempt} is the best so far`);
    // A draft the model cannot give in the answer's shape is no draft: the best one so far stands.
    const next = await generate({ attempt: attempt + 1, ...(failure ? { failure } : {}) }).catch((err: unknown) => {
      if (['ModelOutputInvalid', 'ModelRefused'].includes(stepFailureType(err) ?? '')) return undefined;
      throw err;
    });
    draft = undefined;
    if (next?.examplesPath) {
      const record: IterationRecord = {
        iteration: 0,
        step: 'generate',
        files: next.files,
        explanation: `Draft ${attempt + 1}, written afresh: the last one failed ${failed} of the task's examples. ${next.explanation}`,
        usage: job.count(next.usage),
      };
      job.iterations.push(record);
      draft = { files: next.files, record };
    } else {
      log.info('a draft gave no code; the best one so far stands', { draft: attempt + 1 });
      if (next) job.count(next.usage);
    }
  }
  if (best!.attempt !== attempt) log.info('going on with an earlier draft', { draft: best!.attempt, of: attempt });
  return best!.files;
}

/**
 * One fresh draft of a second opinion (a cross-check's or a probe check's): written without the code,
 * the tests or the recalled memory, recorded as a step of `iteration`, and run with the examples and
 * `tests` (the job's tests, merged in unseen by the model). Undefined when the model gave no usable
 * answer; no `run` when the draft wrote no examples file.
 */
async function writeSecondOpinion(
  job: CodingJob,
  draft: { n: number; iteration: number; tests: FileSetRef; label: string; why: string },
): Promise<{ files: FileSetRef; record: IterationRecord; run?: TestReport } | undefined> {
  const attempt = job.drafts!.written + 1;
  job.drafts!.written = attempt;
  const written = await generateDraft(job, true, { attempt }, draft.tests).catch((err: unknown) => {
    if (['ModelOutputInvalid', 'ModelRefused'].includes(stepFailureType(err) ?? '')) return undefined;
    throw err;
  });
  if (!written) return undefined;
  const record: IterationRecord = {
    iteration: draft.iteration,
    step: 'generate',
    files: written.files,
    explanation: `${draft.label[0]!.toUpperCase()}${draft.label.slice(1)} ${draft.n}, written afresh: ${draft.why} ${written.explanation}`,
    usage: job.count(written.usage),
  };
  job.iterations.push(record);
  if (!written.examplesPath) return { files: written.files, record };
  const { report: run, summary } = await job
    .sandbox()
    .runTests.executeWithOptions({ summary: `run the examples and the job's tests (${draft.label} ${draft.n})` }, [
      { files: written.files, language: job.language },
    ]);
  record.tests = { ...countsOf(run), summary: `${draft.label.replace(/ draft$/, '')}: ${summary}` };
  return { files: written.files, record, run };
}

/** Fresh drafts a cross-check may write: at most this many, and never past the job's drafts. */
export const CROSS_CHECK_DRAFTS = 2;

/**
 * A second opinion where the code and the job's own tests disagree while every one of the task's
 * examples passes. Either side may be wrong: a small model's test often expects a wrong value, and
 * code can pass an example by chance (HumanEval/71 on he80e: `0.5 * a * b` gave
 * `triangle_area(3, 4, 5) == 6.00`; the model's test of a (5, 5, 5) triangle was right, and the loop
 * dropped it). Fresh drafts, written without seeing the code, the tests or the recalled memory (/71's
 * wrong formula came from /45's `triangle_area`, recalled by its name), run against the examples and
 * the job's tests split one test per assert; a draft that fails an example is out. Answers that
 * pass the same asserts agree, and each group scores its size times the asserts it passes (as
 * CodeT ranks samples): a group without the code that scores higher replaces it, with the split
 * tests. Else the code stands, and the refactor drops the tests it fails. Returns the step of the draft
 * that replaced the code, if one did.
 */
export async function crossCheck(job: CodingJob): Promise<IterationRecord | undefined> {
  job.secondOpinion = true;
  const left = job.drafts ? Math.min(CROSS_CHECK_DRAFTS, draftsFor(job) - job.drafts.written) : 0;
  if (left <= 0 || job.overBudget()) return undefined;
  job.enter('GENERATE', "Cross-checking: the job's own tests fail where the task's examples pass");
  const { files: tests, split } = await job.act.files.splitTestAsserts.executeWithOptions(
    { summary: 'one test per assert, for the cross-check' },
    [{ files: job.code }],
  );
  const runOf = (files: FileSetRef, label: string) =>
    job
      .sandbox()
      .runTests.executeWithOptions({ summary: `run the examples and the job's tests (${label})` }, [
        { files, language: job.language },
      ]);
  const code = split.length ? (await runOf(tests, 'the code, one test per assert')).report : undefined;
  const answers: { files: FileSetRef; passed: number; failing: string; record?: IterationRecord }[] = [];
  const keyOf = (r: { failed: number; errors: number; failures: { name: string }[] }) =>
    `${r.errors}:${r.failures
      .map((f) => f.name)
      .sort()
      .join('|')}`;
  if (code) answers.push({ files: job.code, passed: code.passed, failing: keyOf(code) });
  for (let n = 1; n <= left && !job.overBudget(); n++) {
    job.enter('GENERATE', `Cross-check draft ${n} of ${left}: the job's own tests fail where the examples pass`);
    const draft = await writeSecondOpinion(job, {
      n,
      iteration: 0,
      tests,
      label: 'cross-check draft',
      why: "the code passed every example of the task but failed some of the job's own tests.",
    });
    if (!draft?.run) continue;
    const { run, record } = draft;
    if (run.failures.some((f) => isExampleFailure(f.name))) continue;
    answers.push({ files: draft.files, passed: run.passed, failing: keyOf(run), record });
  }
  // Without a split the code's run is the round's own: its failures are those of any test it failed.
  if (!code && answers.length > 0) {
    const own = (await runOf(job.code, 'the code')).report;
    answers.unshift({ files: job.code, passed: own.passed, failing: keyOf(own) });
  }
  const groups = new Map<string, typeof answers>();
  for (const a of answers) groups.set(a.failing, [...(groups.get(a.failing) ?? []), a]);
  const scoreOf = (g: typeof answers) => g.length * g[0]!.passed;
  const mine = [...groups.values()].find((g) => g.some((a) => !a.record));
  let best = mine;
  for (const g of groups.values()) if (!best || scoreOf(g) > scoreOf(best)) best = g;
  if (!best || best === mine) return undefined;
  log.info('cross-check drafts agree against the code; going on with one', {
    drafts: best.length,
    score: scoreOf(best),
    code: mine ? scoreOf(mine) : 0,
  });
  job.code = best[0]!.files;
  return best[0]!.record;
}

/**
 * Drafts a probe check needs, passing every example and test: two, so that they can outvote the
 * code. It writes at most PROBE_DRAFT_ATTEMPTS for them, and never past the job's drafts.
 */
export const PROBE_DRAFTS = 2;
export const PROBE_DRAFT_ATTEMPTS = 4;

/**
 * A second opinion where a round is first all green: every example and every job test passes. A
 * small model's tests mostly restate the examples, and code can pass them and still be wrong off
 * them (HumanEval/68 on he80f returned `[inf, -1]` where no value was even; /70 raised on an
 * odd-length list; on /75 the round went green once the refactor dropped a test file that did not
 * load). Fresh drafts, written as a cross-check's are (no code, tests or memory shown), until two
 * pass every example and job test too (at most 4, within the job's drafts). Then the code and the drafts are called on
 * probes, the examples' arguments varied (empty, shorter, reversed, off by one), and each answer
 * scores how many probe outcomes it shares with the others (minimum Bayes risk over execution, as in
 * MBR-exec): a draft that agrees with the rest more than the code does replaces it. Answers that
 * agree everywhere change nothing. Returns the adopted draft's step, if one was.
 */
export async function probeCheck(job: CodingJob, iteration: number): Promise<IterationRecord | undefined> {
  job.secondOpinion = true;
  const left = job.drafts ? Math.min(PROBE_DRAFT_ATTEMPTS, draftsFor(job) - job.drafts.written) : 0;
  if (left < PROBE_DRAFTS || job.overBudget()) return undefined;
  const drafts: { files: FileSetRef; record: IterationRecord }[] = [];
  for (let n = 1; n <= left && drafts.length < PROBE_DRAFTS && !job.overBudget(); n++) {
    job.enter('GENERATE', `Probe draft ${n} (of up to ${left}): a second opinion on green code`);
    const draft = await writeSecondOpinion(job, {
      n,
      iteration,
      tests: job.code,
      label: 'probe draft',
      why: 'the code passed every example and test; a second opinion off them.',
    });
    if (draft?.run && draft.run.failed === 0 && draft.run.errors === 0 && draft.run.passed > 0) drafts.push(draft);
  }
  if (drafts.length < PROBE_DRAFTS) return undefined;
  const probed = await job
    .sandbox()
    .probeAnswers.executeWithOptions({ summary: 'probe the code and the drafts off the examples' }, [
      { description: job.input.description, answers: [job.code, ...drafts.map((d) => d.files)] },
    ]);
  const { outcomes, probes, shown } = probed;
  if (outcomes.length !== drafts.length + 1 || probes.length === 0) return undefined;
  const agreement = (i: number) =>
    outcomes.reduce((sum, other, j) => sum + (j === i ? 0 : other.filter((o, p) => o === outcomes[i]![p]).length), 0);
  const scores = outcomes.map((_, i) => agreement(i));
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
  if (best === 0) return undefined;
  const differs = probes.flatMap((p, k) => (outcomes[0]![k] !== outcomes[best]![k] ? [k] : []));
  const first = differs[0]!;
  const adopted = drafts[best - 1]!;
  adopted.record.explanation =
    `${adopted.record.explanation}\nAdopted: on ${probes.length} probes varied from the task's examples it agrees with the other answers ` +
    `${scores[best]} times, the code ${scores[0]}; they differ on ${differs.length}, e.g. ${probed.function}(${probes[first]}): ` +
    `the code gave ${shown[0]![first]}, this draft ${shown[best]![first]}.`;
  log.info('probe drafts outvote the code; going on with one', {
    probes: probes.length,
    scores,
    differ: differs.length,
  });
  job.code = adopted.files;
  return adopted.record;
}

/** WRITE_TESTS: tests for the job's files (for DEBUG, a test that reproduces the error), recorded as a step of `iteration`. */
export async function writeTestsFor(
  job: CodingJob,
  iteration: number,
  summary: string,
  memoryContext?: string,
): Promise<FileSetRef> {
  const { input } = job;
  const written = await job.act.llm.writeTests.executeWithOptions({ summary }, [
    {
      task: input.task,
      description: input.description,
      language: job.language,
      files: job.code,
      requirements: input.requirements,
      error: input.task === 'debug' ? (input.error ?? input.description) : undefined,
      context: input.context,
      ...(memoryContext ? { memoryContext } : {}),
    },
  ]);
  job.iterations.push({
    iteration,
    step: 'write-tests',
    files: written.files,
    explanation: written.explanation,
    usage: job.count(written.usage),
  });
  return written.files;
}

/**
 * RUN_TESTS: the job's tests in the sandbox, when it has any; the failures as the review and refactor
 * read them, and whether one of the task's own examples failed.
 */
export async function runTests(
  job: CodingJob,
  record: IterationRecord,
  iteration: number,
): Promise<{ tests?: TestSummary; failures: string; exampleFailed: boolean }> {
  if (!job.code.files.some((f) => isTestPath(f.path))) return { failures: '', exampleFailed: false };
  job.enter('RUN_TESTS', 'Running the tests in the sandbox');
  const run = await job
    .sandbox()
    .runTests.executeWithOptions({ summary: `run tests (iteration ${iteration})` }, [
      { files: job.code, language: job.language },
    ]);
  const tests: TestSummary = { ...countsOf(run.report), summary: run.summary };
  record.tests = { ...tests, stdout: run.stdout, stderr: run.stderr };
  job.status = { ...job.status, lastTests: tests };
  const exampleFailed = run.report.failures.some((f) => isExampleFailure(f.name));
  const failures = run.report.failures
    .map((f) => `- ${f.name}: ${f.message}${f.trace ? `\n${f.trace}` : ''}`)
    .join('\n')
    .slice(0, 8_000);
  return { tests, failures, exampleFailed };
}

/** REVIEW: static analysis (real linters), then the model's review with that evidence; recorded on `record`. */
export async function review(
  job: CodingJob,
  record: IterationRecord,
  round: { tests?: TestSummary; failures: string; testsGreen: boolean; missingTests: boolean },
): Promise<{ findings: FindingSummary[]; blocking: FindingSummary[]; verdict: Round['verdict'] }> {
  const { input, realLoop } = job;
  const { tests, failures } = round;
  job.enter('REVIEW', tests ? `Reviewing (${tests.summary})` : 'Reviewing');
  // Only a REVIEW job's files are the committed revision Codacy may have analysed; code the job wrote is not.
  const codacy =
    input.codacy && input.task === 'review' && patched(PATCHES.codacyActivity)
      ? await job.act.codacy.fetchCodacyFindings.executeWithOptions({ summary: `Codacy at ${input.codacy.revision}` }, [
          {
            repository: input.codacy.repository,
            revision: input.codacy.revision,
            language: job.language,
            files: job.code.files.map((f) => f.path),
          },
        ])
      : undefined;
  const analysis = await job.sandbox().analyzeCode.executeWithOptions({ summary: 'static analysis' }, [
    {
      files: job.code,
      language: job.language,
      ruleset: rulesetOf(input.task),
      ...(codacy?.report ? { codacyFindings: codacy.report } : {}),
      ...(job.names.length ? { expectedNames: job.names } : {}),
    },
  ]);
  const findings = analysisFindings(input.task, analysis.findings, {
    // Lint in the job's own green tests is noted, not a round: the 1.5B model spent 4 rounds on an
    // unused `result` in its test file, with every test passing (HumanEval/1 on he80c).
    testsGreen: realLoop && round.testsGreen && patched(PATCHES.greenTestLintAdvisory),
  });
  const reviewed = await job.act.llm.reviewCode.executeWithOptions({ summary: 'model review' }, [
    {
      description: input.description,
      language: job.language,
      files: job.code,
      analysis: findings.map((f) => `${f.file}:${f.line} [${f.source}] ${f.message}`).join('\n'),
      tests: tests?.summary ?? 'no tests',
      ...(realLoop && failures ? { failures } : {}),
      ...(realLoop && tests && round.testsGreen ? { testsGreen: true } : {}),
    },
  ]);
  record.usage = addUsage(record.usage, job.count(reviewed.usage));
  findings.push(...reviewFindings(reviewed.findings));
  if (round.missingTests) findings.push({ ...MISSING_TESTS_FINDING });
  const blocking = findings.filter((f) => f.blocking);
  record.findings = {
    blocking: blocking.length,
    total: findings.length,
    summary: `${blocking.length} blocking of ${findings.length}. ${analysis.summary}${codacy && !codacy.analysed ? ` ${codacy.summary}` : ''} ${oneLine(reviewed.summary, 200)}`,
    report: analysis.report,
    items: findings.slice(0, 50),
  };
  return { findings, blocking, verdict: reviewed.failingTests ?? null };
}

/**
 * AWAITING_APPROVAL: waits for a reviewer's decision, or for the approval timeout, which takes the
 * job's default outcome. `decided` is false when the timeout decided.
 */
export async function awaitApproval(job: CodingJob): Promise<{ decision: Decision; decided: boolean }> {
  job.enter('AWAITING_APPROVAL', 'Waiting for a reviewer to approve or request changes');
  job.status = { ...job.status, awaitingApproval: true };
  job.decision = undefined;
  const decided = await condition(() => job.decision !== undefined, job.limits.approvalTimeout);
  job.status = { ...job.status, awaitingApproval: false };
  const decision: Decision = decided ? (job.decision ?? { kind: 'reject' }) : { kind: job.limits.approvalDefault };
  return { decision, decided };
}

/**
 * REFACTOR: rewrites the files the blocking findings (or the review's verdict on failing tests) point
 * at, going on from the best round when the last one made things worse. Returns whether the model
 * client stopped before a call that would cross the budget.
 */
export async function refactor(
  job: CodingJob,
  round: Round,
  args: { iteration: number; feedback?: string; testsGreen: boolean },
): Promise<{ budgetStopped: boolean }> {
  const { input, realLoop, limits, usage } = job;
  const { iteration, feedback } = args;
  // A round worse than the best one is dropped: the rewrite starts again from the best round.
  const from = realLoop && job.best && compareScores(round.score, job.best.score) < 0 ? job.best : round;
  if (from !== round) {
    job.code = from.code;
    log.info('the last rewrite made things worse; going on from the best round', { best: from.iteration });
  }
  const targets = refactorTargets({
    task: input.task,
    present: job.code.files.map((f) => f.path),
    blocking: from.blocking.filter((f) => f.source !== 'tests'),
    wrong: from.verdict,
    mayFixOwnTests: mayFixOwnTests(input.task, job.userHasTests),
    realLoop,
  });
  const before = job.code;
  const refactored = await job.act.refactor.refactorCode.executeWithOptions(
    { summary: `refactor ${targets.length} file(s) (iteration ${iteration + 1})` },
    [
      {
        description: input.description,
        language: job.language,
        files: job.code,
        targets,
        failures: from.failures,
        findings: from.blocking
          .map((f) => `- ${f.file}:${f.line} [${f.source}] ${f.message}`)
          .join('\n')
          .slice(0, 6_000),
        feedback,
        memoryContext: job.memoryContext,
        error: input.task === 'debug' ? input.error : undefined,
        ...(realLoop ? { attempt: iteration + 1 } : {}),
        budget: { tokens: limits.maxTokens - usage.totalTokens, costUsd: limits.maxCostUsd - usage.costUsd },
      },
    ],
  );
  job.code = refactored.files;
  if (!args.testsGreen) job.lastFix = { from: before, explanation: refactored.explanation };
  job.iterations.push({
    iteration: iteration + 1,
    step: 'refactor',
    files: job.code,
    explanation:
      from === round
        ? refactored.explanation
        : `(From round ${from.iteration}, the best so far: the rewrite after it made things worse.)\n${refactored.explanation}`,
    usage: job.count(refactored.usage),
    feedback,
  });
  return { budgetStopped: !!refactored.budgetStopped };
}
