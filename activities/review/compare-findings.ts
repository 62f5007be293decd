import type { Finding } from '../analysis/finding';
import type { ArtifactRef } from '../artifacts';

/** Inline finding lists are capped to keep workflow history small; the comparison artifact has them all. */
export const MAX_FINDINGS_PER_LIST = 50;

/** New, fixed and still-open findings against the previous run. Lists are capped; `report` has them all. */
export interface ReviewComparison {
  /** True when there was no previous run: every finding is new. */
  firstRun: boolean;
  counts: { new: number; fixed: number; stillOpen: number };
  new: Finding[];
  fixed: Finding[];
  stillOpen: Finding[];
  /** JSON `{ new, fixed, stillOpen, counts, firstRun }`, uncapped. */
  report: ArtifactRef;
  /** The run compared against, when there was one. */
  previous?: { workflowId: string; runId: string; reviewedAt: string };
  /** "2 new, 1 fixed, 3 still open". */
  summary: string;
}

/**
 * A finding's identity across runs: tool, rule, file and message. The line is left out on purpose:
 * an edit above a finding moves it, and a moved finding is still the same open finding.
 */
export function findingIdentity(finding: Pick<Finding, 'tool' | 'rule' | 'file' | 'message'>): string {
  return JSON.stringify([finding.tool, finding.rule, finding.file, finding.message]);
}

export interface FindingDelta {
  new: Finding[];
  fixed: Finding[];
  stillOpen: Finding[];
}

/**
 * Splits two runs' findings into new, fixed and still open. Identities are counted, not just
 * compared as a set: a file with two identical findings that loses one has one fixed and one still
 * open. Still-open findings come from the current run, so their line numbers are today's.
 */
export function compareFindings(previous: Finding[], current: Finding[]): FindingDelta {
  const remaining = new Map<string, Finding[]>();
  for (const finding of previous) {
    const key = findingIdentity(finding);
    remaining.set(key, [...(remaining.get(key) ?? []), finding]);
  }
  const delta: FindingDelta = { new: [], fixed: [], stillOpen: [] };
  for (const finding of current) {
    const matches = remaining.get(findingIdentity(finding));
    if (matches && matches.length > 0) {
      matches.shift();
      delta.stillOpen.push(finding);
    } else {
      delta.new.push(finding);
    }
  }
  for (const left of remaining.values()) delta.fixed.push(...left);
  return delta;
}

/** "2 new, 1 fixed, 3 still open" (or "first review: 5 findings"). */
export function summarizeDelta(delta: FindingDelta, firstRun: boolean): string {
  if (firstRun) return `first review: ${delta.new.length} finding${delta.new.length === 1 ? '' : 's'}`;
  return `${delta.new.length} new, ${delta.fixed.length} fixed, ${delta.stillOpen.length} still open`;
}
