import type { Request, Response } from 'express';
import type { Config } from '../../common/config';
import { callerOf } from '../auth';
import { followJob } from '../job-follow';
import type { TemporalGateway } from '../temporal-gateway';
import { z } from 'zod';
import { pathParam, workflowIdSchema } from '../validation';
import { WaitLimiter } from '../wait-limiter';
import { jobStatus } from './workflows';

/** The stream's query: `tokens=true` relays the model's tokens, `after` resumes after a piece. */
export const eventsQuerySchema = z.object({
  tokens: z.enum(['true', 'false']).optional().meta({ description: "Also stream the model's tokens." }),
  after: z
    .string()
    .regex(/^\d{1,20}-\d{1,20}$/, 'a token piece id such as 1733011200000-0')
    .optional()
    .meta({ description: 'The id of the last token piece already seen.' }),
});

/**
 * `GET /api/workflows/:id/events`: the job's progress as Server-Sent Events, for terminals and IDEs
 * that show it live. A `status` event each time the phase, iteration, outcome or message changes
 * (the same shape as `GET /api/workflows/:id`), then one `done` event when the job has closed, and
 * the stream ends. With `?tokens=true`, also `chunk` events `{ id, purpose, call, content }` with the
 * model's tokens as they are generated (`?after=<id>` resumes after a piece already seen). An unknown
 * job (or another tenant's) answers 404 as JSON before the stream starts. See api/job-follow.ts.
 *
 * Each tenant has at most API_SSE_MAX_PER_TENANT streams open (429 beyond), and a stream ends with
 * an `error` event `StreamExpired` after API_SSE_MAX_LIFETIME_MS (the client reconnects).
 */
export function jobEventsHandler(deps: { gateway: TemporalGateway; cfg: Config }) {
  const streams = new WaitLimiter(deps.cfg.API_SSE_MAX_PER_TENANT, 'event streams of this tenant');
  return async (req: Request, res: Response): Promise<void> => {
    // Before any await: a client gone during the first read must not leave a poller behind. The
    // response's close, not the request's: the request closes as soon as its body is read.
    const aborted = new AbortController();
    res.on('close', () => aborted.abort());
    const workflowId = pathParam(workflowIdSchema, req.params.id);
    const query = eventsQuerySchema.parse(req.query);
    const tenant = callerOf(res).tenant;
    const release = streams.acquire(tenant);
    res.on('close', release);
    try {
      // The first read happens before the headers, so a bad id is a normal JSON error.
      const first = await jobStatus(deps.gateway, deps.cfg, workflowId, tenant);
      if (aborted.signal.aborted) return;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      await followJob(deps, {
        workflowId,
        tenant,
        first,
        tokens: query.tokens === 'true',
        after: query.after,
        signal: aborted.signal,
        expiresAt: Date.now() + deps.cfg.API_SSE_MAX_LIFETIME_MS,
        send: ({ event, data }) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
        idle: () => res.write(': keep-alive\n\n'),
      });
      res.end();
    } finally {
      release();
    }
  };
}
