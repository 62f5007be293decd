import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * One cgroup per sandboxed run, so the run as a whole (every process it forks, and the tmpfs pages it
 * writes) has a memory, process and CPU ceiling, which per-process rlimits cannot give.
 *
 * cgroup v2 is used where the worker can delegate a subtree to itself (root in the root cgroup, or
 * alone in its container's cgroup); the v1 memory, pids and cpu hierarchies where those are mounted
 * and writable (hybrid hosts like CI). Anything else is "none": the rlimits alone hold, and
 * `cgroupSupport()` says why, for the start-up log and /ready.
 */

export type CgroupMode = 'v2' | 'v1' | 'none';

export interface CgroupSupport {
  mode: CgroupMode;
  /** Why there are no per-run cgroups (mode `none`), or where they live. */
  detail: string;
}

export interface RunCgroupLimits {
  memoryBytes: number;
  maxProcesses: number;
  /** CPU cores the run may use at once (cpu.max / cfs quota). */
  cpus: number;
}

/** What the run's cgroup saw, read before it is removed. */
export interface RunCgroupStats {
  /** Processes the kernel killed at memory.max. */
  oomKills: number;
  /** Forks refused at pids.max. */
  forksRefused: number;
}

export interface RunCgroup {
  /** The `cgroup.procs` files a process writes its pid to, to enter the run's cgroup (one per v1 hierarchy). */
  procsFiles: string[];
  stats(): RunCgroupStats;
  /** Kills whatever is left in the cgroup and removes it; never throws. */
  remove(): Promise<void>;
}

const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
const PARENT = 'sophia-sandbox';
const CPU_PERIOD_US = 100_000;

interface Layout {
  mode: 'v2' | 'v1';
  /** v2: one parent directory; v1: the parent per controller. */
  parents: Record<string, string>;
}

let layout: Promise<{ layout?: Layout; support: CgroupSupport }> | undefined;

function read(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

function write(file: string, value: string): void {
  fs.writeFileSync(file, value);
}

/** Mount points of the cgroup filesystems, with the hierarchy path each mount shows at its root. */
function cgroupMounts(): { v2?: { dir: string; root: string }; v1: Record<string, { dir: string; root: string }> } {
  const v1: Record<string, { dir: string; root: string }> = {};
  let v2: { dir: string; root: string } | undefined;
  for (const line of read('/proc/self/mountinfo').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [fstype, , options] = right.split(' ');
    const root = fields[3] ?? '/';
    const dir = (fields[4] ?? '').replace(/\\040/g, ' ');
    if (fstype === 'cgroup2') v2 ??= { dir, root };
    else if (fstype === 'cgroup') {
      for (const opt of (options ?? '').split(','))
        if ((CONTROLLERS as readonly string[]).includes(opt)) v1[opt] = { dir, root };
    }
  }
  return { v2, v1 };
}

/** This process's cgroup path per hierarchy: '' for v2, the controller name for v1. */
function ownCgroups(): Record<string, string> {
  const own: Record<string, string> = {};
  for (const line of read('/proc/self/cgroup').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, controllers = '', cgPath = '/'] = m;
    if (controllers === '') own[''] = cgPath;
    for (const c of controllers.split(',')) if (c) own[c] = cgPath;
  }
  return own;
}

function hostPath(mount: { dir: string; root: string }, cgPath: string): string {
  const rel = path.posix.relative(mount.root, cgPath);
  return rel.startsWith('..') ? mount.dir : path.join(mount.dir, rel);
}

function enable(dir: string): void {
  const have = read(path.join(dir, 'cgroup.subtree_control')).split(/\s+/);
  const missing = CONTROLLERS.filter((c) => !have.includes(c));
  if (missing.length) write(path.join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
}

/**
 * v2 delegation: a `sophia-sandbox` child of a cgroup whose subtree may enable memory, pids and cpu.
 * That is the hierarchy's root as seen from here (root, or a container's own cgroup namespace), after
 * moving this process into a leaf when it sits there alone (the no-internal-processes rule).
 */
function setUpV2(mount: { dir: string; root: string }, own: string): Layout {
  const available = read(path.join(mount.dir, 'cgroup.controllers')).split(/\s+/);
  const lacking = CONTROLLERS.filter((c) => !available.includes(c));
  if (lacking.length)
    throw new Error(`the cgroup v2 hierarchy at ${mount.dir} lacks the ${lacking.join(', ')} controller(s)`);
  const problems: string[] = [];
  for (const base of [...new Set([mount.dir, hostPath(mount, own)])]) {
    try {
      try {
        enable(base);
      } catch (err) {
        // Busy: processes live in `base`. Only when they are this process alone may it move them aside.
        const procs = read(path.join(base, 'cgroup.procs')).split('\n').filter(Boolean);
        if (procs.some((pid) => pid !== String(process.pid))) throw err;
        fs.mkdirSync(path.join(base, 'sophia-worker'), { recursive: true });
        write(path.join(base, 'sophia-worker', 'cgroup.procs'), String(process.pid));
        enable(base);
      }
      const parent = path.join(base, PARENT);
      fs.mkdirSync(parent, { recursive: true });
      enable(parent);
      return { mode: 'v2', parents: { '': parent } };
    } catch (err) {
      problems.push(`${base}: ${(err as Error).message}`);
    }
  }
  throw new Error(`no delegable cgroup v2 subtree (${problems.join('; ')})`);
}

function setUpV1(mounts: Record<string, { dir: string; root: string }>, own: Record<string, string>): Layout {
  const parents: Record<string, string> = {};
  for (const c of CONTROLLERS) {
    const mount = mounts[c];
    if (!mount) throw new Error(`no cgroup v1 ${c} hierarchy is mounted`);
    const parent = path.join(hostPath(mount, own[c] ?? '/'), PARENT);
    fs.mkdirSync(parent, { recursive: true });
    parents[c] = parent;
  }
  return { mode: 'v1', parents };
}

async function detect(): Promise<{ layout?: Layout; support: CgroupSupport }> {
  const reasons: string[] = [];
  try {
    const mounts = cgroupMounts();
    const own = ownCgroups();
    if (mounts.v2) {
      try {
        const l = setUpV2(mounts.v2, own[''] ?? '/');
        return { layout: l, support: { mode: 'v2', detail: `cgroup v2 under ${l.parents['']}` } };
      } catch (err) {
        reasons.push((err as Error).message);
      }
    }
    if (Object.keys(mounts.v1).length) {
      try {
        const l = setUpV1(mounts.v1, own);
        return {
          layout: l,
          support: { mode: 'v1', detail: `cgroup v1 under ${Object.values(l.parents).join(', ')}` },
        };
      } catch (err) {
        reasons.push(`v1: ${(err as Error).message}`);
      }
    }
    if (!mounts.v2 && !Object.keys(mounts.v1).length) reasons.push('no cgroup filesystem is mounted');
  } catch (err) {
    reasons.push((err as Error).message);
  }
  return { support: { mode: 'none', detail: reasons.join('; ') } };
}

/** Whether per-run cgroups work here, found once per process (it creates the parent cgroup). */
export async function cgroupSupport(): Promise<CgroupSupport> {
  layout ??= detect();
  return (await layout).support;
}

function tryWrite(file: string, value: string): void {
  if (fs.existsSync(file)) write(file, value);
}

function counter(file: string, key: string): number {
  try {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(read(file));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function removeDir(dir: string, killAll: () => void): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') return;
      killAll();
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function killProcs(procsFile: string): void {
  try {
    for (const pid of read(procsFile).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  } catch {
    // The cgroup is gone.
  }
}

/**
 * A fresh cgroup for one run with its limits written, or undefined where cgroups are unavailable
 * (`cgroupSupport()` says why). Memory has no swap: memory.swap.max 0 (v2) or memsw = memory (v1).
 * At the ceiling the kernel kills the run's biggest process, not the whole run (no memory.oom.group),
 * so a test runner survives the test that allocated too much and reports it.
 */
export async function createRunCgroup(limits: RunCgroupLimits): Promise<RunCgroup | undefined> {
  layout ??= detect();
  const l = (await layout).layout;
  if (!l) return undefined;
  const name = `run-${randomBytes(6).toString('hex')}`;
  const quota = String(Math.max(1_000, Math.round(limits.cpus * CPU_PERIOD_US)));
  if (l.mode === 'v2') {
    const dir = path.join(l.parents[''] ?? '', name);
    fs.mkdirSync(dir);
    try {
      write(path.join(dir, 'memory.max'), String(limits.memoryBytes));
      tryWrite(path.join(dir, 'memory.swap.max'), '0');
      write(path.join(dir, 'pids.max'), String(limits.maxProcesses));
      write(path.join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
    } catch (err) {
      fs.rmdirSync(dir);
      throw err;
    }
    return {
      procsFiles: [path.join(dir, 'cgroup.procs')],
      stats: () => ({
        oomKills: counter(path.join(dir, 'memory.events'), 'oom_kill'),
        forksRefused: counter(path.join(dir, 'pids.events'), 'max'),
      }),
      remove: () =>
        removeDir(dir, () => {
          try {
            write(path.join(dir, 'cgroup.kill'), '1');
          } catch {
            killProcs(path.join(dir, 'cgroup.procs'));
          }
        }),
    };
  }
  const dirs = Object.fromEntries(CONTROLLERS.map((c) => [c, path.join(l.parents[c] ?? '', name)])) as Record<
    (typeof CONTROLLERS)[number],
    string
  >;
  const made: string[] = [];
  try {
    for (const dir of Object.values(dirs)) {
      fs.mkdirSync(dir);
      made.push(dir);
    }
    write(path.join(dirs.memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    tryWrite(path.join(dirs.memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
    write(path.join(dirs.pids, 'pids.max'), String(limits.maxProcesses));
    write(path.join(dirs.cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    write(path.join(dirs.cpu, 'cpu.cfs_quota_us'), quota);
  } catch (err) {
    for (const dir of made) fs.rmdirSync(dir);
    throw err;
  }
  return {
    procsFiles: Object.values(dirs).map((d) => path.join(d, 'cgroup.procs')),
    stats: () => ({
      oomKills: counter(path.join(dirs.memory, 'memory.oom_control'), 'oom_kill'),
      forksRefused: counter(path.join(dirs.pids, 'pids.events'), 'max'),
    }),
    remove: async () => {
      for (const dir of Object.values(dirs)) await removeDir(dir, () => killProcs(path.join(dir, 'cgroup.procs')));
    },
  };
}
