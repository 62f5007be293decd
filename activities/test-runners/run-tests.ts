import { artifactStore, type ArtifactRef, type FileSetRef } from '../artifacts';
import { chooseDriver } from '../sandbox/driver';
import { executeSandboxed, type SandboxExecution, type SandboxLanguage } from '../sandbox/run-in-sandbox';
import { VIOLATION_TEXT, type Violation } from '../sandbox/violations';
import { loadFiles } from '../sandbox/workspace';
import { parseJestJson } from './jest-json';
import { parseJUnit } from './junit';
import { planNodeTests } from './node-runner';
import { planPytest } from './python-runner';
import type { RunnerPlan } from './runner-plan';
import { emptyReport, summarizeReport, trimTrace, type TestReport } from './test-report';
import { testCases } from '../metrics';

export interface RunTestsInput {
  files: FileSetRef;
  language: SandboxLanguage;
  /** Overrides the runner's command; may use `{report}` for a JUnit XML path the report is read from. */
  testCommand?: string[];
  timeoutMs?: number;
}

export interface RunTestsResult {
  report: TestReport;
  exitCode: number | null;
  timedOut: boolean;
  driver: 'bwrap' | 'process';
  stdout: ArtifactRef;
  stderr: ArtifactRef;
  outputTruncated: boolean;
  /** What the sandbox contained: 'timeout', 'cpu', 'memory', 'processes', 'output-limit', 'network'… */
  violations: Violation[];
  /** One line for humans: "3 passed, 1 failed: test_add - assert 3 == 4". */
  summary: string;
  /** Which runner ran: pytest, node-test, jest or custom. */
  runner: RunnerPlan['runner'];
  durationMs: number;
}

function parseReport(plan: RunnerPlan, report: Buffer | undefined): TestReport | undefined {
  if (!report || report.length === 0) return undefined;
  try {
    return plan.reportFormat === 'jest-json'
      ? parseJestJson(report.toString('utf8'))
      : parseJUnit(report.toString('utf8'));
  } catch {
    // A report cut at the output cap or forged by the code is no report; fall back to the exit code.
    return undefined;
  }
}

/**
 * Turns a run and its (possibly missing) report into the final TestReport; a dead run never reads as
 * green, and neither does a run whose exit status and report disagree (a green report from a runner
 * that exited non-zero, or failures in a report from one that exited 0): one of them was tampered
 * with, so the run counts as an error.
 */
export function finalReport(plan: RunnerPlan, run: SandboxExecution): TestReport {
  const parsed = parseReport(plan, run.report);
  const report = parsed ?? emptyReport();
  if (!parsed || report.durationMs === 0) report.durationMs = run.durationMs;
  const problems = report.failed + report.errors;
  if (run.exitCode === 0 && !run.timedOut && !run.outputTruncated && parsed) {
    if (problems > 0) {
      report.errors += 1;
      report.failures.unshift({
        name: '(run)',
        message: `the runner exited 0 but its report counts ${problems} failing: the exit status and the report disagree`,
      });
    }
    return report;
  }
  if (plan.noTestsExitCode !== undefined && run.exitCode === plan.noTestsExitCode && !run.timedOut) {
    report.errors += 1;
    report.failures.push({ name: '(collection)', message: 'no tests were collected' });
    return report;
  }
  if (problems === 0 || run.violations.length > 0) {
    const exited = `the test command exited with code ${String(run.exitCode)}${run.signal ? ` (${run.signal})` : ''}`;
    const why = run.violations.length
      ? run.violations.map((v) => VIOLATION_TEXT[v]).join('; ')
      : !parsed
        ? `${exited} without one readable report on the runner's report channel`
        : `${exited} but its report has no failures: the exit status and the report disagree`;
    report.errors += 1;
    report.failures.unshift({
      name: '(run)',
      message: why,
      trace: trimTrace(run.stderr.subarray(-4096).toString('utf8') || run.stdout.subarray(-4096).toString('utf8')),
    });
  }
  return report;
}

/**
 * node's runner reports a test file that fails to load (`ReferenceError: describe is not defined`, a
 * syntax error, a missing export) as one failure named after the file, with the message "test
 * failed"; the error itself is only in the output. Such a failure gets the error and the line it
 * points at, which is what the review and the next round need to see.
 */
export function explainFileFailures(report: TestReport, output: string): void {
  for (const failure of report.failures) {
    if (failure.message !== 'test failed' || !/\.[cm]?[jt]sx?$/.test(failure.name)) continue;
    const explained = loadError(output, failure.name);
    if (explained) failure.message = explained;
  }
}

/**
 * node's and jest's failure messages say what was expected ("Received function did not throw") but
 * not of which call; the line is only in the stack (`/work/chunk.test.ts:8:34`). Each failure gets
 * the job file's line its stack points at first, as pytest shows the failing assert: a small model
 * fixing the code needs to see `expect(() => chunk([], 1.5)).toThrow(RangeError)`, not a line number.
 */
export function pointAtSource(report: TestReport, files: Record<string, string>): void {
  for (const failure of report.failures) {
    const text = `${failure.message}\n${failure.trace ?? ''}`;
    for (const m of text.matchAll(/\/work\/([^\s:()'"]+):(\d+)(?::\d+)?/g)) {
      const lines = files[m[1]!]?.split('\n');
      const line = lines?.[Number(m[2]) - 1]?.trim();
      if (!line) continue;
      if (!failure.message.includes(line))
        failure.message = `${failure.message}\n  at ${m[1]}:${m[2]}: ${line.slice(0, 200)}`;
      break;
    }
  }
}

/** The error a file's load printed: `SyntaxError: … (chunk.test.ts:3: describe('chunk', () => {)`. */
function loadError(output: string, file: string): string | undefined {
  const lines = output.split('\n');
  const base = file.replace(/^.*\//, '');
  const at = lines.findIndex((l) => l.startsWith(`${file}:`) || l.startsWith(`file://${file}:`));
  const from = at >= 0 ? at : 0;
  const error = lines.slice(from, from + 40).find((l) => /^\s*(?:\w+Error|Error)(?: \[\w+\])?: \S/.test(l));
  if (!error) return undefined;
  const where = at >= 0 ? /:(\d+)$/.exec(lines[at]!.trim())?.[1] : undefined;
  const code = at >= 0 ? lines[at + 1]?.trim() : undefined;
  return `${error.trim()}${where ? ` (${base}:${where}${code ? `: ${code}` : ''})` : ''}`.slice(0, 500);
}

/**
 * Runs the job's tests in the sandbox and parses the results. Failing tests are a normal result;
 * only a missing toolchain, an unusable sandbox, bad input or cancellation throw.
 */
export async function runTestsInSandbox(input: RunTestsInput): Promise<RunTestsResult> {
  const files = await loadFiles(input.files);
  const plan =
    input.language === 'python' ? await planPytest(input.testCommand) : await planNodeTests(files, input.testCommand);
  const store = artifactStore();
  if (plan.noTests) {
    // Still resolve the driver: a misconfigured sandbox should fail here too, not only once tests exist.
    const driver = await chooseDriver();
    const empty = await store.put('');
    const report: TestReport = {
      ...emptyReport(),
      errors: 1,
      failures: [{ name: '(collection)', message: plan.noTests }],
    };
    return {
      report,
      exitCode: null,
      timedOut: false,
      driver,
      stdout: empty,
      stderr: empty,
      outputTruncated: false,
      violations: [],
      summary: summarizeReport(report),
      runner: plan.runner,
      durationMs: 0,
    };
  }
  const run = await executeSandboxed({
    files,
    command: plan.command,
    language: input.language,
    timeoutMs: input.timeoutMs,
  });
  const output = `${run.stdout.subarray(-8192).toString('utf8')}\n${run.stderr.subarray(-8192).toString('utf8')}`;
  const missing = plan.missingToolchain?.(output);
  if (missing) throw missing;
  const report = finalReport(plan, run);
  if (plan.runner === 'node-test') explainFileFailures(report, output);
  if (plan.runner === 'node-test' || plan.runner === 'jest') pointAtSource(report, files);
  for (const result of ['passed', 'failed', 'errors', 'skipped'] as const) {
    testCases.inc({ language: input.language, runner: plan.runner, result }, report[result]);
  }
  const notes = run.violations.map((v) => VIOLATION_TEXT[v]);
  if (run.outputTruncated && !run.violations.includes('output-limit')) notes.push('output truncated');
  const [stdout, stderr] = await Promise.all([store.put(run.stdout), store.put(run.stderr)]);
  return {
    report,
    exitCode: run.exitCode,
    timedOut: run.timedOut,
    driver: run.driver,
    stdout,
    stderr,
    outputTruncated: run.outputTruncated,
    violations: run.violations,
    summary: summarizeReport(report, notes),
    runner: plan.runner,
    durationMs: run.durationMs,
  };
}
