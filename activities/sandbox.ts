/**
 * Activities of the sandbox task queue: running generated code and its tests under bubblewrap.
 * Only activity functions are exported as values: the sandbox worker registers every export.
 */
import { definesName } from '../common/task-names';
import { isTestPath } from '../common/test-files';
import { artifactStore, type ArtifactRef, type FileMap, type FileSetRef } from './artifacts';
import { MAX_PROBES, outcomeKey, PROBE_HARNESS, probeSpec } from './sandbox/probes';
import { executeSandboxed, REPORT_PLACEHOLDER, type SandboxLanguage } from './sandbox/run-in-sandbox';
import { VIOLATION_TEXT, type Violation } from './sandbox/violations';
import { runTestsInSandbox, type RunTestsInput, type RunTestsResult } from './test-runners/run-tests';

export type { RunTestsInput, RunTestsResult } from './test-runners/run-tests';
export type { TestFailure, TestReport } from './test-runners/test-report';
export type { Violation } from './sandbox/violations';
export type { SandboxLanguage } from './sandbox/run-in-sandbox';

export interface RunInSandboxInput {
  files: FileSetRef | FileMap;
  /** argv; `python`/`python3`, `node` and `ruff` resolve to the worker's toolchains. `{report}` is a path (a pipe) whose content comes back as `report`. */
  command: string[];
  language: SandboxLanguage;
  timeoutMs?: number;
  /** Extra variables for the code; nothing from the worker's environment is passed on. */
  env?: Record<string, string>;
}

export interface SandboxRunResult {
  exitCode: number | null;
  /** The signal that ended the command, when one did (SIGKILL, SIGXCPU…). */
  signal: string | null;
  timedOut: boolean;
  driver: 'bwrap' | 'process';
  stdout: ArtifactRef;
  stderr: ArtifactRef;
  /** What the command wrote to `{report}`, if anything. */
  report?: ArtifactRef;
  outputTruncated: boolean;
  violations: Violation[];
  durationMs: number;
  /** One line for humans: "exit 0 in 120 ms" or "exit 137: killed at the wall-clock timeout". */
  summary: string;
}

/**
 * Runs one command over a job's files in a fresh bubblewrap sandbox: no network, a seccomp filter
 * (no new namespaces, mounts, ptrace, keyring, bpf, io_uring…), read-only toolchains, size-capped
 * tmpfs workspace, empty environment, a cgroup for the whole run (memory, processes, CPU) where
 * cgroups can be delegated, per-process rlimits, and a wall-clock timeout that kills the whole
 * process tree. Output is capped and stored in the artifact store; `{report}` is a pipe only the
 * command's own process holds (see the README's sandbox section).
 *
 * Idempotent: every call gets a new sandbox and leaves nothing behind; the same input gives the same
 * result as far as the code itself is deterministic.
 * Timeouts: runs for at most `timeoutMs` (default SANDBOX_TIMEOUT_MS) plus a few seconds of set-up;
 * heartbeats every timeout/20 (0.25–5 s), so a `heartbeatTimeout` of 15 s is safe and `startToCloseTimeout` ≥ timeout + 30 s.
 * Failures: `InvalidInput` (bad paths, empty command), `ToolchainMissing`, `SandboxUnavailable`
 * (no usable bwrap and no opt-in to the process driver); cancellation kills the tree and removes the
 * workspace. The code's own failures and limit hits are results, never errors.
 */
export async function runInSandbox(input: RunInSandboxInput): Promise<SandboxRunResult> {
  const run = await executeSandboxed(input);
  const store = artifactStore();
  const [stdout, stderr, report] = await Promise.all([
    store.put(run.stdout),
    store.put(run.stderr),
    run.report ? store.put(run.report) : Promise.resolve(undefined),
  ]);
  const what = run.violations.map((v) => VIOLATION_TEXT[v]).join('; ');
  return {
    exitCode: run.exitCode,
    signal: run.signal,
    timedOut: run.timedOut,
    driver: run.driver,
    stdout,
    stderr,
    report,
    outputTruncated: run.outputTruncated,
    violations: run.violations,
    durationMs: run.durationMs,
    summary: `exit ${String(run.exitCode)}${run.signal ? ` (${run.signal})` : ''} in ${run.durationMs} ms${what ? `: ${what}` : ''}`,
  };
}

/**
 * Runs a job's tests in the sandbox: pytest with JUnit XML for Python; for TypeScript/JavaScript,
 * jest when the job's files declare it, else node's test runner (TypeScript through tsx). Parses
 * the results into one TestReport.
 *
 * Idempotent (fresh sandbox per call, artifacts content-addressed). A failing test is a normal result
 * with `failed > 0`; a run killed by a limit is a result with `errors > 0` and `violations` naming it.
 * Timeouts: as `runInSandbox` (heartbeats at most every 5 s).
 * Failures: `ToolchainMissing` (no python/pytest/node/tsx/jest, named), `SandboxUnavailable`,
 * `InvalidInput`.
 */
export async function runTests(input: RunTestsInput): Promise<RunTestsResult> {
  return runTestsInSandbox(input);
}

export interface ProbeAnswersInput {
  /** The task: its examples' arguments, varied, are the probes. */
  description: string;
  /** Python answers (the code, then drafts), each a file set holding a module that defines the function. */
  answers: FileSetRef[];
}

export interface ProbeAnswersResult {
  /** The function probed, when the task states examples of one; else nothing was run. */
  function?: string;
  /** Each probe's arguments, in order. */
  probes: string[];
  /** Per answer, one key per probe: two answers agree on a probe when their keys are equal. */
  outcomes: string[][];
  /** Per answer, what each probe gave, cut to 80 characters, for people. */
  shown: string[][];
}

/**
 * Calls each Python answer on probes, the task's example arguments varied one at a time (empty,
 * shorter, reversed, off by one…; activities/sandbox/probes.ts), one fresh sandbox per answer, and
 * reports what each call gave: a value, the exception's type, or `timeout` (1 s a call). An answer
 * with no module defining the function, or whose run dies, gives `missing` or `died` for every probe.
 * No expected values: the caller compares answers with each other.
 * Idempotent (fresh sandboxes; the probes derive from the task alone). Timeouts: up to 60 s per
 * answer, heartbeats as runInSandbox. Failures: `ToolchainMissing`, `SandboxUnavailable`.
 */
export async function probeAnswers(input: ProbeAnswersInput): Promise<ProbeAnswersResult> {
  const spec = probeSpec(input.description);
  if (!spec) return { probes: [], outcomes: [], shown: [] };
  const store = artifactStore();
  let probes: string[] = [];
  const runs: (string[] | undefined)[] = [];
  for (const answer of input.answers) {
    const files = Object.fromEntries(
      Object.entries(await store.getFiles(answer)).filter(([p]) => p.endsWith('.py') && !isTestPath(p)),
    );
    const module = Object.keys(files).find((p) => definesName(files[p]!, spec.function, p));
    if (!module) {
      runs.push(undefined);
      continue;
    }
    const run = await executeSandboxed({
      files: { ...files, '__sophia_probe__.py': PROBE_HARNESS, '__sophia_probe__.json': JSON.stringify(spec) },
      command: ['python3', '__sophia_probe__.py', '__sophia_probe__.json', module, REPORT_PLACEHOLDER],
      language: 'python',
      timeoutMs: 60_000,
    });
    const rows = readProbeReport(run.report);
    if (rows && rows.length > probes.length) probes = rows.map((r) => r[0]);
    runs.push(rows?.map((r) => r[1]) ?? []);
  }
  const outcomes = runs.map((r) => probes.map((_, i) => r?.[i] ?? (r ? 'died' : 'missing')));
  return {
    function: spec.function,
    probes,
    outcomes: outcomes.map((o) => o.map(outcomeKey)),
    shown: outcomes.map((o) => o.map((x) => (x.length > 80 ? `${x.slice(0, 77)}...` : x))),
  };
}

/** The harness's `[[probe, outcome], …]`, or undefined when the run left none (it died, or wrote something else). */
function readProbeReport(report: Buffer | undefined): [string, string][] | undefined {
  try {
    const rows: unknown = JSON.parse(report?.toString('utf8') ?? '');
    // The answer's own code shares the harness's process and could write the report: whatever it
    // holds, no more than MAX_PROBES rows of bounded strings reach the workflow.
    if (
      Array.isArray(rows) &&
      rows.every((r) => Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === 'string'))
    )
      return (rows as [string, string][]).slice(0, MAX_PROBES).map(([p, o]) => [p.slice(0, 200), o.slice(0, 2_000)]);
  } catch {
    // Nothing usable: the answer's run died before writing its report.
  }
  return undefined;
}
