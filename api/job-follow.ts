import { setMaxListeners } from 'node:events';
import type { Config } from '../common/config';
import { tokenBus, type TokenPiece } from '../common/job-tokens';
import { toHttpError } from './errors';
import { PhaseWatcher } from './job-phases';
import { jobStatus } from './routes/workflows';
import type { TemporalGateway } from './temporal-gateway';

export type JobStatusView = Awaited<ReturnType<typeof jobStatus>>;

/** How often the status query is read while a job runs. */
const POLL_MS = 500;
const KEEPALIVE_MS = 15_000;

/** What a follower of a job is told, in order: the transports (SSE, WebSocket) only frame it. */
export type FollowEvent =
  | { event: 'status'; data: JobStatusView }
  | { event: 'chunk'; data: TokenPiece }
  | {
      event: 'done';
      data: Pick<JobStatusView, 'workflowId' | 'status' | 'outcome' | 'failure' | 'links'>;
    }
  | { event: 'error'; data: { error: { code: string; message: string; details?: unknown } } };

export interface FollowOptions {
  workflowId: string;
  tenant: string;
  /** The status read before the stream opened (a bad id is then a plain JSON 404). */
  first: JobStatusView;
  /** Also relay the model's tokens, from the job's token stream. */
  tokens: boolean;
  /** The id of the last token piece the client has: a reconnecting client gets the rest. */
  after?: string;
  signal: AbortSignal;
  send(event: FollowEvent): void;
  /** Called when nothing was sent for a while (a keep-alive for proxies). */
  idle?(): void;
  /** The stream ends with an error StreamExpired then (the client reconnects). */
  expiresAt: number;
}

/**
 * Follows a job until it closes, the client goes or the stream expires: a `status` event each time
 * the phase, iteration, outcome or message changes, the model's tokens as `chunk` events when asked,
 * then one `done`. The status comes from the status query (polled); the tokens from the token bus
 * (common/job-tokens.ts), whose blocking read is also the wait between two polls, so a token goes out
 * as soon as it is published. Nothing is pushed into the workflow.
 */
export async function followJob(deps: { gateway: TemporalGateway; cfg: Config }, o: FollowOptions): Promise<void> {
  const reader = o.tokens ? tokenBus().reader(o.workflowId) : undefined;
  // Every phase change from the history (a poll every POLL_MS would miss the short ones).
  let wake: (() => void) | undefined;
  const phases =
    o.first.status === 'RUNNING'
      ? new PhaseWatcher(deps.gateway, deps.cfg.TEMPORAL_NAMESPACE, o.workflowId, o.first.historyLength, () => wake?.())
      : undefined;
  const watching = new AbortController();
  // Each long poll of the history listens on it until the follow ends: many pages, one follower.
  setMaxListeners(0, watching.signal);
  const stopWatching = () => watching.abort();
  o.signal.addEventListener('abort', stopWatching);
  void phases?.run(watching.signal);
  let relayed = 0;
  const fingerprint = (s: JobStatusView) =>
    JSON.stringify([s.phase, s.iteration, s.outcome, s.message, s.awaitingApproval, s.runId]);
  let current = o.first;
  let last = '';
  let lastToken = o.after;
  let lastWrite = Date.now();
  let polledAt = Date.now();
  const send = (event: FollowEvent) => {
    o.send(event);
    lastWrite = Date.now();
  };
  /** Waits up to `ms` (for tokens, when following them), sending those that arrive. */
  const waitAndRelay = async (ms: number) => {
    if (!reader) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          o.signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        }
        wake = done;
        o.signal.addEventListener('abort', done);
      });
      return;
    }
    const pieces = await reader.read(lastToken, ms, o.signal);
    await relayPhases(pieces);
  };

  try {
    let firstSent = false;
    while (!o.signal.aborted) {
      const closed = current.status !== 'RUNNING';
      if (closed) {
        // Tokens and phases from before the job closed go out before its last status and `done`.
        if (reader) for (let more = true; more && !o.signal.aborted;) more = await drain(reader, 0);
        await relayPhases();
      }
      // While the watcher reports the phases, a polled status would overtake them: it only opens the
      // stream and closes it (with the last message).
      if (fingerprint(current) !== last && (!firstSent || closed || !phases || phases.closed)) {
        last = fingerprint(current);
        send({ event: 'status', data: current });
      }
      firstSent = true;
      if (closed) {
        send({
          event: 'done',
          data: {
            workflowId: current.workflowId,
            status: current.status,
            outcome: current.outcome,
            failure: current.failure,
            links: current.links,
          },
        });
        return;
      }
      if (Date.now() >= o.expiresAt) {
        send({
          event: 'error',
          data: {
            error: {
              code: 'StreamExpired',
              message: 'The stream reached its maximum lifetime; reconnect to go on.',
              details: { workflowId: o.workflowId, after: lastToken },
            },
          },
        });
        return;
      }
      if (Date.now() - lastWrite > KEEPALIVE_MS) {
        o.idle?.();
        lastWrite = Date.now();
      }
      await waitAndRelay(Math.max(1, POLL_MS - (Date.now() - polledAt)));
      if (o.signal.aborted) return;
      await relayPhases();
      if (Date.now() - polledAt < POLL_MS) continue;
      polledAt = Date.now();
      try {
        current = await jobStatus(deps.gateway, deps.cfg, o.workflowId, o.tenant);
      } catch (err) {
        // Temporal went away mid-stream: say so, and let the client reconnect.
        const http = toHttpError(err);
        send({ event: 'error', data: { error: { code: http.code, message: http.message } } });
        return;
      }
    }
  } finally {
    o.signal.removeEventListener('abort', stopWatching);
    watching.abort();
    reader?.close();
  }

  /**
   * Sends the pieces and the phase changes not sent yet, merged in the order they happened (a piece's
   * id is its publication time), so a call's tokens come after the status of the phase that made them.
   */
  async function relayPhases(pieces: TokenPiece[] = []): Promise<void> {
    const changes = phases?.changes.slice(relayed) ?? [];
    relayed += changes.length;
    const timeOf = (piece: TokenPiece) => Number(piece.id.split('-')[0]);
    let i = 0;
    for (const change of changes) {
      for (; i < pieces.length && timeOf(pieces[i]!) < change.at; i++) sendPiece(pieces[i]!);
      const view: JobStatusView = {
        ...current,
        phase: change.phase ?? current.phase,
        iteration: change.iteration ?? current.iteration,
        outcome: change.outcome ?? current.outcome,
        // The history has the phase, not the sentence the job said on entering it.
        message: change.phase === current.phase ? current.message : undefined,
      };
      // Two changes can read the same against a status polled after both (the phase, then the
      // outcome, of a job already seen closed): the second is no change.
      if (fingerprint(view) === last) continue;
      last = fingerprint(view);
      send({ event: 'status', data: view });
    }
    for (; i < pieces.length; i++) sendPiece(pieces[i]!);
  }

  function sendPiece(piece: TokenPiece): void {
    if (o.signal.aborted) return;
    send({ event: 'chunk', data: piece });
    lastToken = piece.id;
  }

  async function drain(r: NonNullable<typeof reader>, waitMs: number): Promise<boolean> {
    const pieces = await r.read(lastToken, waitMs, o.signal);
    await relayPhases(pieces);
    return pieces.length > 0;
  }
}
