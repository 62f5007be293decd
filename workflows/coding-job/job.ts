import {
  ApplicationFailure,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { FileSetRef } from '../../activities/artifacts/store';
import type { ModelCallUsage } from '../../activities/llm';
import { namedApis } from '../../common/task-names';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import {
  approveUpdate,
  EMPTY_USAGE,
  rejectSignal,
  rejectUpdate,
  requestChangesUpdate,
  statusQuery,
  type CodingJobInput,
  type CodingJobResult,
  type CodingJobStatus,
  type FindingSummary,
  type IterationRecord,
  type Language,
  type Outcome,
  type Phase,
  type RecalledMemory,
  type TokenUsage,
} from './definitions';
import { detailsFor } from './details';
import type { GitState } from './git';
import { PATCHES } from './patches';
import { activitiesFor, type LifecycleActivities } from './proxies';
import { countsAndSummary, limitsOf, overBudget, testsRequired, type JobLimits } from './policy';

/** A reviewer's decision at the approval gate. */
export interface Decision {
  kind: 'approve' | 'reject' | 'changes';
  text?: string;
}

/** One round of the loop as the refactor needs it, with its score. */
export interface Round {
  code: FileSetRef;
  /**
   * The task's examples pass, tests green, named API present, tests passed, minus blocking findings:
   * compared in that order.
   */
  score: number[];
  failures: string;
  blocking: FindingSummary[];
  verdict: 'code' | 'tests' | 'both' | null;
  iteration: number;
}

/**
 * The state of one run of a coding job, and the few things every phase does with it: enter a phase
 * (status query, search attributes and Web UI details at once), count a model call's usage, remember
 * the finished job and build the result. The phases (phases.ts) and the loop (workflow.ts) drive it.
 */
export class CodingJob {
  readonly act: LifecycleActivities = activitiesFor(workflowInfo().taskQueue);
  readonly language: Language;
  readonly project: string;
  readonly tenant: string;
  readonly limits: JobLimits;
  readonly singleShot: boolean;
  /** Taken once at the start, so a job runs the whole loop one way (PATCHES.realModelLoop). */
  readonly realLoop: boolean;
  /** Only new code is held to the names its task gives: a refactor may rename, a debug keeps the user's. */
  readonly names: string[];
  readonly testsRequired: boolean;
  readonly startedAt: string;
  readonly usage: TokenUsage;
  readonly iterations: IterationRecord[];
  status: CodingJobStatus;
  /** The files as they stand: the round under test, or the refactor's last answer. */
  code!: FileSetRef;
  userHasTests = false;
  memoryContext?: string;
  memories?: RecalledMemory[];
  lastFix?: { from: FileSetRef; explanation: string };
  best?: Round;
  failedType?: string;
  decision?: Decision;
  /** The job's repository, branch and commits, for a job on a repository (git.ts). */
  git?: GitState;
  /** GENERATE's drafts so far, and the files they were written over (the user's, if any). */
  drafts?: { written: number; given?: FileSetRef };
  /** Whether the job has had its second opinion, a cross-check or a probe check: one a job. */
  secondOpinion = false;

  constructor(readonly input: CodingJobInput) {
    const resume = input.resume;
    this.language = input.language ?? 'python';
    this.project = input.project ?? 'default';
    this.tenant = input.tenant ?? 'local';
    this.limits = limitsOf(input);
    this.singleShot = input.options?.singleShot === true;
    this.realLoop = patched(PATCHES.realModelLoop);
    this.names = this.realLoop && input.task === 'generate' ? namedApis(input.description) : [];
    this.testsRequired = testsRequired(input.task, this.realLoop);
    this.memories = resume?.memories;
    this.startedAt = resume?.startedAt ?? new Date().toISOString();
    this.usage = { ...EMPTY_USAGE, ...resume?.usage };
    this.iterations = [...(resume?.iterations ?? [])];
    const lastTests = [...this.iterations].reverse().find((i) => i.tests)?.tests;
    this.status = {
      task: input.task,
      phase: 'QUEUED',
      outcome: 'running',
      iteration: resume?.iteration ?? 0,
      startedAt: this.startedAt,
      updatedAt: new Date().toISOString(),
      message: resume ? `Continued in run ${resume.runs + 1}` : 'Queued',
      usage: this.usage,
      awaitingApproval: false,
      lastTests: lastTests && countsAndSummary(lastTests),
      run: (resume?.runs ?? 0) + 1,
    };
  }

  /** The status query, and the approval gate's update and signal. */
  setHandlers(): void {
    setHandler(statusQuery, () => this.status, {
      description: 'Phase, iteration, the last test summary, usage, and whether the job waits for approval.',
    });
    setHandler(
      approveUpdate,
      (approval) => {
        this.decision = { kind: 'approve', text: approval.comment };
        return this.status;
      },
      {
        validator: (_approval) => this.assertAwaitingApproval(),
        description: 'Approve the job at its approval gate: it finishes as succeeded.',
      },
    );
    setHandler(
      requestChangesUpdate,
      (changes) => {
        this.decision = { kind: 'changes', text: changes.feedback };
        return this.status;
      },
      {
        description:
          'Request changes at the approval gate: { feedback } drives another refactor round, then the gate again.',
        validator: (changes) => {
          this.assertAwaitingApproval();
          // Changes need a refactor round; with none left, saying yes would end the job as out of budget.
          if (this.status.iteration >= this.limits.maxIterations || this.overBudget()) {
            throw ApplicationFailure.create({
              type: 'BudgetExhausted',
              message:
                `No refactor round is left for changes (iteration ${this.status.iteration} of at most ` +
                `${this.limits.maxIterations}, ${this.usage.totalTokens} tokens, $${this.usage.costUsd.toFixed(4)}): approve or reject the job.`,
            });
          }
          if (!changes || typeof changes.feedback !== 'string' || changes.feedback.trim() === '') {
            throw ApplicationFailure.create({ type: 'InvalidInput', message: 'feedback must be a non-empty string' });
          }
        },
      },
    );
    setHandler(
      rejectUpdate,
      (rejection) => {
        this.decision = { kind: 'reject', text: rejection.comment };
        return this.status;
      },
      {
        validator: (_rejection) => this.assertAwaitingApproval(),
        description: 'Reject the job at its approval gate: it finishes as rejected.',
      },
    );
    setHandler(
      rejectSignal,
      (reason) => {
        if (this.status.awaitingApproval) this.decision = { kind: 'reject', text: reason?.comment };
      },
      { description: 'Reject the job at its approval gate: it finishes as rejected.' },
    );
  }

  private assertAwaitingApproval(): void {
    if (!this.status.awaitingApproval) {
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        message: `The job is not waiting for approval (phase ${this.status.phase}).`,
      });
    }
  }

  /** The sandbox as this job calls it: jobs from before PATCHES.sandboxCancelWaits do not wait on a cancel. */
  sandbox(): LifecycleActivities['sandbox'] {
    return patched(PATCHES.sandboxCancelWaits) ? this.act.sandbox : this.act.sandboxTryCancel;
  }

  /** Enters a phase: the status query, the search attributes and the Web UI details say it at once. */
  enter(phase: Phase, message: string, outcome: Outcome = this.status.outcome): void {
    this.status = {
      ...this.status,
      phase,
      message,
      outcome,
      updatedAt: new Date().toISOString(),
      usage: { ...this.usage },
    };
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.phase, value: phase },
      { key: SEARCH_ATTRIBUTES.iteration, value: this.status.iteration },
      { key: SEARCH_ATTRIBUTES.outcome, value: outcome },
    ]);
    setCurrentDetails(detailsFor(this.status, this.limits.maxIterations, this.iterations, this.failedType));
    log.info('phase', { phase, iteration: this.status.iteration, message });
  }

  /** Adds a model call to the job's usage, and returns the call's own usage for its step. */
  count(u: ModelCallUsage): TokenUsage {
    this.usage.promptTokens += u.promptTokens;
    this.usage.completionTokens += u.completionTokens;
    this.usage.totalTokens += u.totalTokens;
    if (u.pricing) this.usage.pricing = u.pricing;
    // A cached answer was paid for by an earlier attempt; it is not billed again.
    if (u.cached) this.usage.cachedCalls += 1;
    else this.usage.costUsd += u.costUsd;
    return { ...EMPTY_USAGE, ...u, cachedCalls: u.cached ? 1 : 0 };
  }

  overBudget(): boolean {
    return overBudget(this.usage, this.limits);
  }

  /** The best round's files with the real-model loop, else the last round's. */
  bestCode(): FileSetRef {
    return this.realLoop && this.best ? this.best.code : this.code;
  }

  /** Ends the job: the last phase, and the result with every step's record. */
  finish(outcome: Outcome, message: string, files?: FileSetRef): CodingJobResult {
    this.enter(outcome === 'succeeded' || outcome === 'unverified' ? 'DONE' : 'FAILED', message, outcome);
    const last = this.iterations[this.iterations.length - 1];
    return {
      outcome,
      task: this.input.task,
      language: this.language,
      files: files ?? last?.files,
      explanation: this.iterations
        .map((i) => i.explanation)
        .filter(Boolean)
        .join('\n\n'),
      iterations: this.iterations,
      usage: { ...this.usage },
      message,
      ...(this.memories ? { memories: this.memories } : {}),
      ...(this.names.length ? { namedApi: this.names } : {}),
    };
  }

  /** Stores the finished job in memory, noting whether it survived tests and review. Never fails the job. */
  async remember(survived: boolean): Promise<void> {
    const input = this.input;
    await this.act.remember.rememberJob
      .executeWithOptions({ summary: 'remember the finished job' }, [
        {
          jobId: workflowInfo().workflowId,
          tenant: this.tenant,
          project: this.project,
          language: this.language,
          task: input.task,
          description: input.description,
          files: this.code,
          survived,
          fixedFrom: this.lastFix?.from,
          fixExplanation: this.lastFix?.explanation,
          reviewSummary: this.iterations[this.iterations.length - 1]?.findings?.summary,
        },
      ])
      // Memory is a bonus; a store outage must not fail finished work.
      .catch((err: unknown) => log.warn('could not store memory', { error: String(err) }));
  }
}
