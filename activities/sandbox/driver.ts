import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { config } from '../../common/config';

const execFileAsync = promisify(execFile);

export type DriverName = 'bwrap' | 'process';

/** True when the worker runs as root, where the code must be moved to an unprivileged uid. */
export function runningAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function unavailable(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'SandboxUnavailable', nonRetryable: true, message });
}

let probe: Promise<string | undefined> | undefined;

/** Runs a trivial sandbox once per process; resolves to why bwrap is unusable, or undefined when it works. */
function probeBwrap(): Promise<string | undefined> {
  probe ??= (async () => {
    const isolation = runningAsRoot()
      ? ['--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts']
      : ['--unshare-all'];
    try {
      await execFileAsync(
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
          '--',
          'true',
        ],
        { timeout: 10_000 },
      );
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      return e.code === 'ENOENT'
        ? 'bwrap is not installed (apt-get install bubblewrap)'
        : `bwrap fails: ${(e.stderr ?? e.message).trim()}`;
    }
    // The wrapper needs these inside the sandbox; util-linux ships them on every Debian/Ubuntu.
    for (const tool of runningAsRoot() ? ['prlimit', 'setpriv'] : ['prlimit']) {
      try {
        await execFileAsync(tool, ['--version'], { timeout: 5_000 });
      } catch {
        return `${tool} (util-linux) is not installed`;
      }
    }
    return undefined;
  })();
  return probe;
}

/**
 * Picks the driver from SANDBOX_DRIVER. `auto` and `bwrap` need a working bubblewrap and fail with
 * SandboxUnavailable otherwise; generated code never silently falls back to running unsandboxed.
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
  const problem = await probeBwrap();
  if (problem) {
    throw unavailable(
      `The bwrap sandbox is not usable: ${problem}. Install bubblewrap, or opt in to SANDBOX_DRIVER=process with SANDBOX_ALLOW_UNSANDBOXED=true.`,
    );
  }
  return 'bwrap';
}
