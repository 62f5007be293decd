import { randomInt } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { sandboxRunDuration, sandboxRuns } from '../metrics';
import type { FileMap, FileSetRef } from '../artifacts';
import { activityCancellationSignal, activityLog, heartbeat } from '../context';
import { bwrapArgs, SANDBOX_REPORT_CHANNEL, SANDBOX_WORKDIR, type ToolchainNeeds } from './bwrap-args';
import { createRunCgroup, type CgroupMode, type RunCgroup } from './cgroup';
import { bwrapCage, chooseDriver, runningAsRoot, type DriverName } from './driver';
import { prlimitArgs, sandboxLimits, type SandboxLimits } from './limits';
import { spawnCapped, type CappedOutcome } from './spawn-capped';
import { SANDBOX_NODE_MODULES, SANDBOX_PIP_DIR, toolchainMissing, toolchains, type Toolchains } from './toolchains';
import { detectViolations, terminatingSignal, type Violation } from './violations';
import { createWorkspace, loadFiles, removeWorkspace } from './workspace';

export type SandboxLanguage = 'python' | 'typescript' | 'javascript';

/** Placeholders a command may use; the driver substitutes its own paths. */
export const REPORT_PLACEHOLDER = '{report}';
export const WORKDIR_PLACEHOLDER = '{workdir}';
export const NODE_MODULES_PLACEHOLDER = '{node_modules}';

export interface SandboxSpec {
  files: FileSetRef | FileMap;
  /** argv; `python`/`python3`, `node` and `ruff` resolve to the worker's pinned toolchains. */
  command: string[];
  language: SandboxLanguage;
  timeoutMs?: number;
  /** Extra environment for the code; the worker's own environment never reaches it. */
  env?: Record<string, string>;
  /** Toolchains to mount beyond what the language implies. */
  needs?: ToolchainNeeds;
}

/** A finished sandboxed run with the raw output still in memory (callers store what they keep). */
export interface SandboxExecution {
  driver: DriverName;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  outputTruncated: boolean;
  violations: Violation[];
  stdout: Buffer;
  stderr: Buffer;
  report?: Buffer;
  durationMs: number;
  limits: SandboxLimits;
  /** The unprivileged uid the code ran as (bwrap as root only). */
  sandboxUid?: number;
  /** Which cgroup held the whole run; `none` where only the per-process rlimits did. */
  cgroup: CgroupMode;
}

/**
 * Enters the run's cgroup (every hierarchy's `cgroup.procs`), then becomes bwrap: whatever the run
 * forks is born inside the cgroup, with no window in which it is not.
 */
const JOIN_CGROUP = [
  'for f in $SOPHIA_CGROUP_PROCS; do',
  '  echo $$ > "$f" || { echo "sophia: cannot enter the run cgroup $f" >&2; exit 124; }',
  'done',
  'exec "$@"',
].join('\n');
const JOIN_FAILED = 'sophia: cannot enter the run cgroup';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function needsFor(language: SandboxLanguage, command: string[]): ToolchainNeeds {
  const base: ToolchainNeeds = language === 'python' ? { python: true, pip: true } : { node: true, nodeModules: true };
  if (command[0] === 'ruff') base.pip = true;
  return base;
}

function resolveCommand(
  command: string[],
  tc: Toolchains,
  driver: DriverName,
  reportPath: string,
  workdir: string,
): string[] {
  const [head, ...rest] = command;
  if (head === undefined) {
    throw ApplicationFailure.create({
      type: 'InvalidInput',
      nonRetryable: true,
      message: 'The sandbox command is empty.',
    });
  }
  let program = head;
  if (head === 'python' || head === 'python3') {
    if (!tc.python) throw toolchainMissing('python3', 'Install Python 3 on the worker (it must be on PATH).');
    program = tc.python.executable;
  } else if (head === 'node') {
    program = tc.node.executable;
  } else if (head === 'ruff') {
    if (!tc.ruff)
      throw toolchainMissing(
        'ruff',
        'Run `node scripts/bootstrap.mjs tools` to install the pinned ruff into .tools/pip.',
      );
    program = driver === 'bwrap' ? `${SANDBOX_PIP_DIR}/bin/ruff` : tc.ruff;
  }
  const nodeModules = driver === 'bwrap' ? SANDBOX_NODE_MODULES : (tc.nodeModules ?? SANDBOX_NODE_MODULES);
  const substitutions: [string, string][] = [
    [REPORT_PLACEHOLDER, reportPath],
    [WORKDIR_PLACEHOLDER, workdir],
    [NODE_MODULES_PLACEHOLDER, nodeModules],
  ];
  return [program, ...rest].map((arg) => substitutions.reduce((acc, [from, to]) => acc.split(from).join(to), arg));
}

function sandboxEnv(spec: SandboxSpec, tc: Toolchains, driver: DriverName, workdir: string): Record<string, string> {
  const bins = [
    ...(tc.extraToolsDir ? [path.join(tc.extraToolsDir, 'bin'), tc.extraToolsDir] : []),
    tc.python ? path.dirname(tc.python.executable) : undefined,
    path.dirname(tc.node.executable),
    '/usr/local/bin',
    '/usr/bin',
    '/bin',
  ].filter((p): p is string => p !== undefined);
  const pip = driver === 'bwrap' ? SANDBOX_PIP_DIR : tc.pipDir;
  const env: Record<string, string> = {
    PATH: [...new Set(bins)].join(':'),
    HOME: workdir,
    TMPDIR: driver === 'bwrap' ? '/tmp' : workdir,
    USER: 'sandbox',
    LOGNAME: 'sandbox',
    LANG: 'C.UTF-8',
    // Tools behave non-interactively and without colour codes in the captured output.
    CI: 'true',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
    ...(spec.language === 'python' && pip ? { PYTHONPATH: pip } : {}),
  };
  for (const [key, value] of Object.entries(spec.env ?? {})) {
    if (!ENV_NAME.test(key)) {
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        nonRetryable: true,
        message: `Bad environment variable name ${JSON.stringify(key)}.`,
      });
    }
    env[key] = value;
  }
  return env;
}

/**
 * Runs a command over the job's files in a fresh sandbox and describes how it ended. Never throws
 * for the code's behaviour (failures, crashes, limits): only for bad input, a missing toolchain, an
 * unusable sandbox, or cancellation (rethrown after the process tree is killed and the workspace removed).
 */
export async function executeSandboxed(spec: SandboxSpec): Promise<SandboxExecution> {
  const driver = await chooseDriver();
  const tc = await toolchains();
  const limits = sandboxLimits(spec.timeoutMs);
  const files = await loadFiles(spec.files);
  const log = activityLog('sandbox');
  // A fresh high uid per run: no account owns it, and its process count starts at zero.
  const sandboxUid = driver === 'bwrap' && runningAsRoot() ? randomInt(200_000, 1_000_000) : undefined;
  const staging = await createWorkspace(files, sandboxUid);
  const signal = activityCancellationSignal();
  let cgroup: RunCgroup | undefined;
  try {
    let outcome: CappedOutcome;
    const onProgress = (p: { elapsedMs: number; outputBytes: number }): void => heartbeat({ phase: 'running', ...p });
    // Often enough that a short heartbeatTimeout still sees the run alive, rarely enough to be free.
    const heartbeatMs = Math.min(5_000, Math.max(250, Math.round(limits.timeoutMs / 20)));
    heartbeat({ phase: 'starting', driver });
    if (driver === 'bwrap') {
      const cage = await bwrapCage();
      const command = resolveCommand(spec.command, tc, driver, SANDBOX_REPORT_CHANNEL, SANDBOX_WORKDIR);
      cgroup = await createRunCgroup(limits);
      // Opened per run: bwrap reads the program to its end, so a shared descriptor would be empty next time.
      const seccompFd = openSync(cage.seccompFilter, 'r');
      try {
        const args = bwrapArgs({
          stagingDir: staging,
          toolchains: tc,
          needs: { ...needsFor(spec.language, spec.command), ...spec.needs },
          limits,
          env: sandboxEnv(spec, tc, driver, SANDBOX_WORKDIR),
          command,
          sandboxUid,
          // The child's fd 4: stdin, stdout, stderr and the report pipe come first.
          seccompFd: 4,
          disableUserns: cage.disableUserns,
          reportChannel: spec.command.some((arg) => arg.includes(REPORT_PLACEHOLDER)),
        });
        outcome = await spawnCapped({
          command: cgroup ? '/bin/sh' : 'bwrap',
          args: cgroup ? ['-c', JOIN_CGROUP, 'sophia-cgroup', 'bwrap', ...args] : args,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            ...(cgroup ? { SOPHIA_CGROUP_PROCS: cgroup.procsFiles.join(' ') } : {}),
          },
          timeoutMs: limits.timeoutMs,
          outputLimitBytes: limits.outputLimitBytes,
          reportFd: true,
          passFds: [seccompFd],
          signal,
          onProgress,
          heartbeatMs,
        });
      } finally {
        closeSync(seccompFd);
      }
      if (cgroup && outcome.exitCode === 124 && outcome.stderr.toString('utf8').includes(JOIN_FAILED)) {
        // Transient (the cgroup vanished under us): Temporal retries; the run never started unconfined.
        throw new Error(outcome.stderr.toString('utf8').trim());
      }
    } else {
      log.warn(
        '!!! SANDBOX_DRIVER=process: running generated code WITHOUT isolation (network, files and processes of this worker are reachable) !!!',
        { command: spec.command[0] },
      );
      const reportPath = path.join(staging, '.sophia-report');
      const command = resolveCommand(spec.command, tc, driver, reportPath, staging);
      outcome = await spawnCapped({
        command: 'prlimit',
        args: [...prlimitArgs(limits), '--', ...command],
        env: sandboxEnv(spec, tc, driver, staging),
        cwd: staging,
        timeoutMs: limits.timeoutMs,
        outputLimitBytes: limits.outputLimitBytes,
        signal,
        onProgress,
        heartbeatMs,
      });
      outcome.report = await fs.readFile(reportPath).catch(() => undefined);
    }
    if (outcome.cancelled && signal?.aborted) {
      sandboxRuns.inc({ driver, outcome: 'cancelled' });
      throw signal.reason;
    }
    const violations = detectViolations(outcome, cgroup?.stats());
    sandboxRuns.inc({
      driver,
      outcome:
        violations.length > 0
          ? 'violation'
          : outcome.timedOut
            ? 'timeout'
            : outcome.exitCode === 0
              ? 'exit-0'
              : 'exit-nonzero',
    });
    sandboxRunDuration.observe({ driver }, outcome.durationMs / 1000);
    const result: SandboxExecution = {
      driver,
      exitCode: outcome.exitCode,
      signal: terminatingSignal(outcome),
      timedOut: outcome.timedOut,
      outputTruncated: outcome.outputLimited,
      violations,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
      report: outcome.report,
      durationMs: outcome.durationMs,
      limits,
      sandboxUid,
      cgroup: cgroup ? (await bwrapCage()).cgroup.mode : 'none',
    };
    log.debug('sandbox run finished', { driver, exitCode: result.exitCode, violations, durationMs: result.durationMs });
    return result;
  } finally {
    await cgroup?.remove();
    await removeWorkspace(staging);
  }
}
