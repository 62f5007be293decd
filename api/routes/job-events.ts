import type { Request, Response } from 'express';
import type { Config } from '../../common/config';
import { callerOf } from '../auth';
import { toHttpError } from '../errors';
import type { TemporalGateway } from '../temporal-gateway';
import { workflowIdSchema } from '../validation';
import { WaitLimiter } from '../wait-limiter';
import { jobStatus } from './workflows';

const POLL_MS = 500;
const KEEPALIVE_MS = 15_000;

type Status = Awaited<ReturnType<typeof jobStatus>>;

/**
 * What makes a status news: where the job is and what it says. Not the execution status: a job that
 * has just closed says what it said a moment before, and its closing is the `done` event.
 */
const fingerprint = (s: Status) =>
  JSON.stringify([s.phase, s.iteration, s.outcome, s.message, s.awaitingApproval, s.runId]);

/**
 * `GET /api/workflows/:id/events`: the job's progress as Server-Sent Events, for terminals and IDEs
 * that show it live. A `status` event each time the phase, iteration, outcome or message changes
 * (the same shape as `GET /api/workflows/:id`), then one `done` event when the job has closed, and
 * the stream ends. An unknown job (or another tenant's) answers 404 as JSON before the stream starts.
 * The server polls the status query; nothing is pushed into the workflow.
 *
 * Each tenant has at most API_SSE_MAX_PER_TENANT streams open (429 beyond), and a stream ends with
 * an `error` event `StreamExpired` after API_SSE_MAX_LIFETIME_MS (the client reconnects).
 */
export function jobEventsHandler(deps: { gateway: TemporalGateway; cfg: Config }) {
  const streams = new WaitLimiter(deps.cfg.API_SSE_MAX_PER_TENANT, 'event streams of this tenant');
  return async (req: Request, res: Response): Promise<void> => {
    // Before any await: a client gone during the first read must not leave a poller behind. The
    // response's close, not the request's: the request closes as soon as its body is read.
    let closed = false;
    let wake: (() => void) | undefined;
    res.on('close', () => {
      closed = true;
      wake?.();
    });
    const workflowId = workflowIdSchema.parse(req.params.id);
    const tenant = callerOf(res).tenant;
    const release = streams.acquire(tenant);
    res.on('close', release);
    try {
      // The first read happens before the headers, so a bad id is a normal JSON error.
      let current = await jobStatus(deps.gateway, deps.cfg, workflowId, tenant);
      if (closed) return;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const expires = Date.now() + deps.cfg.API_SSE_MAX_LIFETIME_MS;
      let last = '';
      let lastWrite = Date.now();
      while (!closed) {
        if (fingerprint(current) !== last) {
          last = fingerprint(current);
          send('status', current);
          lastWrite = Date.now();
        }
        if (current.status !== 'RUNNING') {
          send('done', {
            workflowId,
            status: current.status,
            outcome: current.outcome,
            failure: current.failure,
            links: current.links,
          });
          break;
        }
        if (Date.now() >= expires) {
          send('error', {
            error: { code: 'StreamExpired', message: 'The stream reached its maximum lifetime; reconnect to go on.' },
          });
          break;
        }
        if (Date.now() - lastWrite > KEEPALIVE_MS) {
          res.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        if (closed) break;
        try {
          current = await jobStatus(deps.gateway, deps.cfg, workflowId, tenant);
        } catch (err) {
          // Temporal went away mid-stream: say so, and let the client reconnect.
          const http = toHttpError(err);
          send('error', { error: { code: http.code, message: http.message } });
          break;
        }
      }
      res.end();
    } finally {
      release();
    }
  };
}
