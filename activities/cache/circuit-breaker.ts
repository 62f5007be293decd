import { logger } from '../../common/logger';
import { circuitBreakerStatus } from './metrics';

export const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold?: number;
  /** How long the breaker stays open before it lets one trial call through. */
  resetTimeoutMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Thrown by `execute` while the breaker is open: the caller should use its fallback or fail as transient. */
export class CircuitOpenError extends Error {
  constructor(readonly service: string) {
    super(
      `Circuit breaker for ${service} is open: the dependency failed repeatedly and is being given time to recover.`,
    );
    this.name = 'CircuitOpenError';
  }
}

/**
 * A per-process circuit breaker for one dependency (redis, qdrant, llm…). Opening fast stops a dead
 * dependency from adding its timeout to every call; the half-open trial notices when it is back.
 * Its state is exported as `sophia_circuit_breaker_status{service,state}`.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private readonly failureThreshold: number;
  private readonly resetTimeoutMs: number;
  private readonly now: () => number;
  private readonly log = logger('circuit-breaker');

  constructor(
    readonly service: string,
    options: CircuitBreakerOptions = {},
  ) {
    this.failureThreshold = options.failureThreshold ?? 3;
    this.resetTimeoutMs = options.resetTimeoutMs ?? 5_000;
    this.now = options.now ?? Date.now;
    this.export();
  }

  /** The state, moving open → half_open once the reset timeout has passed. */
  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.resetTimeoutMs) this.transition('half_open');
    return this.current;
  }

  /** Whether a call may go to the dependency now. In half-open, one trial call at a time. */
  allowRequest(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  recordSuccess(): void {
    this.failures = 0;
    this.trialInFlight = false;
    if (this.current !== 'closed') this.transition('closed');
  }

  recordFailure(): void {
    this.failures += 1;
    this.trialInFlight = false;
    if (this.current === 'half_open' || this.failures >= this.failureThreshold) this.trip();
  }

  /** Opens the breaker now, e.g. when the connection itself reports it is gone. */
  trip(): void {
    this.openedAt = this.now();
    if (this.current !== 'open') this.transition('open');
  }

  /** Closes the breaker now, e.g. when the connection reports it is back. */
  reset(): void {
    this.recordSuccess();
  }

  /** Runs `fn` through the breaker; throws `CircuitOpenError` without calling it while open. */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.allowRequest()) throw new CircuitOpenError(this.service);
    try {
      const result = await fn();
      this.recordSuccess();
      return result;
    } catch (err) {
      this.recordFailure();
      throw err;
    }
  }

  private transition(next: BreakerState): void {
    const previous = this.current;
    this.current = next;
    this.export();
    const level = next === 'open' ? 'warn' : 'info';
    this.log[level]({ service: this.service, from: previous, to: next }, `circuit breaker ${next}`);
  }

  private export(): void {
    for (const state of BREAKER_STATES) {
      circuitBreakerStatus.set({ service: this.service, state }, state === this.current ? 1 : 0);
    }
  }
}
