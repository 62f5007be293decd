import fs from 'node:fs';
import path from 'node:path';
import { prlimitArgs, type SandboxLimits } from './limits';
import { SANDBOX_NODE_MODULES, SANDBOX_PIP_DIR, type Toolchains } from './toolchains';

/** Where the job's files live inside the sandbox: a size-capped tmpfs, filled from a read-only copy at /src. */
export const SANDBOX_WORKDIR = '/work';
/** A structured report (JUnit XML, ruff JSON) written here is streamed back to the host on fd 3. */
export const SANDBOX_REPORT_PATH = '/tmp/.sophia/report';

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
 * read-only copy, run the command, then ship the report on fd 3. fd 3 is closed for the command
 * itself, so the code under test cannot forge the report stream.
 */
function innerScript(limits: SandboxLimits): string {
  return [
    `cp -R /src/. ${SANDBOX_WORKDIR}/ || exit 125`,
    '"$@" 3>&-',
    'rc=$?',
    `if [ -f ${SANDBOX_REPORT_PATH} ]; then head -c ${limits.outputLimitBytes} ${SANDBOX_REPORT_PATH} >&3; fi`,
    'exit $rc',
  ].join('\n');
}

/**
 * What bwrap executes: (as root) drop to the sandbox uid with no capabilities, apply the rlimits,
 * then the inner script. No shell ever runs with privileges, and the tmpfs dirs are world-writable
 * (sticky) so no chown pass is needed: each exec saved is a millisecond of start overhead.
 */
export function wrapperArgs(plan: Pick<BwrapPlan, 'limits' | 'sandboxUid'>, command: string[]): string[] {
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
    innerScript(plan.limits),
    'sophia-run',
    ...command,
  ];
}

/** The full bwrap argv (without the `bwrap` itself) for a plan. */
export function bwrapArgs(plan: BwrapPlan): string[] {
  const { toolchains: tc, needs, limits } = plan;
  const isolation =
    plan.sandboxUid === undefined
      ? // Unprivileged: bwrap needs a user namespace anyway, and the caller's uid is already not root.
        ['--unshare-all']
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
  if (needs.python && tc.python) mounts.roBind(tc.python.prefix);
  if (needs.node) mounts.roBind(tc.node.prefix);
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
    ...['--perms', '01777', '--size', String(limits.tmpfsBytes), '--tmpfs', '/tmp'],
    ...['--perms', '01777', '--dir', path.dirname(SANDBOX_REPORT_PATH)],
    ...['--perms', '01777', '--size', String(limits.tmpfsBytes), '--tmpfs', SANDBOX_WORKDIR],
    '--chdir',
    SANDBOX_WORKDIR,
    '--clearenv',
    ...env,
    '--',
    ...wrapperArgs(plan, plan.command),
  ];
}
