import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import type { Config } from '../common/config';
import { HttpError } from './errors';
import type { TemporalGateway } from './temporal-gateway';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type EventId = NonNullable<HistoryEvent['eventId']>;

/** Where a retry starts again: the workflow task that scheduled the step that failed. */
export interface ResetPoint {
  /** The WorkflowTaskCompleted event the new run resets to. */
  workflowTaskFinishEventId: EventId;
  /** The activity that failed or was cut off, run again by the retry; undefined when the workflow code itself failed. */
  failedStep?: string;
  /** Steps that completed before it, kept with their results (and their artefacts). */
  keptSteps: string[];
}

/** The closed states a retry can pick up from. A completed job is done; a cancelled one was meant to stop. */
export const RETRYABLE_STATUSES: ReadonlySet<string> = new Set(['FAILED', 'TIMED_OUT', 'TERMINATED']);

const id = (e: EventId | null | undefined): string => String(e ?? '');

/**
 * Finds the last good step of a closed run: the workflow task that scheduled the activity that
 * failed, timed out or was still running when the run ended. Resetting to it replays every step
 * before it from history, so no completed work (and no completed model call) is done again, and runs
 * that activity afresh. Without a failed activity (the workflow code itself failed) it is the last
 * workflow task that completed.
 */
export function findResetPoint(events: HistoryEvent[]): ResetPoint | undefined {
  const scheduled = new Map<string, HistoryEvent>();
  const closed = new Set<string>();
  let failedScheduledId: string | undefined;
  let lastTaskCompleted: EventId | undefined;
  for (const event of events) {
    if (event.activityTaskScheduledEventAttributes) scheduled.set(id(event.eventId), event);
    if (event.workflowTaskCompletedEventAttributes && event.eventId) lastTaskCompleted = event.eventId;
    const done = event.activityTaskCompletedEventAttributes ?? event.activityTaskCanceledEventAttributes;
    if (done) closed.add(id(done.scheduledEventId));
    const failed = event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    if (failed) {
      closed.add(id(failed.scheduledEventId));
      failedScheduledId = id(failed.scheduledEventId);
    }
  }
  // An activity still open when the run was terminated or timed out is the step to run again.
  const open = [...scheduled.keys()].filter((k) => !closed.has(k)).pop();
  const culprit = scheduled.get(open ?? failedScheduledId ?? '');
  const attributes = culprit?.activityTaskScheduledEventAttributes;
  const finishId = attributes?.workflowTaskCompletedEventId ?? lastTaskCompleted;
  if (!finishId) return undefined;
  const keptSteps = [...scheduled.values()]
    .filter((e) => Number(e.eventId) < Number(finishId) && closed.has(id(e.eventId)))
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? 'activity');
  return { workflowTaskFinishEventId: finishId, failedStep: attributes?.activityType?.name ?? undefined, keptSteps };
}

/**
 * Re-runs a failed job from its last good step, as Temporal's reset: a new run of the same workflow
 * id that keeps the history (and so the artefacts) of every step that finished, and carries on from
 * the step that failed with the code deployed now. The same `requestId` twice is one retry.
 */
export async function retryJob(
  gateway: TemporalGateway,
  cfg: Config,
  workflowId: string,
  options: { requestId?: string; reason?: string } = {},
) {
  const handle = await gateway.call(async (client) => client.workflow.getHandle(workflowId));
  const description = await gateway.call(() => handle.describe());
  const state = description.status.name;
  if (!RETRYABLE_STATUSES.has(state)) {
    throw new HttpError(
      409,
      'JobNotRetryable',
      `The job is ${state.toLowerCase()}; only a failed, timed-out or terminated job can be retried.`,
      {
        workflowId,
        status: state,
      },
    );
  }
  const history = await gateway.call(() => handle.fetchHistory(), 30_000);
  const point = findResetPoint(history.events ?? []);
  if (!point) {
    throw new HttpError(
      409,
      'JobNotRetryable',
      'The job failed before its first step finished; start it again instead.',
      {
        workflowId,
      },
    );
  }
  const { runId } = await gateway.call((client) =>
    client.workflowService.resetWorkflowExecution({
      namespace: cfg.TEMPORAL_NAMESPACE,
      workflowExecution: { workflowId, runId: description.runId },
      reason: options.reason ?? `retry via the API${point.failedStep ? ` from ${point.failedStep}` : ''}`,
      workflowTaskFinishEventId: point.workflowTaskFinishEventId,
      requestId: options.requestId ?? randomUUID(),
    }),
  );
  return {
    workflowId,
    runId,
    previousRunId: description.runId,
    resumedFrom: {
      eventId: Number(point.workflowTaskFinishEventId),
      step: point.failedStep ?? null,
      keptSteps: point.keptSteps,
    },
  };
}
