import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { isFailureType } from '../../common/failures';

/**
 * Surfaces the catalogue type of the step that failed, so the API and the Web UI show it as is.
 * `step` names the activity for people reading the failure ("refactor: the model endpoint…").
 */
export function asTypedFailure(err: unknown, step?: string): ApplicationFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
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
  return ApplicationFailure.create({
    type: 'DependencyUnavailable',
    nonRetryable: true,
    message: `${prefix}${err instanceof Error ? err.message : String(err)}`,
  });
}
