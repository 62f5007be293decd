import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { config } from '../../common/config';
import { cgroupSupport, type CgroupSupport } from './cgroup';
import { ensureSeccompFilter } from './seccomp';

const execFileAsync = promisify(execFile);

export type DriverName = 'bwrap' | 'process';

/** True when the worker runs as root, where the code must be moved to an unprivileged uid. */
export function runningAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function unavailable(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'SandboxUnavailable', nonRetryable: true, message });
}

/** What holds around each bwrap run on this worker, found once per process. */
export interface BwrapCage {
  /** The compiled seccomp filter passed to every run (`bwrap --seccomp`). */
  seccompFilter: string;
  /** bwrap's --disable-userns is used (unprivileged worker with bwrap ≥ 0.8). */
  disableUserns: boolean;
  /** Per-run cgroups, or why only the per-process rlimits hold. */
  cgroup: CgroupSupport;
}

let probe: Promise<{ problem?: string; cage?: BwrapCage }> | undefined;

/** Runs a trivial sandbox with the seccomp filter once per process: the cage, or why bwrap is unusable. */
function probeBwrap(): Promise<{ problem?: string; cage?: BwrapCage }> {
  probe ??= (async () => {
    let seccompFilter: string;
    try {
      seccompFilter = await ensureSeccompFilter();
    } catch (err) {
      return { problem: (err as Error).message };
    }
    const isolation = runningAsRoot()
      ? ['--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts']
      : ['--unshare-all'];
    const fd = fs.openSync(seccompFilter, 'r');
    try {
      await new Promise<void>((resolve, reject) => {
        const child = spawn(
          'bwrap',
          [
            ...isolation,
            '--die-with-parent',
            '--new-session',
            '--ro-bind',
            '/',
            '/',
            '--proc',
            '/proc',
            '--dev',
            '/dev',
            '--seccomp',
            '3',
            '--',
            'true',
          ],
          { stdio: ['ignore', 'ignore', 'pipe', fd], timeout: 10_000 },
        );
        let stderr = '';
        child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('error', reject);
        child.on('close', (code) =>
          code === 0 ? resolve() : reject(Object.assign(new Error(`exit ${code}`), { stderr })),
        );
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      return {
        problem:
          e.code === 'ENOENT'
            ? 'bwrap is not installed (apt-get install bubblewrap)'
            : `bwrap fails: ${(e.stderr || e.message).trim()}`,
      };
    } finally {
      fs.closeSync(fd);
    }
    // The wrapper needs these inside the sandbox; util-linux ships them on every Debian/Ubuntu.
    for (const tool of runningAsRoot() ? ['prlimit', 'setpriv'] : ['prlimit']) {
      try {
        await execFileAsync(tool, ['--version'], { timeout: 5_000 });
      } catch {
        return { problem: `${tool} (util-linux) is not installed` };
      }
    }
    // As root there is no user namespace to disable; unprivileged, bwrap 0.8 added the switch.
    const help = runningAsRoot()
      ? ''
      : await execFileAsync('bwrap', ['--help'], { timeout: 5_000 }).then(
          (r) => r.stdout,
          () => '',
        );
    return { cage: { seccompFilter, disableUserns: help.includes('--disable-userns'), cgroup: await cgroupSupport() } };
  })();
  return probe;
}

/** The cage of the bwrap driver; throws SandboxUnavailable like `chooseDriver` when bwrap is unusable. */
export async function bwrapCage(): Promise<BwrapCage> {
  const { problem, cage } = await probeBwrap();
  if (!cage) throw unavailableBwrap(problem ?? 'unknown');
  return cage;
}

function unavailableBwrap(problem: string): ApplicationFailure {
  return unavailable(
    `The bwrap sandbox is not usable: ${problem}. Install bubblewrap, or opt in to SANDBOX_DRIVER=process with SANDBOX_ALLOW_UNSANDBOXED=true.`,
  );
}

/**
 * Picks the driver from SANDBOX_DRIVER. `auto` and `bwrap` need a working bubblewrap and its compiled
 * seccomp filter, and fail with SandboxUnavailable otherwise; generated code never silently falls back to running unsandboxed.
 * `process` additionally needs SANDBOX_ALLOW_UNSANDBOXED=true.
 */
export async function chooseDriver(): Promise<DriverName> {
  const cfg = config();
  if (cfg.SANDBOX_DRIVER === 'process') {
    if (!cfg.SANDBOX_ALLOW_UNSANDBOXED) {
      throw unavailable(
        'SANDBOX_DRIVER=process runs generated code without isolation; set SANDBOX_ALLOW_UNSANDBOXED=true to accept that, or use SANDBOX_DRIVER=auto with bubblewrap installed.',
      );
    }
    return 'process';
  }
  const { problem } = await probeBwrap();
  if (problem) throw unavailableBwrap(problem);
  return 'bwrap';
}
