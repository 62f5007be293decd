import { bwrapArgs } from '../../activities/sandbox/bwrap-args';
import { prlimitArgs, type SandboxLimits } from '../../activities/sandbox/limits';
import type { CappedOutcome } from '../../activities/sandbox/spawn-capped';
import type { Toolchains } from '../../activities/sandbox/toolchains';
import { detectViolations, terminatingSignal } from '../../activities/sandbox/violations';
import { safeRelativePath } from '../../activities/sandbox/workspace';

const limits: SandboxLimits = {
  timeoutMs: 10_000,
  cpuSeconds: 11,
  memoryBytes: 512 * 1024 * 1024,
  maxProcesses: 64,
  cpus: 1,
  maxFileBytes: 8 * 1024 * 1024,
  tmpfsBytes: 32 * 1024 * 1024,
  outputLimitBytes: 1024,
};

const toolchains: Toolchains = {
  python: {
    executable: '/home/dev/.local/bin/python3.11',
    version: '3.11.7',
    pytest: true,
    mounts: [
      '/home/dev/.local/bin/python3.11',
      '/home/dev/.local/lib/python3.11',
      '/home/dev/.local/lib/libpython3.11.so.1.0',
    ],
  },
  node: { executable: '/home/dev/.nvm/versions/node/v20.20.2/bin/node' },
  nodeModules: '/srv/app/node_modules',
  pipDir: '/srv/app/.tools/pip',
};

function plan(
  sandboxUid: number | undefined,
  needs = { python: true, pip: true },
  disableUserns = false,
  reportChannel = false,
) {
  return bwrapArgs({
    stagingDir: '/tmp/sophia-sbx-1',
    toolchains,
    needs,
    limits,
    env: { PATH: '/usr/bin', HOME: '/work' },
    command: ['/home/dev/.local/bin/python3.11', 'a.py'],
    sandboxUid,
    seccompFd: 4,
    disableUserns,
    reportChannel,
  });
}

function pairs(args: string[], flag: string): string[][] {
  return args.flatMap((a, i) => (a === flag ? [args.slice(i + 1, i + 3)] : []));
}

describe('the bwrap arguments', () => {
  it('isolate network, pids and session and clear the environment', () => {
    const args = plan(200_000);
    for (const flag of [
      '--unshare-net',
      '--unshare-pid',
      '--unshare-ipc',
      '--die-with-parent',
      '--new-session',
      '--clearenv',
    ]) {
      expect(args).toContain(flag);
    }
    expect(pairs(args, '--setenv')).toEqual([
      ['PATH', '/usr/bin'],
      ['HOME', '/work'],
    ]);
  });

  it('as root, skip the user namespace and drop to the unprivileged uid before the limits apply', () => {
    const args = plan(200_000);
    expect(args).not.toContain('--unshare-all');
    expect(args).not.toContain('--unshare-user');
    const payload = args.slice(args.indexOf('--', args.indexOf('--clearenv')) + 1);
    expect(payload.slice(0, 8)).toEqual([
      'setpriv',
      '--reuid=200000',
      '--regid=200000',
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--',
      'prlimit',
    ]);
    expect(payload).toContain('--nproc=64');
    expect(payload.slice(-2)).toEqual(['/home/dev/.local/bin/python3.11', 'a.py']);
  });

  it('unprivileged, rely on the user namespace and skip setpriv', () => {
    const args = plan(undefined);
    expect(args).toContain('--unshare-all');
    expect(args.join(' ')).not.toContain('setpriv');
  });

  it('unprivileged with a bwrap that can, forbid nested user namespaces', () => {
    expect(plan(undefined, undefined, true)).toEqual(
      expect.arrayContaining(['--unshare-all', '--unshare-user', '--disable-userns']),
    );
    expect(plan(undefined)).not.toContain('--disable-userns');
  });

  it('load the seccomp filter from the given fd, before the command', () => {
    const args = plan(200_000);
    expect(pairs(args, '--seccomp')).toEqual([['4', '--']]);
    expect(args.indexOf('--seccomp')).toBeLessThan(args.indexOf('setpriv'));
  });

  it('give the command the report channel but never the host end of it', () => {
    const script = plan(200_000, undefined, false, true).find((a) => a.includes('"$@"')) ?? '';
    expect(script).toMatch(/"\$@" 5>&1 1>&4 4>&- 3>&- 7>&-/);
    expect(script).toContain('umask 077');
    expect(script).not.toContain('/tmp/');
    // Without a report, no relay: the command is exec'd with the host's fd 3 closed.
    const plain = plan(200_000).find((a) => a.includes('"$@"')) ?? '';
    expect(plain).toMatch(/exec "\$@" 3>&-$/);
    expect(plain).not.toContain('5>&1');
  });

  it('mount only the needed toolchains read-only, with traversable parents, and tmpfs work dirs', () => {
    const args = plan(200_000);
    const ro = pairs(args, '--ro-bind');
    expect(ro).toEqual(
      expect.arrayContaining([
        ['/usr', '/usr'],
        ['/home/dev/.local/bin/python3.11', '/home/dev/.local/bin/python3.11'],
        ['/home/dev/.local/lib/python3.11', '/home/dev/.local/lib/python3.11'],
        ['/srv/app/.tools/pip', '/opt/sophia/pip'],
        ['/tmp/sophia-sbx-1', '/src'],
      ]),
    );
    expect(ro.map(([, target]) => target)).not.toContain('/node_modules');
    expect(args).not.toContain('--bind');
    expect(args.join(' ')).toContain('--perms 0755 --dir /home/dev/.local/lib');
    expect(pairs(args, '--tmpfs').map(([target]) => target)).toEqual(['/dev/shm', '/tmp', '/work']);
    expect(args.filter((a) => a === String(limits.tmpfsBytes))).toHaveLength(3);
    const nodeArgs = pairs(plan(200_000, { node: true, nodeModules: true } as never), '--ro-bind');
    expect(nodeArgs).toEqual(
      expect.arrayContaining([
        ['/srv/app/node_modules', '/node_modules'],
        ['/home/dev/.nvm/versions/node/v20.20.2/bin/node', '/home/dev/.nvm/versions/node/v20.20.2/bin/node'],
      ]),
    );
    expect(nodeArgs.map(([s]) => s)).not.toContain('/home/dev/.local/lib/python3.11');
  });

  it('never bind a directory that merely contains a toolchain (a home, a prefix)', () => {
    const sources = [
      ...pairs(plan(200_000), '--ro-bind'),
      ...pairs(plan(200_000, { node: true, nodeModules: true } as never), '--ro-bind'),
    ].map(([s]) => s);
    for (const parent of [
      '/home',
      '/home/dev',
      '/home/dev/.local',
      '/home/dev/.nvm',
      '/home/dev/.nvm/versions/node/v20.20.2',
    ]) {
      expect(sources).not.toContain(parent);
    }
  });

  it('limit CPU, data memory, processes, file size and core dumps', () => {
    expect(prlimitArgs(limits)).toEqual([
      '--cpu=11:12',
      `--data=${512 * 1024 * 1024}`,
      '--nproc=64',
      `--fsize=${8 * 1024 * 1024}`,
      '--core=0',
    ]);
  });
});

function outcome(partial: Partial<CappedOutcome>): CappedOutcome {
  return {
    exitCode: 0,
    signal: null,
    timedOut: false,
    cancelled: false,
    outputLimited: false,
    stdout: Buffer.from(''),
    stderr: Buffer.from(''),
    durationMs: 1,
    ...partial,
  };
}

describe('violation detection', () => {
  it('reads signals from the 128+n exit codes bwrap passes through', () => {
    expect(terminatingSignal({ exitCode: 137, signal: null })).toBe('SIGKILL');
    expect(terminatingSignal({ exitCode: 152, signal: null })).toBe('SIGXCPU');
    expect(terminatingSignal({ exitCode: 1, signal: null })).toBeNull();
  });

  it('names timeouts, output floods, CPU and file-size limits and the OS errors of the walls', () => {
    expect(detectViolations(outcome({ timedOut: true, exitCode: null, signal: 'SIGKILL' }))).toEqual(['timeout']);
    expect(detectViolations(outcome({ outputLimited: true }))).toEqual(['output-limit']);
    expect(detectViolations(outcome({ exitCode: 152 }))).toEqual(['cpu']);
    expect(detectViolations(outcome({ exitCode: 153 }))).toEqual(['file-size']);
    expect(
      detectViolations(outcome({ exitCode: 1, stderr: Buffer.from('OSError: [Errno 101] Network is unreachable') })),
    ).toEqual(['network']);
    expect(
      detectViolations(
        outcome({ exitCode: 1, stderr: Buffer.from('BlockingIOError: [Errno 11] Resource temporarily unavailable') }),
      ),
    ).toEqual(['processes']);
    expect(detectViolations(outcome({ exitCode: 1, stderr: Buffer.from('MemoryError') }))).toEqual(['memory']);
    expect(detectViolations(outcome({ exitCode: 1, stdout: Buffer.from('1 failed, 2 passed') }))).toEqual([]);
  });
});

describe('workspace paths', () => {
  it('accept relative paths and reject ones that leave the workspace', () => {
    expect(safeRelativePath('src/./a.py')).toBe('src/a.py');
    for (const bad of ['../a.py', '/etc/passwd', 'src/../../a', '.', 'a\0b']) {
      expect(() => safeRelativePath(bad)).toThrow(/inside the workspace/);
    }
  });
});
