/**
 * Activities of the sandbox task queue: running generated code and its tests under bubblewrap.
 * Only activity functions are exported as values: the sandbox worker registers every export.
 */
import { artifactStore, type ArtifactRef, type FileMap, type FileSetRef } from './artifacts';
import { executeSandboxed, type SandboxLanguage } from './sandbox/run-in-sandbox';
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
