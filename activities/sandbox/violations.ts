import { constants } from 'node:os';
import type { RunCgroupStats } from './cgroup';
import type { CappedOutcome } from './spawn-capped';

/** What the sandbox contained during a run. */
export type Violation =
  'timeout' | 'cpu' | 'memory' | 'processes' | 'output-limit' | 'file-size' | 'disk' | 'network' | 'filesystem';

/** Human wording for each violation, used in summaries. */
export const VIOLATION_TEXT: Record<Violation, string> = {
  timeout: 'killed at the wall-clock timeout',
  cpu: 'killed at the CPU-time limit',
  memory: 'hit the memory limit',
  processes: 'hit the process limit (fork refused)',
  'output-limit': 'killed at the output limit',
  'file-size': 'hit the file-size limit',
  disk: 'filled its disk space (the size-capped tmpfs)',
  network: 'tried to use the network (there is none)',
  filesystem: 'tried to write outside its workspace (read-only or missing)',
};

/** Patterns in the output that show the code ran into a wall; the walls are real, the wording is the OS's. */
const OUTPUT_SIGNS: [Violation, RegExp][] = [
  ['memory', /MemoryError|Cannot allocate memory|ENOMEM|heap out of memory|Fatal process out of memory|std::bad_alloc/],
  ['processes', /Resource temporarily unavailable|BlockingIOError: \[Errno 11\]|EAGAIN|fork: retry|Cannot fork/i],
  [
    'network',
    /Network is unreachable|ENETUNREACH|Temporary failure in name resolution|EAI_AGAIN|getaddrinfo|Name or service not known|ECONNREFUSED|Connection refused/,
  ],
  ['filesystem', /Read-only file system|EROFS|Permission denied|EACCES/],
  ['file-size', /File too large|EFBIG/],
  ['disk', /No space left on device|ENOSPC/],
];

/** The signal that ended the command: bwrap and sh report a signalled child as exit code 128+n. */
export function terminatingSignal(outcome: Pick<CappedOutcome, 'exitCode' | 'signal'>): NodeJS.Signals | null {
  if (outcome.signal) return outcome.signal;
  if (outcome.exitCode === null || outcome.exitCode <= 128 || outcome.exitCode > 128 + 64) return null;
  const number = outcome.exitCode - 128;
  const entry = Object.entries(constants.signals).find(([, n]) => n === number);
  return (entry?.[0] as NodeJS.Signals | undefined) ?? null;
}

/**
 * Classifies a run's ending and output into the list of what was contained, most decisive first.
 * `cgroup` is what the run's cgroup counted, where there was one: kills at memory.max and forks
 * refused at pids.max, which the output alone may not show.
 */
export function detectViolations(outcome: CappedOutcome, cgroup?: RunCgroupStats): Violation[] {
  const found = new Set<Violation>();
  if (outcome.timedOut) found.add('timeout');
  if (outcome.outputLimited) found.add('output-limit');
  if (cgroup && cgroup.oomKills > 0) found.add('memory');
  if (cgroup && cgroup.forksRefused > 0) found.add('processes');
  const signal = outcome.cancelled || outcome.timedOut ? null : terminatingSignal(outcome);
  if (signal === 'SIGXCPU') found.add('cpu');
  if (signal === 'SIGXFSZ') found.add('file-size');
  // Only the tails: a test that merely prints the word "EAGAIN" in a huge log is not worth scanning for.
  const text = `${outcome.stdout.subarray(-16_384).toString('utf8')}\n${outcome.stderr.subarray(-16_384).toString('utf8')}`;
  for (const [violation, pattern] of OUTPUT_SIGNS) if (pattern.test(text)) found.add(violation);
  return [...found];
}
