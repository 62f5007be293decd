import { asyncLocalStorage, type Context } from '@temporalio/activity';

/**
 * The sandbox and analysis code is called by Temporal workers, but also by plain unit tests and the
 * bench. These helpers make heartbeats and cancellation work in the first case and do nothing in the
 * others, instead of throwing "not in an activity context".
 */
function currentContext(): Context | undefined {
  return asyncLocalStorage.getStore();
}

/** Heartbeats when running inside an activity; a no-op elsewhere. */
export function heartbeat(details?: unknown): void {
  currentContext()?.heartbeat(details);
}

/** The activity's cancellation signal, or `undefined` outside an activity. */
export function activityCancellationSignal(): AbortSignal | undefined {
  return currentContext()?.cancellationSignal;
}

/** Log bindings for the current activity, so sandbox logs can be tied to a workflow run. */
export function activityLogBindings(): Record<string, string> {
  const info = currentContext()?.info;
  if (!info) return {};
  return {
    workflowId: info.workflowExecution?.workflowId ?? '',
    runId: info.workflowExecution?.runId ?? '',
    activityType: info.activityType,
  };
}
