import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ArtifactRef, FileSetRef } from '../../activities/artifacts/store';
import type { CodacyRepository } from '../../activities/codacy';
import type { RepositorySpec } from '../../common/repository-spec';

export type { RepositorySpec } from '../../common/repository-spec';

/**
 * The contract of a coding job: input, status, result and messages. The API imports this file, so
 * it holds types and message definitions only. Fields added later are optional with defaults, so a
 * running workflow never breaks.
 */

/** The lifecycle's workflow type, for clients that start or list jobs by name. */
export const CODING_LIFECYCLE_WORKFLOW = 'codingLifecycleWorkflow';

export const TASK_KINDS = ['generate', 'test', 'review', 'refactor', 'debug', 'document', 'deploy'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export const LANGUAGES = ['python', 'typescript', 'javascript'] as const;
export type Language = (typeof LANGUAGES)[number];

export const PHASES = [
  'QUEUED',
  'GENERATE',
  'WRITE_TESTS',
  'RUN_TESTS',
  'REVIEW',
  'REFACTOR',
  'AWAITING_APPROVAL',
  'DONE',
  'FAILED',
  'CANCELLED',
] as const;
export type Phase = (typeof PHASES)[number];

/**
 * How a job ended. `unverified`: a single-shot job (`options.singleShot`) that generated code and, as
 * asked, neither tested nor reviewed it; never reported as green.
 */
export const OUTCOMES = [
  'running',
  'succeeded',
  'failed',
  'budget-exhausted',
  'rejected',
  'cancelled',
  'unverified',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface JobOptions {
  /** Refactor rounds before the job stops (default from JOB_MAX_ITERATIONS). */
  maxIterations?: number;
  /** Token budget across every model call of the job. */
  maxTokens?: number;
  /** Cost budget in USD. */
  maxCostUsd?: number;
  /** Ask a human to approve before the job finishes. */
  requireApproval?: boolean;
  /** How long the approval gate waits, e.g. '24h'. */
  approvalTimeout?: string;
  /** What happens when the approval gate times out. */
  approvalDefault?: 'approve' | 'reject';
  /** Refactor rounds per workflow run: after this many the job continues as new, so its history stays small. */
  continueAsNewAfter?: number;
  /**
   * Drafts GENERATE may write for a new Python function whose task states examples: while a draft
   * fails one, the model writes a fresh one, and the job goes on with the draft that passes the most
   * (default from JOB_DRAFTS; 1 turns it off).
   */
  drafts?: number;
  /**
   * Generate only: no memory recall, no tests, no review, no refactor. The job ends `unverified`. The
   * baseline arm of the outcome benchmark (`npm run eval`), and a quick draft for a user who asks for one.
   */
  singleShot?: boolean;
  /** With a `repository`: push the job's branch `sophia/<job-id>` to the remote when the job ends. */
  push?: boolean;
  /** With a GitHub `repository`: push, then open a pull request whose body is the job's summary. */
  pullRequest?: boolean;
  /** With a GitHub `repository`: post the job's summary as a comment on this pull request or issue (a webhook's `@sophia review`). */
  commentOn?: number;
}

/** What the API hands to a new job. Files are inline here once; the first step stores them as artifacts. */
export interface CodingJobInput {
  task: TaskKind;
  description: string;
  language?: Language;
  /** The user's files, path → content. */
  files?: Record<string, string>;
  /**
   * A git repository to work on instead of `files`: it is checked out at one commit (recorded in
   * history), each accepted round is a commit on `sophia/<job-id>`, and the result has the patch.
   */
  repository?: RepositorySpec;
  context?: string;
  requirements?: string[];
  /** Groups jobs in memory and search (`SophiaProject`). */
  project?: string;
  /** The tenant the job belongs to (`SophiaTenant`), fixed by the API from the caller's key. Default `local`. */
  tenant?: string;
  /** An error message or stack trace, for DEBUG. */
  error?: string;
  options?: JobOptions;
  /**
   * A REVIEW job of code committed in a Codacy repository: the repository and the commit the files
   * are at. Codacy's findings join the review only when Codacy's last analysis is of that commit.
   */
  codacy?: { repository: CodacyRepository; revision: string };
  /** Config defaults resolved by the API, so the workflow never reads the environment. */
  defaults?: Omit<JobOptions, 'requireApproval'>;
  /** Set by the job itself when it continues as new: where the loop picks up. Clients never set it. */
  resume?: LifecycleCheckpoint;
}

/**
 * Everything the refactor loop needs to go on in a new workflow run: references to the code and the
 * reports, never the files themselves.
 */
export interface LifecycleCheckpoint {
  /** The iteration whose tests run first in the new run. */
  iteration: number;
  code: FileSetRef;
  iterations: IterationRecord[];
  usage: TokenUsage;
  startedAt: string;
  userHasTests: boolean;
  memoryContext?: string;
  memories?: RecalledMemory[];
  lastFix?: { from: FileSetRef; explanation: string };
  /** Runs before this one. */
  runs: number;
  /** A job on a repository: its base commit, branch and commits so far. */
  git?: {
    base: string;
    branch: string;
    head: string;
    commits: string[];
    baseFiles: FileSetRef;
  };
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  costUsd: number;
  /** Model calls answered from the response cache (not billed again). */
  cachedCalls: number;
  /** Where the cost's prices came from; `local` (a model on this machine) and `unpriced` cost 0. */
  pricing?: 'configured' | 'list' | 'local' | 'unpriced';
}

export interface TestSummary {
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  summary: string;
}

export interface IterationRecord {
  iteration: number;
  /** What produced this iteration's code: the first generation, or a refactor. */
  step: 'generate' | 'refactor' | 'input' | 'write-tests';
  files: FileSetRef;
  explanation: string;
  tests?: TestSummary & { stdout?: ArtifactRef; stderr?: ArtifactRef };
  findings?: { blocking: number; total: number; summary: string; report?: ArtifactRef; items?: FindingSummary[] };
  /** Reviewer feedback from the approval gate that drove this round. */
  feedback?: string;
  usage: TokenUsage;
}

/** A finding as the result shows it: from static analysis or the model's review. */
export interface FindingSummary {
  source: string;
  severity: string;
  blocking: boolean;
  file: string;
  line: number;
  message: string;
}

export interface CodingJobStatus {
  task: TaskKind;
  phase: Phase;
  outcome: Outcome;
  iteration: number;
  startedAt: string;
  updatedAt: string;
  /** One sentence on where the job stands. */
  message: string;
  lastTests?: TestSummary;
  usage: TokenUsage;
  awaitingApproval: boolean;
  /** Workflow runs so far: more than 1 once the job has continued as new. */
  run?: number;
}

export interface CodingJobResult {
  outcome: Outcome;
  task: TaskKind;
  language: Language;
  /** The final code. */
  files?: FileSetRef;
  explanation: string;
  iterations: IterationRecord[];
  usage: TokenUsage;
  message: string;
  /** The memories recalled into the prompts (above the relevance threshold), so a user can see what the model was shown. */
  memories?: RecalledMemory[];
  /** The functions and classes the task names, which the final files define (checked every round). */
  namedApi?: string[];
  /** For a job on a repository: its branch, commits, patch, push and pull request. */
  git?: JobGitResult;
}

/** What a job on a repository left in git. */
export interface JobGitResult {
  url: string;
  /** The commit the job checked out. */
  base: string;
  /** `sophia/<job-id>`. */
  branch: string;
  /** The branch's last commit (the base when no round changed anything). */
  head: string;
  /** One commit per accepted round. */
  commits: string[];
  /** `git diff --binary base head`, applicable with `git apply` at `base`. */
  patch?: ArtifactRef;
  patchSummary?: string;
  pushed?: boolean;
  pullRequest?: { number: number; url: string };
}

/** One memory a job was shown, as reference. */
export interface RecalledMemory {
  id: string;
  collection: string;
  score: number;
  /** The file (or `fix`, `review`) it came from. */
  path?: string;
  /** The job that stored it, when known. */
  jobId?: string;
}

export interface ApproveInput {
  reviewer?: string;
  comment?: string;
}

export interface RequestChangesInput {
  reviewer?: string;
  feedback: string;
}

/** Phase, iteration and last test summary. */
export const statusQuery = defineQuery<CodingJobStatus>('status');
/** Approve at the approval gate. Rejected when the job is not waiting for approval. */
export const approveUpdate = defineUpdate<CodingJobStatus, [ApproveInput]>('approve');
/** Ask for another refactor round with this feedback. Rejected when the job is not waiting for approval. */
export const requestChangesUpdate = defineUpdate<CodingJobStatus, [RequestChangesInput]>('requestChanges');
/** Reject at the approval gate. */
export const rejectSignal = defineSignal<[ApproveInput]>('reject');
/** Reject at the approval gate, answered: the API's reject route uses it (the signal stays for older clients). */
export const rejectUpdate = defineUpdate<CodingJobStatus, [ApproveInput]>('rejectJob');

export const EMPTY_USAGE: TokenUsage = {
  promptTokens: 0,
  completionTokens: 0,
  totalTokens: 0,
  costUsd: 0,
  cachedCalls: 0,
};

/**
 * Business workflow id: a retried start with the same request id is the same job. The tenant is part
 * of it (tenants have no `.`), so two tenants' request ids never meet.
 */
export function jobWorkflowId(requestId: string, tenant = 'local'): string {
  return `job-${tenant}.${requestId}`;
}
