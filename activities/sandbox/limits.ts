import { config } from '../../common/config';

/** Resource limits of one sandboxed run. */
export interface SandboxLimits {
  /** Wall clock: the whole process group is killed when it runs out. */
  timeoutMs: number;
  /** RLIMIT_CPU in seconds: SIGXCPU at the soft limit, SIGKILL one second later. */
  cpuSeconds: number;
  /**
   * The whole run's memory (its cgroup's memory.max, no swap) and, as a second line, each process's
   * RLIMIT_DATA in bytes. Not RLIMIT_AS: node and esbuild reserve gigabytes of address space they
   * never touch, so an address-space cap kills them at start-up while real allocations pass.
   */
  memoryBytes: number;
  /**
   * The run's pids.max and each uid's RLIMIT_NPROC (enforced because the sandboxed code runs under
   * its own unprivileged uid).
   */
  maxProcesses: number;
  /** CPU cores the whole run may use at once (its cgroup's cpu.max), where per-run cgroups work. */
  cpus: number;
  /** RLIMIT_FSIZE in bytes: the largest file the code may write. */
  maxFileBytes: number;
  /**
   * Size of each tmpfs (/work, /tmp, /dev/shm): bounds the total written across files, which
   * RLIMIT_FSIZE does not; with a per-run cgroup the pages also count against the run's memory.
   */
  tmpfsBytes: number;
  /** Bytes of stdout and of stderr kept; reaching the cap kills the run. */
  outputLimitBytes: number;
}

const MB = 1024 * 1024;

/** The limits from config, with the wall clock optionally narrowed (never widened past 10x) per call. */
export function sandboxLimits(timeoutMs?: number): SandboxLimits {
  const cfg = config();
  const timeout = Math.max(100, Math.min(timeoutMs ?? cfg.SANDBOX_TIMEOUT_MS, cfg.SANDBOX_TIMEOUT_MS * 10));
  return {
    timeoutMs: timeout,
    // CPU time can exceed wall time with threads, so give a little slack over the wall clock.
    cpuSeconds: Math.ceil(timeout / 1000) + 1,
    memoryBytes: cfg.SANDBOX_MEMORY_MB * MB,
    maxProcesses: cfg.SANDBOX_MAX_PROCESSES,
    cpus: cfg.SANDBOX_CPUS,
    maxFileBytes: cfg.SANDBOX_MAX_FILE_MB * MB,
    tmpfsBytes: cfg.SANDBOX_MAX_FILE_MB * 4 * MB,
    outputLimitBytes: cfg.SANDBOX_OUTPUT_LIMIT_KB * 1024,
  };
}

/** `prlimit` arguments that apply the limits to the command that follows. */
export function prlimitArgs(limits: SandboxLimits): string[] {
  return [
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
    `--data=${limits.memoryBytes}`,
    `--nproc=${limits.maxProcesses}`,
    `--fsize=${limits.maxFileBytes}`,
    // No core dumps: they would fill the tmpfs and leak memory contents into the workspace.
    '--core=0',
  ];
}
