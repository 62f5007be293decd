import fs from 'node:fs';
import path from 'node:path';
import { prlimitArgs, type SandboxLimits } from './limits';
import { SANDBOX_NODE_MODULES, SANDBOX_PIP_DIR, type Toolchains } from './toolchains';

/** Where the job's files live inside the sandbox: a size-capped tmpfs, filled from a read-only copy at /src. */
export const SANDBOX_WORKDIR = '/work';
/**
 * Where the runner writes its structured report (JUnit XML, jest or ruff JSON): a pipe, not a file.
 * A relay in the sandbox copies it to the host's fd 3, which the command itself never holds, so
 * nothing the code writes to the workspace or /tmp can stand in for the report.
 */
export const SANDBOX_REPORT_CHANNEL = '/dev/fd/5';

/** Which host toolchains a run needs mounted; everything else stays invisible. */
export interface ToolchainNeeds {
  python?: boolean;
  node?: boolean;
  /** The project's node_modules (tsx, jest, @swc/jest) at /node_modules, found by node's resolution from /work. */
  nodeModules?: boolean;
  /** The pinned pip tools (pytest, ruff) at /opt/sophia/pip. */
  pip?: boolean;
}

export interface BwrapPlan {
  /** Host directory holding the job's files; bound read-only at /src. */
  stagingDir: string;
  toolchains: Toolchains;
  needs: ToolchainNeeds;
  limits: SandboxLimits;
  env: Record<string, string>;
  command: string[];
  /** The command writes a report to SANDBOX_REPORT_CHANNEL (it used the `{report}` placeholder). */
  reportChannel?: boolean;
  /** An fd of the bwrap process holding the compiled seccomp filter (`--seccomp`). */
  seccompFd?: number;
  /** bwrap has --disable-userns (0.8+): no nested user namespaces even where the caller is unprivileged. */
  disableUserns?: boolean;
  /**
   * When the worker runs as root, the code runs as this unprivileged uid. Root is exempt from
   * RLIMIT_NPROC, and so is any uid mapped to root in a user namespace, so only a real non-root uid
   * makes the process limit (and with it fork-bomb containment) hold. A fresh uid per run also gives
   * each run its own process count.
   */
  sandboxUid?: number;
}

/** Host top-level entries the toolchains may need (dynamic loader, libraries), mirrored as they are. */
const ROOT_ENTRIES = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];
/** Only the /etc files the dynamic loader and Debian alternatives need: no passwd, no shadow, no ssl keys. */
const ETC_ENTRIES = ['/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/alternatives'];

function isUnder(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

class MountList {
  readonly args: string[] = [];
  private readonly dirs = new Set<string>(['/']);
  private readonly roBound: string[] = [];

  /** bwrap creates missing parents as 0700 root-owned dirs, which an unprivileged uid cannot traverse. */
  private parents(target: string): void {
    const chain: string[] = [];
    for (let dir = path.dirname(target); !this.dirs.has(dir); dir = path.dirname(dir)) chain.unshift(dir);
    for (const dir of chain) {
      this.args.push('--perms', '0755', '--dir', dir);
      this.dirs.add(dir);
    }
  }

  roBind(source: string, target = source): void {
    if (this.roBound.some((bound) => isUnder(target, bound))) return;
    this.parents(target);
    this.args.push('--ro-bind', source, target);
    this.roBound.push(target);
    this.dirs.add(target);
  }

  symlink(linkTarget: string, at: string): void {
    this.args.push('--symlink', linkTarget, at);
  }
}

/**
 * The stage that runs as the sandbox user under the limits: fill the tmpfs workspace from the
 * read-only copy (private: umask 077), then run the command. With a report channel, fd 5 is a pipe to
 * a relay that copies at most the output limit to the host's fd 3; the command holds neither fd 3 nor
 * the fd its exit status travels on (7), so only the runner's own process can write the report. A
 * command without a report skips the relay (two forks fewer) and never holds fd 3 either.
 */
function innerScript(limits: SandboxLimits, reportChannel: boolean): string {
  const run = reportChannel
    ? [
        'exec 4>&1',
        `status=$( { { "$@" 5>&1 1>&4 4>&- 3>&- 7>&-; echo "$?" >&7; } | head -c ${limits.outputLimitBytes} >&3; } 7>&1 )`,
        'exit "${status:-125}"',
      ]
    : ['exec "$@" 3>&-'];
  return ['umask 077', `cp -R /src/. ${SANDBOX_WORKDIR}/ || exit 125`, ...run].join('\n');
}

/**
 * What bwrap executes: (as root) drop to the sandbox uid with no capabilities, apply the rlimits,
 * then the inner script. No shell ever runs with privileges, and the tmpfs dirs are world-writable
 * (sticky) so no chown pass is needed: each exec saved is a millisecond of start overhead.
 */
export function wrapperArgs(
  plan: Pick<BwrapPlan, 'limits' | 'sandboxUid' | 'reportChannel'>,
  command: string[],
): string[] {
  const uid = plan.sandboxUid;
  const drop =
    uid === undefined
      ? []
      : [
          'setpriv',
          `--reuid=${uid}`,
          `--regid=${uid}`,
          '--clear-groups',
          '--inh-caps=-all',
          '--bounding-set=-all',
          '--',
        ];
  return [
    ...drop,
    'prlimit',
    ...prlimitArgs(plan.limits),
    '--',
    '/bin/sh',
    '-c',
    innerScript(plan.limits, plan.reportChannel ?? false),
    'sophia-run',
    ...command,
  ];
}

/** The full bwrap argv (without the `bwrap` itself) for a plan. */
export function bwrapArgs(plan: BwrapPlan): string[] {
  const { toolchains: tc, needs, limits } = plan;
  const isolation =
    plan.sandboxUid === undefined
      ? // Unprivileged: bwrap needs a user namespace anyway, and the caller's uid is already not root;
        // --disable-userns keeps the code from nesting another one (the seccomp filter also refuses it).
        ['--unshare-all', ...(plan.disableUserns ? ['--unshare-user', '--disable-userns'] : [])]
      : // As root no user namespace: it would map the code to uid 0 and exempt it from RLIMIT_NPROC.
        ['--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts', '--unshare-cgroup-try'];
  const mounts = new MountList();
  mounts.roBind('/usr');
  for (const entry of ROOT_ENTRIES) {
    const host = `/${entry}`;
    try {
      const stat = fs.lstatSync(host);
      if (stat.isSymbolicLink()) mounts.symlink(fs.readlinkSync(host), host);
      else if (stat.isDirectory()) mounts.roBind(host);
    } catch {
      // Not on this distribution.
    }
  }
  for (const entry of ETC_ENTRIES) if (fs.existsSync(entry)) mounts.roBind(entry);
  // The installations themselves (interpreter, standard library, its shared library), never a parent
  // directory that happens to hold them: that could be a home directory.
  if (needs.python && tc.python) for (const p of tc.python.mounts) mounts.roBind(p);
  if (needs.node) mounts.roBind(tc.node.executable);
  if (needs.pip && tc.pipDir) mounts.roBind(tc.pipDir, SANDBOX_PIP_DIR);
  if (needs.nodeModules && tc.nodeModules) mounts.roBind(tc.nodeModules, SANDBOX_NODE_MODULES);
  if (tc.extraToolsDir) mounts.roBind(tc.extraToolsDir);
  mounts.roBind(plan.stagingDir, '/src');

  const env = Object.entries(plan.env).flatMap(([k, v]) => ['--setenv', k, v]);
  return [
    ...isolation,
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'sandbox',
    ...mounts.args,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    // Every writable place is a size-capped tmpfs (bwrap's /dev/shm would otherwise be unbounded).
    // Only the run's one uid lives in the sandbox, so sticky world-writable roots expose nothing.
    ...['--perms', '01777', '--size', String(limits.tmpfsBytes), '--tmpfs', '/dev/shm'],
    ...['--perms', '01777', '--size', String(limits.tmpfsBytes), '--tmpfs', '/tmp'],
    ...['--perms', '01777', '--size', String(limits.tmpfsBytes), '--tmpfs', SANDBOX_WORKDIR],
    '--chdir',
    SANDBOX_WORKDIR,
    '--clearenv',
    ...env,
    ...(plan.seccompFd === undefined ? [] : ['--seccomp', String(plan.seccompFd)]),
    '--',
    ...wrapperArgs(plan, plan.command),
  ];
}
