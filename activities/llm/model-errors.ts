import { ApplicationFailure } from '@temporalio/common';
import { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { FAILURES, type FailureType } from '../../common/failures';

/** The failure types the model client throws. */
export type ModelFailureType = Extract<
  FailureType,
  | 'ModelConfig'
  | 'ModelAuth'
  | 'ModelRequestInvalid'
  | 'ModelRefused'
  | 'ModelOutputInvalid'
  | 'ModelRateLimited'
  | 'ModelUnavailable'
>;

/**
 * An `ApplicationFailure` of a catalogue type; retryable or not as the catalogue says, so a type is
 * never retryable in one place and permanent in another.
 */
export function modelFailure(
  type: ModelFailureType,
  message: string,
  options: { details?: unknown[]; nextRetryDelayMs?: number; cause?: Error } = {},
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: !FAILURES[type].retryable,
    details: options.details,
    cause: options.cause,
    // Temporal uses this instead of its backoff for the next attempt: wait exactly as long as asked.
    nextRetryDelay: options.nextRetryDelayMs,
  });
}

/** Minimal view of response headers: the `Headers` of fetch, or a plain record. */
type HeaderSource = { get(name: string): string | null } | Record<string, string | undefined> | undefined;

function header(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  return (headers as Record<string, string | undefined>)[name];
}

/**
 * The wait a 429 asks for, in ms: `retry-after-ms` (OpenAI's), else `retry-after` as seconds or an
 * HTTP date. Undefined when absent, unparsable or not positive.
 */
export function retryAfterMs(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && ms.trim() !== '') {
    const value = Number(ms);
    if (Number.isFinite(value) && value > 0) return Math.ceil(value);
  }
  const after = header(headers, 'retry-after');
  if (after === undefined || after.trim() === '') return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds > 0 ? Math.ceil(seconds * 1000) : undefined;
  const date = Date.parse(after);
  if (Number.isNaN(date)) return undefined;
  return date > now ? date - now : undefined;
}

/** What the error mapping needs to know about the call, for messages a user can act on. */
export interface ModelErrorContext {
  baseURL?: string;
  model?: string;
}

/**
 * Maps anything a model call can throw to one typed failure:
 * - 429 → ModelRateLimited (retryable, `nextRetryDelay` from retry-after);
 * - 5xx, 408, 409, connection errors, timeouts, unparsable responses → ModelUnavailable (retryable);
 * - 401/403 → ModelAuth; 400/404/422 and other 4xx → ModelRequestInvalid (both non-retryable).
 * An `ApplicationFailure` passes through unchanged.
 */
export function toModelFailure(err: unknown, context: ModelErrorContext = {}): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const where = `${context.baseURL ?? 'the model endpoint'}${context.model ? ` (model ${context.model})` : ''}`;
  const cause = err instanceof Error ? err : undefined;

  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    // The package prefixes the status ("400 bad model"); the failure message names it already.
    const detail = err.message.replace(/^\d{3}\s+/, '').replace(/\.$/, '');
    const details = [{ status, code: err.code ?? undefined, param: err.param ?? undefined, requestId: err.requestID }];
    if (status === 429) {
      const delay = retryAfterMs(err.headers);
      return modelFailure(
        'ModelRateLimited',
        `${where} is rate limiting (HTTP 429)${delay !== undefined ? `; it asked to wait ${delay} ms` : ''}: ${detail}`,
        { details: [{ ...details[0], retryAfterMs: delay }], nextRetryDelayMs: delay, cause },
      );
    }
    if (status === 401 || status === 403) {
      return modelFailure(
        'ModelAuth',
        `${where} rejected the credentials (HTTP ${status}): check OPENAI_API_KEY. ${detail}`,
        { details, cause },
      );
    }
    // 408 and 409 are the two 4xx that say "try again" (request timeout, lock contention).
    if (status >= 500 || status === 408 || status === 409) {
      return modelFailure('ModelUnavailable', `${where} failed (HTTP ${status}): ${detail}`, { details, cause });
    }
    return modelFailure(
      'ModelRequestInvalid',
      `${where} rejected the request (HTTP ${status}): ${detail}. Check OPENAI_MODEL and OPENAI_BASE_URL.`,
      { details, cause },
    );
  }
  if (err instanceof APIUserAbortError) {
    return modelFailure('ModelUnavailable', `The call to ${where} was aborted: ${err.message}`, { cause });
  }
  if (err instanceof APIConnectionError) {
    // Covers APIConnectionTimeoutError: OPENAI_TIMEOUT_MS passed before the endpoint answered.
    return modelFailure('ModelUnavailable', `Could not reach ${where}: ${err.message}`, { cause });
  }
  // What is left is a response we could not read (a body or SSE chunk that is not JSON, a dropped
  // stream): transient as far as we can tell, and Temporal's retry policy bounds the attempts.
  const message = err instanceof Error ? err.message : String(err);
  return modelFailure('ModelUnavailable', `${where} sent a response that could not be read: ${message}`, { cause });
}
