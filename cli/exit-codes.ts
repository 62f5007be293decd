import { FAILURES, isFailureType } from '../common/failures';
import { ApiError, ApiUnreachableError } from './api-client';

/**
 * Exit codes of the CLI. A job's typed failure exits with its catalogue code (`common/failures.ts`,
 * 2–11); these are the codes that have no catalogue type.
 */
export const EXIT = {
  ok: 0,
  /** Any other API error (unknown job, job not finished, conflicts…) or a job that ended without success. */
  failed: 1,
  /** Bad command line, like the catalogue's InvalidInput. */
  usage: 2,
  /** The API's Temporal is down (the API answered 503 TemporalUnavailable). */
  temporalUnavailable: FAILURES.DependencyUnavailable.exitCode,
  /** Nothing answers at the API's address. */
  apiUnreachable: 12,
} as const;

/** The exit code for an error the CLI reports. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ApiUnreachableError) return EXIT.apiUnreachable;
  if (err instanceof ApiError) {
    if (isFailureType(err.code)) return FAILURES[err.code].exitCode;
    if (err.code === 'TemporalUnavailable') return EXIT.temporalUnavailable;
    if (err.status === 400) return EXIT.usage;
    return EXIT.failed;
  }
  return EXIT.failed;
}

/** The exit code for a job that finished with this outcome (a completed job need not have succeeded). */
export function exitCodeForOutcome(outcome: string | undefined): number {
  switch (outcome) {
    case 'succeeded':
    case 'unverified':
      return EXIT.ok;
    case 'budget-exhausted':
      return FAILURES.BudgetExhausted.exitCode;
    case 'rejected':
      return FAILURES.ReviewRejected.exitCode;
    default:
      return EXIT.failed;
  }
}
