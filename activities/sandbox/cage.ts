import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cageReportDir, type CageReport } from '../../common/cage-report';
import { config } from '../../common/config';
import { bwrapCage, chooseDriver } from './driver';
import { sandboxLimits } from './limits';
import { deniedSyscalls } from './seccomp';

/** Describes the cage of this worker; never throws (an unusable sandbox is described, not raised). */
export async function describeCage(): Promise<CageReport> {
  const limits = sandboxLimits();
  const base = { host: os.hostname(), pid: process.pid, reportedAt: new Date().toISOString() };
  const rlimits = `per-process rlimits (${limits.memoryBytes >> 20} MB data, ${limits.maxProcesses} processes, ${limits.cpuSeconds} s CPU, ${limits.maxFileBytes >> 20} MB files)`;
  let driver: 'bwrap' | 'process';
  try {
    driver = await chooseDriver();
  } catch (err) {
    return { ...base, driver: 'unavailable', holds: [], missing: [(err as Error).message], wholeRunLimits: false };
  }
  if (driver === 'process') {
    return {
      ...base,
      driver,
      holds: [rlimits, 'wall-clock timeout and output cap'],
      missing: ['SANDBOX_DRIVER=process: no namespaces, no seccomp filter, no cgroup; the code runs as the worker'],
      wholeRunLimits: false,
    };
  }
  const cage = await bwrapCage();
  // The policy text the filter was built from sits next to it (an image ships no sources).
  const stamp = `${cage.seccompFilter}.policy`;
  const policy = fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8') : '';
  const denied = deniedSyscalls(policy);
  const holds = [
    'bwrap: no network, own pid/ipc/uts namespaces, read-only toolchains, size-capped tmpfs workspace',
    `seccomp filter${denied.length ? ` (${denied.length} system calls refused)` : ''}`,
    typeof process.getuid === 'function' && process.getuid() === 0
      ? 'a fresh unprivileged uid per run, no capabilities, no new user namespaces (seccomp)'
      : cage.disableUserns
        ? 'no nested user namespaces (--disable-userns and seccomp)'
        : 'no nested user namespaces (seccomp)',
  ];
  const missing: string[] = [];
  const wholeRunLimits = cage.cgroup.mode !== 'none';
  if (wholeRunLimits) {
    holds.push(
      `whole-run limits in a ${cage.cgroup.mode} cgroup: ${limits.memoryBytes >> 20} MB memory without swap, ${limits.maxProcesses} processes, ${limits.cpus} CPU`,
    );
  } else {
    missing.push(
      `no per-run cgroup (${cage.cgroup.detail}): ONLY PER-PROCESS LIMITS HOLD, so a run's processes together may use several times SANDBOX_MEMORY_MB`,
    );
  }
  holds.push(rlimits, 'wall-clock timeout and output cap');
  return { ...base, driver, holds, missing, wholeRunLimits };
}

/** Writes this worker's report where the API's /ready finds it; best effort (the log line is the other copy). */
export function publishCage(report: CageReport, dataDir = config().dataDir): void {
  try {
    const dir = cageReportDir(dataDir);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `cage-${report.host}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(report, null, 2));
    fs.renameSync(`${file}.tmp`, file);
  } catch {
    // A read-only data dir: the start-up log still says what holds.
  }
}
