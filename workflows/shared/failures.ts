import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, TemporalFailure } from '@temporalio/workflow';
import { isFailureType } from '../../common/failures';

/** The catalogue type of a step's failure (an activity's or a child workflow's), if it has one. */
export function stepFailureType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure || err instanceof ChildWorkflowFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && isFailureType(cause.type) ? cause.type : undefined;
}

/**
 * The failure that ends a job when one of its steps failed: the catalogue type of the step's
 * failure, so the API and the Web UI show it as is. `step` names the step for people reading the
 * failure ("Refactoring failed: the model endpoint…").
 *
 * Only a step's failure ends a job. Any other error is a bug in the workflow code (a TypeError, a
 * missing field): it is rethrown as it is, which fails the workflow task instead of the job. Temporal
 * retries that task, so the job waits, history intact, for a deploy that fixes the bug, and then
 * goes on from where it stopped.
 */
export function asTypedFailure(err: unknown, step?: string): ApplicationFailure {
  const cause = err instanceof ActivityFailure || err instanceof ChildWorkflowFailure ? err.cause : err;
  const prefix = step ? `${step}: ` : '';
  if (cause instanceof ApplicationFailure && isFailureType(cause.type)) {
    return ApplicationFailure.create({
      type: cause.type,
      message: `${prefix}${cause.message}`,
      nonRetryable: true,
      details: cause.details ? [...cause.details] : undefined,
      cause: err instanceof Error ? err : undefined,
    });
  }
  if (cause instanceof ApplicationFailure) return cause;
  if (err instanceof TemporalFailure) {
    // A step that timed out or was terminated: its worker or a dependency did not answer in time.
    return ApplicationFailure.create({
      type: 'DependencyUnavailable',
      nonRetryable: true,
      message: `${prefix}${err.message}${cause instanceof Error && cause !== err ? ` (${cause.message})` : ''}`,
    });
  }
  throw err;
}
