import { isTestPath } from '../../common/test-files';
import type { CodingJobInput, FindingSummary, JobOptions, TaskKind, TestSummary, TokenUsage } from './definitions';

/**
 * The lifecycle's decisions as pure functions: which steps a task runs, which findings block, what a
 * refactor may rewrite, and which round is best. No Temporal here, so tests/unit checks each rule
 * without a server, and the workflow reads as the state machine that calls them.
 */

/** Tasks that must end with tests that ran and passed. */
const NEEDS_TESTS: ReadonlySet<TaskKind> = new Set<TaskKind>(['generate', 'refactor', 'debug', 'test']);

/** Which tasks write code first, and which only check what the user gave. */
const GENERATES: ReadonlySet<TaskKind> = new Set<TaskKind>(['generate', 'document', 'deploy']);

/** Which analysis rules a task is held to: docs rules block DOCUMENT, the deploy asks (limits, probes, non-root) block DEPLOY. */
const RULESETS: Partial<Record<TaskKind, 'docs' | 'deploy'>> = { document: 'docs', deploy: 'deploy' };

/** The budgets and approval settings of a job: its options, else the deployment's defaults, else ours. */
export interface JobLimits {
  maxIterations: number;
  maxTokens: number;
  maxCostUsd: number;
  approvalTimeout: string;
  approvalDefault: NonNullable<JobOptions['approvalDefault']>;
  continueAsNewAfter: number;
  drafts: number;
}

export function limitsOf(input: Pick<CodingJobInput, 'options' | 'defaults'>): JobLimits {
  return {
    maxIterations: input.options?.maxIterations ?? input.defaults?.maxIterations ?? 4,
    maxTokens: input.options?.maxTokens ?? input.defaults?.maxTokens ?? 200_000,
    maxCostUsd: input.options?.maxCostUsd ?? input.defaults?.maxCostUsd ?? 2,
    approvalTimeout: input.options?.approvalTimeout ?? input.defaults?.approvalTimeout ?? '24h',
    approvalDefault: input.options?.approvalDefault ?? input.defaults?.approvalDefault ?? 'reject',
    continueAsNewAfter: input.options?.continueAsNewAfter ?? input.defaults?.continueAsNewAfter ?? 10,
    drafts: input.options?.drafts ?? input.defaults?.drafts ?? 6,
  };
}

/** Whether the task must end with tests that ran and passed (with the real-model loop; before it, no tests was green). */
export function testsRequired(task: TaskKind, realLoop: boolean): boolean {
  return realLoop && NEEDS_TESTS.has(task);
}

/** Whether the job recalls memory before it starts: only tasks that write code, and never a single shot. */
export function recallsMemory(task: TaskKind, singleShot: boolean): boolean {
  return !singleShot && (task === 'generate' || task === 'debug' || task === 'refactor');
}

/** Whether GENERATE runs: for tasks that write code first, and for any task the user gave no files. */
export function generatesFirst(task: TaskKind, hasFiles: boolean): boolean {
  return GENERATES.has(task) || !hasFiles;
}

/** The task the generator is asked for: its own for the tasks that generate, else plain generation. */
export function generatorTask(task: TaskKind): TaskKind {
  return GENERATES.has(task) ? task : 'generate';
}

/** WRITE_TESTS runs for TEST and DEBUG, and for GENERATE and REFACTOR unless the user brought tests. */
export function needsTests(task: TaskKind, options: { singleShot: boolean; userHasTests: boolean }): boolean {
  return (
    !options.singleShot &&
    (task === 'test' || task === 'debug' || (!options.userHasTests && (task === 'generate' || task === 'refactor')))
  );
}

/** The analysis ruleset a task is held to. */
export function rulesetOf(task: TaskKind): 'default' | 'docs' | 'deploy' {
  return RULESETS[task] ?? 'default';
}

/**
 * The blocking rule of static analysis: lint errors block; docs rules (pydocstyle D, flake8-annotations
 * ANN, jsdoc) block a DOCUMENT job, whatever their severity.
 */
export function analysisFindingBlocks(task: TaskKind, finding: { severity: string; rule: string }): boolean {
  return finding.severity === 'error' || (task === 'document' && /^(D|ANN)\d|jsdoc/i.test(finding.rule));
}

/**
 * Static analysis findings as the job records them. With `testsGreen` (the round's tests ran and
 * passed), a linter's finding in a test file blocks nothing unless tests are what the task asks for:
 * whatever it says did not stop the tests from running green, and the code is what the job delivers.
 */
export function analysisFindings(
  task: TaskKind,
  findings: readonly { tool: string; severity: string; rule: string; file: string; line: number; message: string }[],
  round: { testsGreen?: boolean } = {},
): FindingSummary[] {
  const advisoryInTests = round.testsGreen === true && task !== 'test';
  return findings.map((f) => ({
    source: f.tool,
    severity: f.severity,
    blocking: analysisFindingBlocks(task, f) && !(advisoryInTests && f.tool !== 'task' && isTestPath(f.file)),
    file: f.file,
    line: f.line,
    message: `${f.rule}: ${f.message}`,
  }));
}

/** The model review's findings as the job records them: only `blocking` ones block. */
export function reviewFindings(
  findings: readonly {
    severity: string;
    file: string;
    line?: number | null;
    message: string;
    suggestion?: string | null;
  }[],
): FindingSummary[] {
  return findings.map((f) => ({
    source: 'review',
    severity: f.severity,
    blocking: f.severity === 'blocking',
    file: f.file,
    line: f.line ?? 0,
    message: f.suggestion ? `${f.message} (suggestion: ${f.suggestion})` : f.message,
  }));
}

/** The finding of a round that needed tests and has none: it blocks, and the refactor writes tests again. */
export const MISSING_TESTS_FINDING: FindingSummary = {
  source: 'tests',
  severity: 'error',
  blocking: true,
  file: '',
  line: 0,
  message: 'No tests were written, so nothing shows that the code works: tests are written again.',
};

/** Tests are green when some passed and none failed; no tests is green only where the task asks for none. */
export function testsGreen(tests: TestSummary | undefined, missingTests: boolean): boolean {
  return tests ? tests.failed === 0 && tests.errors === 0 && tests.passed > 0 : !missingTests;
}

/** Blocking findings other than "no tests": what a refactor has to fix besides writing tests again. */
export function otherThanMissingTests(blocking: readonly FindingSummary[]): FindingSummary[] {
  return blocking.filter((f) => f.source !== 'tests');
}

/**
 * Tests the job wrote itself (GENERATE, REFACTOR) can be wrong too. The user's tests are the spec, and
 * a DEBUG job's reproducing test is the bug: neither is ever rewritten to make a job pass.
 */
export function mayFixOwnTests(task: TaskKind, userHasTests: boolean): boolean {
  return !userHasTests && (task === 'generate' || task === 'refactor');
}

/** A container file or a manifest: what a DEPLOY job's refactor rewrites. */
export function isDeployArtefact(p: string): boolean {
  return /(^|\/)(Dockerfile|Containerfile)([.-][^/]*)?$|\.dockerfile$|\.ya?ml$/i.test(p);
}

/** Python, JavaScript or TypeScript source. */
export function isSource(p: string): boolean {
  return /\.(py|[cm]?[jt]sx?)$/.test(p);
}

/**
 * What a refactor may rewrite: the tests for TEST jobs, the container file and manifests for DEPLOY
 * jobs, the code for everything else; and any other non-test file a blocking finding points at. A
 * blocking finding may name a file that does not exist yet (a DOCUMENT job's missing README). A test
 * file a blocking finding names is rewritten with the code where the job may fix its own tests. When
 * tests fail, the review says from the task which side is wrong (`wrong`): only the job's own tests can
 * be the wrong side ("tests" rewrites them and leaves the code alone unless a finding names it).
 */
export function refactorTargets(args: {
  task: TaskKind;
  present: readonly string[];
  blocking: readonly FindingSummary[];
  wrong?: 'code' | 'tests' | 'both' | null;
  mayFixOwnTests: boolean;
  realLoop: boolean;
}): string[] {
  const { task, present, blocking, wrong, realLoop } = args;
  const named = (p: string) => blocking.some((f) => f.file === p);
  const missing = blocking.map((f) => f.file).filter((p) => p && !present.includes(p) && !isTestPath(p));
  const testsWrong = realLoop && args.mayFixOwnTests && (wrong === 'tests' || wrong === 'both');
  const codeWrong = !(realLoop && args.mayFixOwnTests && wrong === 'tests');
  const targets = present.filter((p) => {
    if (task === 'test') return isTestPath(p);
    if (isTestPath(p)) return args.mayFixOwnTests && (named(p) || testsWrong);
    return ((task === 'deploy' ? isDeployArtefact(p) : isSource(p)) && codeWrong) || named(p);
  });
  return task === 'test' ? targets : [...targets, ...new Set(missing)];
}

/**
 * A round's score: the task's examples pass (where the job knows of them), tests green, named API
 * present, tests passed, minus blocking findings (compared in that order).
 */
export function scoreOf(round: {
  exampleFailed?: boolean;
  testsGreen: boolean;
  findings: readonly FindingSummary[];
  tests?: TestSummary;
  blocking: readonly FindingSummary[];
}): number[] {
  return [
    ...(round.exampleFailed !== undefined ? [round.exampleFailed ? 0 : 1] : []),
    round.testsGreen ? 1 : 0,
    round.findings.some((f) => f.source === 'task') ? 0 : 1,
    round.tests?.passed ?? 0,
    -round.blocking.length,
  ];
}

/** Rewrites in a row that may do no better than the best round before the loop stops. */
export const STALLED_ROUNDS = 2;

/**
 * Whether the loop has stalled: the round is not green, and the last STALLED_ROUNDS rewrites did no
 * better than the best round, with iterations still left (at the budget, the budget's own stop says it).
 */
export function stalled(args: {
  green: boolean;
  iteration: number;
  bestIteration?: number;
  maxIterations: number;
}): boolean {
  return (
    !args.green &&
    args.bestIteration !== undefined &&
    args.iteration - args.bestIteration >= STALLED_ROUNDS &&
    args.iteration < args.maxIterations
  );
}

/** Lexicographic: positive when `a` is the better round. */
export function compareScores(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A test summary's counts and sentence, without the references to its output. */
export function countsAndSummary(t: TestSummary): TestSummary {
  return { passed: t.passed, failed: t.failed, errors: t.errors, skipped: t.skipped, summary: t.summary };
}

export function countsOf(report: { passed: number; failed: number; errors: number; skipped: number }) {
  return { passed: report.passed, failed: report.failed, errors: report.errors, skipped: report.skipped };
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    costUsd: a.costUsd + b.costUsd,
    cachedCalls: a.cachedCalls + b.cachedCalls,
  };
}

/** Whether the job has spent its token or cost budget. */
export function overBudget(usage: TokenUsage, limits: Pick<JobLimits, 'maxTokens' | 'maxCostUsd'>): boolean {
  return usage.totalTokens >= limits.maxTokens || usage.costUsd >= limits.maxCostUsd;
}

/** Text on one line, cut to `max` characters. */
export function oneLine(text: string, max = 80): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
