/**
 * The rate-limiter seam of the model client. LLM workers share one endpoint quota, so the shared
 * limiter (Redis, `LLM_RATE_LIMIT_RPM`) plugs in here at worker start-up:
 * `setModelRateLimiter(sharedState().limiter)`. Without one, calls go straight out and the endpoint's
 * own 429s are the limit.
 */

/** What the model client needs from a limiter. */
export interface ModelRateLimiter {
  /**
   * Resolves when a call may go out. `signal` is the activity's cancellation (stop waiting), and
   * `onWait` is called before each wait so the client can heartbeat through a long one. It may throw an `ApplicationFailure` (e.g. `ModelRateLimited`
   * with a `nextRetryDelay`) to hand the wait to Temporal instead of holding the activity slot;
   * the client rethrows those. Any other error is logged and the call goes out anyway (fail open).
   */
  acquire(options?: { signal?: AbortSignal; onWait?: (waitMs: number) => void }): Promise<unknown>;
  /** Called with the endpoint's retry-after when it answers 429, so every worker backs off. */
  penalize(ms: number): Promise<void>;
}

let current: ModelRateLimiter | undefined;

/** Installs (or, with `undefined`, removes) the process's model rate limiter. */
export function setModelRateLimiter(limiter: ModelRateLimiter | undefined): void {
  current = limiter;
}

/** The process's model rate limiter, if one is installed. */
export function modelRateLimiter(): ModelRateLimiter | undefined {
  return current;
}
