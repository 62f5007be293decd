import type { ArtifactRef } from '../../activities/artifacts/store';
import type { CodacyRepository } from '../../activities/codacy';
import type { ReviewTestCounts } from '../../activities/review/baseline';
import type { ReviewComparison } from '../../activities/review/compare-findings';

export type { CodacyRepository } from '../../activities/codacy';
export type { ReviewBaseline, ReviewTestCounts } from '../../activities/review/baseline';
export type { ReviewComparison } from '../../activities/review/compare-findings';
import type { RepositorySpec } from '../../common/repository-spec';

/**
 * The contract of a scheduled review: input, result and the names the API and the Web UI share.
 * The API imports this file, so it holds types and pure helpers only. Fields added later are
 * optional with defaults, so a running review never breaks.
 */

/** The workflow type a schedule's action starts; the API lists only schedules that start it. */
export const SCHEDULED_REVIEW_WORKFLOW_TYPE = 'scheduledReviewWorkflow';

/** `SophiaTaskKind` of every scheduled review. */
export const REVIEW_TASK_KIND = 'review';

export const REVIEW_LANGUAGES = ['python', 'typescript', 'javascript'] as const;
export type ReviewLanguage = (typeof REVIEW_LANGUAGES)[number];

/** `SophiaPhase` values of a review, in order. */
export const REVIEW_PHASES = ['SNAPSHOT', 'RUN_TESTS', 'REVIEW', 'COMPARE', 'DONE', 'FAILED', 'CANCELLED'] as const;
export type ReviewPhase = (typeof REVIEW_PHASES)[number];

/** `SophiaOutcome` values of a review (the coding job's vocabulary). */
export type ReviewOutcome = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';

export interface ScheduledReviewInput {
  /** Absolute path of the repository on the sandbox worker's disk; with `repository`, its URL (for display). */
  repositoryPath: string;
  /** A git repository: each run fetches `ref`, skips an unmoved head, and reviews the new one. */
  repository?: RepositorySpec;
  /** Post the review through the forge: a comment on `issue`, or a new issue without one. */
  post?: { issue?: number };
  language: ReviewLanguage;
  /** Groups reviews in search (`SophiaProject`); `default` when absent. */
  project?: string;
  /** Also run the repository's tests in the sandbox (pytest; jest or node's runner). */
  runTests?: boolean;
  /** The schedule that starts this review: its runs share one baseline. */
  scheduleId?: string;
  /** The tenant the schedule belongs to (`SophiaTenant`). Default `local`. */
  tenant?: string;
  /**
   * The Codacy repository of this code: its findings join the review when Codacy's last analysis is
   * of the commit the reviewed tree is at (a clean git work tree), and never otherwise.
   */
  codacy?: CodacyRepository;
}

export interface ScheduledReviewResult {
  repositoryPath: string;
  language: ReviewLanguage;
  project: string;
  /** Which baseline this review compared with and then replaced (see `reviewBaselineKey`). */
  baselineKey: string;
  reviewedAt: string;
  /** Files the review looked at. */
  fileCount: number;
  findings: { total: number; tools: string[]; report: ArtifactRef; summary: string };
  comparison: ReviewComparison;
  tests?: ReviewTestCounts & { summary: string; previous?: ReviewTestCounts };
  /** Whether Codacy's findings are in, and why not, when the schedule names a Codacy repository. */
  codacy?: { analysed: boolean; summary: string };
  /** One line for humans and the Web UI. */
  summary: string;
  /** With a repository: the commit reviewed, and the one the previous review saw. */
  commit?: string;
  previousCommit?: string;
  /** True when the head had not moved since the previous review: nothing was reviewed again. */
  skipped?: boolean;
  /** Where the review was posted (`post`). */
  posted?: { url: string; created: boolean };
}

/**
 * The key a review's baseline is kept under: the schedule's id when a schedule started it (so each
 * schedule compares with its own last run), else the repository path and language.
 */
export function reviewBaselineKey(
  input: Pick<ScheduledReviewInput, 'scheduleId' | 'repositoryPath' | 'language'>,
): string {
  return input.scheduleId ? `schedule:${input.scheduleId}` : `repository:${input.language}:${input.repositoryPath}`;
}

/** The workflow id prefix of a schedule's runs; Temporal appends the scheduled time to it. */
export function scheduledReviewWorkflowId(scheduleId: string): string {
  return `review-${scheduleId}`;
}
