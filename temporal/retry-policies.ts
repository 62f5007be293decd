import type { RetryPolicy } from '@temporalio/common';
import { NON_RETRYABLE_FAILURE_TYPES } from '../common/failures';

/**
 * Shared retry presets. Pure data: workflow code imports them. Every preset names the permanent
 * failure types from the catalogue so they fail fast whatever the activity forgot to mark.
 */
export const RETRY_POLICIES = {
  /** Model calls: 429 and 5xx are common and short-lived; back off up to a minute. */
  llm: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '60s',
    maximumAttempts: 8,
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
  /** Sandbox runs are deterministic given their input; retry only infrastructure hiccups, a few times. */
  sandbox: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '20s',
    maximumAttempts: 3,
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
  /** Local I/O (artifacts, memory): fast, cheap to retry. */
  local: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
  /** Remote services (Qdrant, Codacy): may be down for minutes. */
  remote: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '2m',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
} as const satisfies Record<string, RetryPolicy>;
