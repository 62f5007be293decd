import { isGrpcServiceError, ServiceError, type WorkflowFailedError } from '@temporalio/client';
import {
  ApplicationFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
} from '@temporalio/common';
import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { FAILURES, isFailureType, type FailureType } from '../common/failures';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { configuredSecrets, redactDetails, redactText } from './redact';

/** An error the API answers as is: status, a stable code, a message and details. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export class TemporalUnavailableError extends HttpError {
  constructor(cause: string) {
    super(
      503,
      'TemporalUnavailable',
      `Temporal is unreachable: ${cause}. Check TEMPORAL_ADDRESS and that the server runs.`,
    );
  }
}

const GRPC_UNAVAILABLE = [4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */];

/** The HTTP error of a catalogue failure type: the type's status and hint, as every route answers it. */
export function catalogueHttpError(
  type: FailureType,
  message: string,
  details: Record<string, unknown> = {},
): HttpError {
  return new HttpError(FAILURES[type].httpStatus, type, message, { ...details, hint: FAILURES[type].hint });
}

/**
 * Maps a failed workflow (a job, a review, a memory run) to an HTTP error: by the catalogue type of
 * the first ApplicationFailure in its failure chain; cancelled, terminated and timed-out runs by what
 * happened to them. The one failure-to-HTTP mapping of the API.
 */
export function jobFailureToHttp(err: WorkflowFailedError, workflowId?: string): HttpError {
  const cause = err.cause;
  let failure: unknown = cause;
  while (failure instanceof Error && !(failure instanceof ApplicationFailure)) failure = failure.cause;
  const ids = workflowId ? { workflowId } : {};
  if (failure instanceof ApplicationFailure && isFailureType(failure.type)) {
    return catalogueHttpError(failure.type, failure.message, { ...ids, retryable: false });
  }
  if (cause instanceof CancelledFailure)
    return new HttpError(409, 'JobCancelled', 'The job was cancelled.', { workflowId });
  if (cause instanceof TerminatedFailure)
    return new HttpError(409, 'JobTerminated', 'The job was terminated.', { workflowId });
  if (cause instanceof TimeoutFailure) return new HttpError(504, 'JobTimedOut', 'The job timed out.', { workflowId });
  return new HttpError(500, 'JobFailed', cause?.message ?? err.message, ids);
}

/**
 * Turns anything thrown in a route into one JSON error shape; never leaks a stack, a configured
 * secret, a credentialed URL or a host path (those stay in the log), and caps the details.
 */
export function errorMiddleware(log: Logger, cfg?: Partial<Config>): ErrorRequestHandler {
  const secrets = cfg ? configuredSecrets(cfg) : [];
  return (err: unknown, req, res, _next) => {
    const http = toHttpError(err);
    if (http.status >= 500) log.error({ err: redactText(String(err), secrets), path: req.path }, http.message);
    else log.debug({ code: http.code, path: req.path.slice(0, 200) }, http.message);
    if (res.headersSent) {
      res.end();
      return;
    }
    const retryAfter = (http.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (typeof retryAfter === 'number') res.set('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
    res.status(http.status).json({
      error: {
        code: http.code,
        message: redactText(http.message.slice(0, 2_000), secrets),
        details: redactDetails(http.details, secrets),
      },
    });
  };
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ZodError) {
    return new HttpError(400, 'InvalidInput', 'The request is invalid.', {
      fields: err.issues.slice(0, 20).map((i) => ({
        path: i.path.map(String).join('.').slice(0, 200) || '(body)',
        // A refused map key (a file name…) says why, not zod's bare "Invalid key in record".
        message: (i.code === 'invalid_key' && i.issues.length > 0
          ? i.issues.map((inner) => inner.message).join('; ')
          : i.message
        ).slice(0, 300),
      })),
    });
  }
  const bodyError = err as { type?: string; status?: number; limit?: number };
  if (bodyError?.type === 'entity.parse.failed') {
    return new HttpError(400, 'MalformedJson', 'The request body is not valid JSON.', {
      fields: [{ path: '(body)', message: 'malformed JSON' }],
    });
  }
  if (bodyError?.type === 'entity.too.large') {
    return new HttpError(413, 'BodyTooLarge', `The request body is over the ${bodyError.limit} byte limit.`, {
      fields: [{ path: '(body)', message: `larger than ${bodyError.limit} bytes (API_BODY_LIMIT)` }],
    });
  }
  if (bodyError?.type === 'encoding.unsupported' || bodyError?.status === 415) {
    return new HttpError(415, 'UnsupportedMediaType', 'Send JSON with Content-Type: application/json.');
  }
  // Anything else Express or the body parser refused as the client's fault (a bad gzip stream, a
  // path parameter that is not valid UTF-8, an aborted upload): their 4xx, in our shape.
  if (typeof bodyError?.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
    return new HttpError(bodyError.status, 'InvalidRequest', 'The request could not be read.', {
      fields: [{ path: '(request)', message: String(bodyError.type ?? 'unreadable').slice(0, 100) }],
    });
  }
  if (err instanceof WorkflowNotFoundError)
    return new HttpError(404, 'JobNotFound', `There is no job ${err.workflowId}.`, { workflowId: err.workflowId });
  if (err instanceof WorkflowExecutionAlreadyStartedError) return new HttpError(409, 'JobExists', err.message);
  if (isGrpcServiceError(err) && GRPC_UNAVAILABLE.includes(err.code)) return new TemporalUnavailableError(err.details);
  if (err instanceof ServiceError) {
    const grpc = err.cause;
    if (isGrpcServiceError(grpc) && grpc.code === 5 /* NOT_FOUND */)
      return new HttpError(404, 'JobNotFound', err.message);
    if (isGrpcServiceError(grpc) && GRPC_UNAVAILABLE.includes(grpc.code))
      return new TemporalUnavailableError(grpc.details);
  }
  if (err instanceof Error && /connect|ECONNREFUSED|UNAVAILABLE|deadline/i.test(err.message)) {
    return new TemporalUnavailableError(err.message);
  }
  return new HttpError(500, 'Internal', 'Internal error.');
}
