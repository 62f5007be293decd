import fs from 'node:fs';
import path from 'node:path';

/**
 * The report each sandbox worker leaves at start-up in the shared data directory, saying what holds
 * around every run it executes; the API's /ready reads them. Written by activities/sandbox/cage.ts.
 */
export interface CageReport {
  host: string;
  pid: number;
  reportedAt: string;
  driver: 'bwrap' | 'process' | 'unavailable';
  /** Every wall in place, one phrase each. */
  holds: string[];
  /** Walls that are missing here, and why. Empty when the full cage holds. */
  missing: string[];
  /** True when the run as a whole has a memory, process and CPU ceiling (a per-run cgroup). */
  wholeRunLimits: boolean;
}

/** Where sandbox workers leave their reports: the data directory every process shares. */
export function cageReportDir(dataDir: string): string {
  return path.join(dataDir, 'sandbox');
}

/** The reports sandbox workers left, newest first. */
export function readCageReports(dataDir: string): CageReport[] {
  const dir = cageReportDir(dataDir);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /^cage-.*\.json$/.test(n));
  } catch {
    return [];
  }
  const reports: CageReport[] = [];
  for (const name of names) {
    try {
      reports.push(JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as CageReport);
    } catch {
      // Half-written or foreign: skip it.
    }
  }
  return reports.sort((a, b) => b.reportedAt.localeCompare(a.reportedAt));
}
