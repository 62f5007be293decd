/**
 * Activities of scheduled reviews, served by the sandbox pool (it can read the repository and runs
 * the analysis next to it). Only activity functions are exported as values: the worker registers
 * every export.
 */
import path from 'node:path';
import { config } from '../common/config';
import type { Finding } from './analysis/finding';
import { artifactStore, type ArtifactRef, type FileSetRef } from './artifacts';
import { ReviewBaselineStore, type ReviewBaseline } from './review/baseline';
import {
  compareFindings,
  MAX_FINDINGS_PER_LIST,
  summarizeDelta,
  type ReviewComparison,
} from './review/compare-findings';
import { readRepository, type SnapshotLanguage } from './review/snapshot';

export type { ReviewBaseline, ReviewTestCounts } from './review/baseline';
export type { ReviewComparison } from './review/compare-findings';

export interface SnapshotRepositoryInput {
  /** Absolute path on the sandbox worker. */
  path: string;
  language: SnapshotLanguage;
}

export interface SnapshotRepositoryResult {
  files: FileSetRef;
  fileCount: number;
  /** Candidates left out: binary, over 512 KB, unreadable or symlinks. */
  skipped: number;
  bytes: number;
  /** The commit the files are at, when the work tree under the path has no change from it. */
  revision?: string;
  summary: string;
}

/**
 * Copies the reviewed files of a local repository into the artifact store: the language's sources
 * plus its test-runner configuration, without node_modules, .git, dist, vendor, virtualenvs,
 * caches, minified or generated files, binaries and symlinks. Honours .gitignore in a git work tree.
 *
 * Idempotent: the same tree gives the same FileSetRef (content-addressed). Timeouts: seconds for
 * a normal repository; heartbeats every 200 files, so a `heartbeatTimeout` of 30 s is safe.
 * Failures: `RepositoryInvalid` (not an absolute path to a directory), `InvalidInput` (over 2,000
 * files or 20 MB: reviewing part of a tree would misreport the rest as fixed). Neither is retried.
 */
export async function snapshotRepository(input: SnapshotRepositoryInput): Promise<SnapshotRepositoryResult> {
  const snapshot = await readRepository(input.path, input.language);
  const files = await artifactStore().putFiles(snapshot.files);
  const fileCount = files.files.length;
  return {
    files,
    fileCount,
    skipped: snapshot.skipped,
    bytes: snapshot.bytes,
    ...(snapshot.revision ? { revision: snapshot.revision } : {}),
    summary: `${fileCount} ${input.language} file(s), ${snapshot.bytes} bytes${snapshot.skipped ? `, ${snapshot.skipped} skipped` : ''}`,
  };
}

function baselineStore(): ReviewBaselineStore {
  return new ReviewBaselineStore(path.join(config().dataDir, 'review-baselines'));
}

export interface LoadReviewBaselineInput {
  key: string;
}

export interface LoadReviewBaselineResult {
  /** Absent before a key's first review. */
  baseline?: ReviewBaseline;
}

/**
 * Reads the last review saved under a key (a schedule, or a repository path). Read-only, so
 * idempotent. Fast: `startToCloseTimeout` of 30 s. Failures: disk errors only, retried.
 */
export async function loadReviewBaseline(input: LoadReviewBaselineInput): Promise<LoadReviewBaselineResult> {
  const baseline = await baselineStore().read(input.key);
  return baseline ? { baseline } : {};
}

export interface SaveReviewBaselineInput {
  key: string;
  baseline: ReviewBaseline;
}

export interface SaveReviewBaselineResult {
  /** False when a newer review had already saved its baseline under the key. */
  saved: boolean;
}

/**
 * Makes a finished review the baseline of the next one. Idempotent: saving the same baseline twice
 * writes the same file, and a retry of an older review never replaces a newer one. Atomic write.
 * Fast: `startToCloseTimeout` of 30 s. Failures: disk errors only, retried.
 */
export async function saveReviewBaseline(input: SaveReviewBaselineInput): Promise<SaveReviewBaselineResult> {
  return { saved: await baselineStore().write(input.key, input.baseline) };
}

export interface CompareReviewFindingsInput {
  /** This run's findings report, as `analyzeCode` stored it. */
  current: ArtifactRef;
  /** The previous run's baseline; none on a first review. */
  previous?: ReviewBaseline;
}

/**
 * Compares this run's findings with the previous run's: new, fixed and still open, where a finding
 * is the same when tool, rule, file and message match (line numbers shift as code is edited).
 * Stores the uncapped comparison as an artifact and returns counts plus at most 50 findings per list.
 *
 * Idempotent: a pure function of two content-addressed reports. Fast: `startToCloseTimeout` of
 * 1 min. Failures: `ArtifactMissing` when a report is gone from the store (not retried).
 */
export async function compareReviewFindings(input: CompareReviewFindingsInput): Promise<ReviewComparison> {
  const store = artifactStore();
  const current = (await store.getJson<{ findings: Finding[] }>(input.current)).findings;
  const previous = input.previous
    ? (await store.getJson<{ findings: Finding[] }>(input.previous.findings)).findings
    : [];
  const firstRun = input.previous === undefined;
  const delta = compareFindings(previous, current);
  const counts = { new: delta.new.length, fixed: delta.fixed.length, stillOpen: delta.stillOpen.length };
  const report = await store.putJson({ ...delta, counts, firstRun });
  return {
    firstRun,
    counts,
    new: delta.new.slice(0, MAX_FINDINGS_PER_LIST),
    fixed: delta.fixed.slice(0, MAX_FINDINGS_PER_LIST),
    stillOpen: delta.stillOpen.slice(0, MAX_FINDINGS_PER_LIST),
    report,
    ...(input.previous && {
      previous: {
        workflowId: input.previous.workflowId,
        runId: input.previous.runId,
        reviewedAt: input.previous.reviewedAt,
      },
    }),
    summary: summarizeDelta(delta, firstRun),
  };
}
