import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  ActivityFailure,
} from '@temporalio/workflow';
import type * as fileActivities from '../../activities/files';
import type * as llmActivities from '../../activities/llm';
import { isFailureType } from '../../common/failures';
import { RETRY_POLICIES } from '../../temporal/retry-policies';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import { taskQueuesForWorkflowQueue } from '../../temporal/task-queues';
import {
  EMPTY_USAGE,
  statusQuery,
  type CodingJobInput,
  type CodingJobResult,
  type CodingJobStatus,
  type IterationRecord,
  type Language,
  type Outcome,
  type Phase,
  type TokenUsage,
} from './definitions';

function activitiesFor(workflowTaskQueue: string) {
  const queues = taskQueuesForWorkflowQueue(workflowTaskQueue);
  return {
    files: proxyActivities<typeof fileActivities>({
      taskQueue: queues.memory,
      startToCloseTimeout: '30s',
      retry: RETRY_POLICIES.local,
    }),
    llm: proxyActivities<typeof llmActivities>({
      taskQueue: queues.llm,
      // Model calls stream for minutes on big tasks; the heartbeat catches a dead worker much sooner.
      startToCloseTimeout: '10m',
      heartbeatTimeout: '1m',
      retry: RETRY_POLICIES.llm,
    }),
  };
}

/**
 * A coding job: generate → (test → review → refactor)* → done, as durable steps.
 *
 * Deterministic; every step is an activity on its pool's task queue. The `status` query answers
 * phase, iteration and the last test summary, and each phase change updates the search attributes.
 * Fails with the catalogue type of the step that failed (e.g. ModelConfig when no model is set up).
 */
export async function codingLifecycleWorkflow(input: CodingJobInput): Promise<CodingJobResult> {
  const { files, llm } = activitiesFor(workflowInfo().taskQueue);
  const language: Language = input.language ?? 'python';
  const started = new Date().toISOString();
  const usage: TokenUsage = { ...EMPTY_USAGE };
  const iterations: IterationRecord[] = [];
  let status: CodingJobStatus = {
    task: input.task,
    phase: 'QUEUED',
    outcome: 'running',
    iteration: 0,
    startedAt: started,
    updatedAt: started,
    message: 'Queued',
    usage,
    awaitingApproval: false,
  };
  setHandler(statusQuery, () => status);

  const enter = (phase: Phase, message: string, outcome: Outcome = status.outcome) => {
    status = { ...status, phase, message, outcome, updatedAt: new Date().toISOString(), usage: { ...usage } };
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.phase, value: phase },
      { key: SEARCH_ATTRIBUTES.iteration, value: status.iteration },
      { key: SEARCH_ATTRIBUTES.outcome, value: outcome },
    ]);
    log.info('phase', { phase, iteration: status.iteration, message });
  };
  const addUsage = (u: llmActivities.ModelCallUsage) => {
    usage.promptTokens += u.promptTokens;
    usage.completionTokens += u.completionTokens;
    usage.totalTokens += u.totalTokens;
    // A cached answer was paid for by an earlier attempt; it is not billed again.
    if (u.cached) usage.cachedCalls += 1;
    else usage.costUsd += u.costUsd;
  };

  try {
    const userFiles =
      input.files && Object.keys(input.files).length > 0
        ? (await files.storeFiles.executeWithOptions({ summary: 'store the job input files' }, [{ files: input.files }]))
            .files
        : undefined;

    enter('GENERATE', `Generating ${language} code`);
    const generated = await llm.generateCode.executeWithOptions({ summary: `generate: ${oneLine(input.description)}` }, [
      {
        task: input.task,
        description: input.description,
        language,
        files: userFiles,
        context: input.context,
        requirements: input.requirements,
      },
    ]);
    addUsage(generated.usage);
    iterations.push({
      iteration: 0,
      step: 'generate',
      files: generated.files,
      explanation: generated.explanation,
      usage: { ...EMPTY_USAGE, ...generated.usage, cachedCalls: generated.usage.cached ? 1 : 0 },
    });

    const message = `Generated ${generated.written.length} file(s): ${generated.written.join(', ')}`;
    enter('DONE', message, 'succeeded');
    return {
      outcome: 'succeeded',
      task: input.task,
      language,
      files: generated.files,
      explanation: generated.explanation,
      iterations,
      usage,
      message,
    };
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => enter('CANCELLED', 'Cancelled by request', 'cancelled'));
      throw err;
    }
    const failure = asTypedFailure(err);
    enter('FAILED', failure.message, 'failed');
    throw failure;
  }
}

/** Surfaces the catalogue type of the step that failed, so the API and the Web UI show it as is. */
function asTypedFailure(err: unknown): ApplicationFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && isFailureType(cause.type)) {
    return ApplicationFailure.create({
      type: cause.type,
      message: cause.message,
      nonRetryable: true,
      details: cause.details ? [...cause.details] : undefined,
      cause: err instanceof Error ? err : undefined,
    });
  }
  if (cause instanceof ApplicationFailure) return cause;
  return ApplicationFailure.create({
    type: 'DependencyUnavailable',
    nonRetryable: true,
    message: err instanceof Error ? err.message : String(err),
  });
}

function oneLine(text: string, max = 80): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
