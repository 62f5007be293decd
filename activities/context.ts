import { asyncLocalStorage, type Context } from '@temporalio/activity';
import { logger } from '../common/logger';

/**
 * The activity context, for code that Temporal workers call but plain unit tests, scripts and the
 * benches call too: inside an activity these helpers heartbeat, observe cancellation and log through
 * the SDK; elsewhere they do nothing (or log through pino) instead of throwing "not in an activity
 * context".
 */
export function activityContext(): Context | undefined {
  return asyncLocalStorage.getStore();
}

/** Heartbeats when running inside an activity; a no-op elsewhere. */
export function heartbeat(details?: unknown): void {
  activityContext()?.heartbeat(details);
}

/** The activity's cancellation signal, or `undefined` outside an activity. */
export function activityCancellationSignal(): AbortSignal | undefined {
  return activityContext()?.cancellationSignal;
}

type Meta = Record<string, unknown>;

/** The SDK's logger shape: message first, then attributes. */
export interface ActivityLog {
  debug(message: string, meta?: Meta): void;
  info(message: string, meta?: Meta): void;
  warn(message: string, meta?: Meta): void;
  error(message: string, meta?: Meta): void;
}

/**
 * A logger for activity code. Inside an activity it is the SDK's activity `log`
 * (`@temporalio/activity`), whose records already carry the workflow, run and activity ids, the
 * attempt and the task queue; the worker's runtime logger (temporal/node/runtime.ts) writes them as
 * our own lines under `component`. Outside an activity it is pino's, with the same attributes.
 */
export function activityLog(component: string, bindings: Meta = {}): ActivityLog {
  const context = activityContext();
  if (context) {
    const sdk = context.log;
    const meta = (extra?: Meta): Meta => ({ component, ...bindings, ...extra });
    return {
      debug: (message, extra) => sdk.debug(message, meta(extra)),
      info: (message, extra) => sdk.info(message, meta(extra)),
      warn: (message, extra) => sdk.warn(message, meta(extra)),
      error: (message, extra) => sdk.error(message, meta(extra)),
    };
  }
  const pino = logger(component, bindings);
  return {
    debug: (message, extra) => pino.debug(extra ?? {}, message),
    info: (message, extra) => pino.info(extra ?? {}, message),
    warn: (message, extra) => pino.warn(extra ?? {}, message),
    error: (message, extra) => pino.error(extra ?? {}, message),
  };
}
