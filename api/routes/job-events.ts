import type { Request, Response } from 'express';
import type { Config } from '../../common/config';
import { toHttpError } from '../errors';
import type { TemporalGateway } from '../temporal-gateway';
import { workflowIdSchema } from '../validation';
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
 * the stream ends. An unknown job answers 404 as JSON before the stream starts. The server polls the
 * status query; nothing is pushed into the workflow.
 */
export function jobEventsHandler(deps: { gateway: TemporalGateway; cfg: Config }) {
  return async (req: Request, res: Response): Promise<void> => {
    const workflowId = workflowIdSchema.parse(req.params.id);
    // The first read happens before the headers, so a bad id is a normal JSON error.
    let current = await jobStatus(deps.gateway, deps.cfg, workflowId);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let closed = false;
    req.on('close', () => (closed = true));
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
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
      if (Date.now() - lastWrite > KEEPALIVE_MS) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (closed) break;
      try {
        current = await jobStatus(deps.gateway, deps.cfg, workflowId);
      } catch (err) {
        // Temporal went away mid-stream: say so, and let the client reconnect.
        const http = toHttpError(err);
        send('error', { error: { code: http.code, message: http.message } });
        break;
      }
    }
    res.end();
  };
}
