import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { Config } from '../../common/config';
import type { Logger } from '../../common/logger';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import type { Authenticator, Caller } from '../auth';
import { toHttpError } from '../errors';
import { followJob } from '../job-follow';
import type { Quotas } from '../quotas';
import type { TemporalGateway } from '../temporal-gateway';
import { workflowIdSchema } from '../validation';
import { WaitLimiter } from '../wait-limiter';
import { assistAnswer, assistSchema, startAssistJob, type AssistHead } from './assist';
import { eventsQuerySchema } from './job-events';
import { jobResult, jobStatus } from './workflows';

export const ASSIST_STREAM_PATH = '/api/coding/assist/stream';

/** The first message: a request in plain words (as POST /api/coding/assist, without `wait`)… */
export const assistStreamStartSchema = assistSchema.omit({ wait: true });
/** …or the id of a job to follow, with the last token piece the client has. */
export const assistStreamResumeSchema = z
  .object({ jobId: workflowIdSchema, after: eventsQuerySchema.shape.after })
  .strict();

/** How long a socket may stay open without sending its first message. */
const FIRST_MESSAGE_MS = 30_000;

interface StreamDeps {
  gateway: TemporalGateway;
  cfg: Config;
  log: Logger;
  auth: Authenticator;
  quotas?: Quotas;
}

/** A WebSocket close code for an error: the client's fault (1008) or ours (1011). */
const closeCode = (status: number) => (status < 500 ? 1008 : 1011);

/**
 * `GET /api/coding/assist/stream` (WebSocket): the seed's streaming assist. The client sends
 * `{message, context?, files?, language?, project?, requestId?, options?}`, and gets
 * `{"type":"status",…}` (the job's status, with its workflowId) at start and at each phase change,
 * `{"type":"chunk","content","id","purpose","call"}` with the model's tokens as they are generated,
 * then `{"type":"complete",…}` (the answer POST /api/coding/assist gives) or
 * `{"type":"error","code","message"}`, and the server closes.
 *
 * The job is a durable workflow: a dropped socket stops only the relay. A client that reconnects
 * sends `{jobId, after?}` and gets the status, the tokens after `after` (all of them without it) and
 * the rest of the stream. Authentication is the REST routes': `Authorization: Bearer <key>` on the
 * upgrade request (401 before the upgrade otherwise); another tenant's job is an unknown one.
 */
export function assistStreamUpgrade(deps: StreamDeps) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  const streams = new WaitLimiter(deps.cfg.API_SSE_MAX_PER_TENANT, 'event streams of this tenant');

  const refuse = (socket: Duplex, status: number, code: string, message: string) => {
    const body = JSON.stringify({ error: { code, message, details: {} } });
    socket.end(
      `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Not Found'}\r\ncontent-type: application/json\r\n` +
        `${status === 401 ? 'www-authenticate: Bearer\r\n' : ''}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  };

  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== ASSIST_STREAM_PATH) {
      refuse(socket, 404, 'NotFound', `No WebSocket route at ${String(path).slice(0, 100)}.`);
      return;
    }
    deps.auth.identify(req.headers.authorization).then(
      (caller) => {
        if (!caller) {
          refuse(
            socket,
            401,
            'Unauthorized',
            'Send Authorization: Bearer <key> with a key from API_KEYS or API_KEYS_FILE.',
          );
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          serve(ws, caller).catch((err: unknown) => deps.log.error({ err: String(err) }, 'assist stream failed'));
        });
      },
      () => refuse(socket, 401, 'Unauthorized', 'The credentials could not be checked.'),
    );
  };

  async function serve(ws: WebSocket, caller: Caller): Promise<void> {
    const aborted = new AbortController();
    ws.on('close', () => aborted.abort());
    ws.on('error', () => aborted.abort());
    const send = (message: object) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    };
    const fail = (err: unknown) => {
      const http = toHttpError(err);
      send({ type: 'error', code: http.code, message: http.message, details: http.details });
      ws.close(closeCode(http.status), http.code.slice(0, 100));
    };

    let first: unknown;
    try {
      first = await firstMessage(ws, aborted.signal);
    } catch (err) {
      if (!aborted.signal.aborted) fail(err);
      return;
    }
    if (aborted.signal.aborted) return;

    let release: (() => void) | undefined;
    try {
      release = streams.acquire(caller.tenant);
      let head: Pick<AssistHead, 'workflowId'> & Partial<AssistHead>;
      let after: string | undefined;
      if (first && typeof first === 'object' && 'jobId' in first) {
        const resume = assistStreamResumeSchema.parse(first);
        head = { workflowId: resume.jobId };
        after = resume.after;
      } else {
        head = await startAssistJob(deps, assistStreamStartSchema.parse(first), caller);
      }
      const status = await jobStatus(deps.gateway, deps.cfg, head.workflowId, caller.tenant);
      let done: { status: string } | undefined;
      await followJob(deps, {
        workflowId: head.workflowId,
        tenant: caller.tenant,
        first: status,
        tokens: true,
        after,
        signal: aborted.signal,
        expiresAt: Date.now() + deps.cfg.API_SSE_MAX_LIFETIME_MS,
        idle: () => ws.ping(),
        send: (e) => {
          if (e.event === 'status') send({ type: 'status', ...e.data });
          else if (e.event === 'chunk') send({ type: 'chunk', ...e.data });
          else if (e.event === 'error') send({ type: 'error', ...e.data.error });
          else done = e.data;
        },
      });
      if (aborted.signal.aborted) return;
      if (!done) {
        ws.close(1000, 'expired');
        return;
      }
      // A job that failed, or was cancelled or terminated, throws its typed failure here, as REST answers it.
      const finished = await jobResult(deps.gateway, deps.cfg, head.workflowId, caller.tenant);
      const result: CodingJobResult = finished.result;
      const view = {
        workflowId: head.workflowId,
        runId: head.runId ?? finished.runId,
        task: head.task ?? status.task ?? 'generate',
        language: head.language ?? status.language ?? 'python',
      };
      send({ type: 'complete', ...(await assistAnswer(deps.cfg, view, result, finished.runId)) });
      ws.close(1000, 'complete');
    } catch (err) {
      if (!aborted.signal.aborted) fail(err);
    } finally {
      release?.();
    }
  }
}

/** The client's first message, parsed as JSON; a ZodError-like 400 when it is not JSON. */
function firstMessage(ws: WebSocket, signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(Object.assign(new Error('no request within 30 s'), { status: 400, type: 'first.message' })),
      FIRST_MESSAGE_MS,
    );
    signal.addEventListener('abort', () => clearTimeout(timer));
    ws.once('message', (data) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(String(data)));
      } catch {
        reject(Object.assign(new Error('not JSON'), { type: 'entity.parse.failed' }));
      }
    });
  });
}
