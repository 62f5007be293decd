import { Router } from 'express';
import { z } from 'zod';
import { artifactStore } from '../../common/artifacts';
import type { Config } from '../../common/config';
import { LANGUAGES, type CodingJobResult } from '../../workflows/coding-job/definitions';
import { callerOf, type Caller } from '../auth';
import { HttpError } from '../errors';
import { detectLanguage, detectTaskKind } from '../intent';
import { apiMetrics } from '../metrics';
import type { Quotas } from '../quotas';
import type { TemporalGateway } from '../temporal-gateway';
import { WaitLimiter } from '../wait-limiter';
import { jobOptionsSchema, startJobSchema } from '../validation';
import { jobLinks, jobResult, startJob } from './workflows';

export const assistSchema = z
  .object({
    message: z.string().trim().min(1).max(20_000),
    context: z.string().max(50_000).optional(),
    files: startJobSchema.shape.files,
    language: z.enum(LANGUAGES).optional(),
    project: startJobSchema.shape.project,
    requestId: startJobSchema.shape.requestId,
    options: jobOptionsSchema.optional(),
    /** false: answer 202 as soon as the job has started. */
    wait: z.boolean().default(true),
  })
  .strict();

/** The task kind and language read from the message, and the job they started. */
export interface AssistHead {
  workflowId: string;
  runId: string;
  task: string;
  language: string;
}

/** The answer to an assist request once its job has finished: the code inline, the tests, the advice. */
export async function assistAnswer(cfg: Config, head: AssistHead, result: CodingJobResult, runId = head.runId) {
  const last = result.iterations[result.iterations.length - 1];
  return {
    ...head,
    success: result.outcome === 'succeeded',
    outcome: result.outcome,
    code: result.files ? await artifactStore().getFiles(result.files) : {},
    explanation: result.explanation,
    suggestions: (last?.findings?.items ?? [])
      .filter((f) => !f.blocking)
      .map((f) => `${f.file}:${f.line} ${f.message}`),
    artifacts: {
      files: result.files?.manifest.id,
      testOutput: last?.tests?.stdout?.id,
      analysisReport: last?.findings?.report?.id,
    },
    tests: last?.tests
      ? { passed: last.tests.passed, failed: last.tests.failed, summary: last.tests.summary }
      : undefined,
    usage: result.usage,
    message: result.message,
    links: jobLinks(cfg, head.workflowId, runId),
  };
}

/** Reads the task kind and language from the message and starts the job (the caller's quotas apply). */
export async function startAssistJob(
  deps: { gateway: TemporalGateway; cfg: Config; quotas?: Quotas },
  body: Omit<z.infer<typeof assistSchema>, 'wait'>,
  caller: Caller,
): Promise<AssistHead> {
  const task = detectTaskKind(body.message);
  const language = body.language ?? detectLanguage(body.message, body.files);
  const started = await startJob(
    deps.gateway,
    deps.cfg,
    {
      task,
      description: body.message,
      language,
      files: body.files,
      context: body.context,
      project: body.project,
      requestId: body.requestId,
      options: body.options,
      // The reproducing test is written from `error` alone, so a stack trace pasted as `context` goes there too.
      error: task === 'debug' ? [body.message, body.context].filter(Boolean).join('\n\n') : undefined,
    },
    caller,
    deps.quotas,
  );
  apiMetrics()
    .requests.labels(task, started.existing ? 'duplicate' : 'accepted')
    .inc();
  return { workflowId: started.workflowId, runId: started.runId, task, language: language ?? 'python' };
}

/**
 * `POST /api/coding/assist`: a request in plain words. The task kind and language are read from the
 * message (and the files), a job is started, and by default the answer waits for its result.
 */
export function assistRouter(deps: { gateway: TemporalGateway; cfg: Config; quotas?: Quotas }): Router {
  const { gateway, cfg, quotas } = deps;
  const router = Router();
  const waits = new WaitLimiter(cfg.API_MAX_CONCURRENT_WAITS);

  router.post('/assist', async (req, res) => {
    const body = assistSchema.parse(req.body ?? {});
    const caller = callerOf(res);
    const head = await startAssistJob({ gateway, cfg, quotas }, body, caller);
    if (!body.wait) {
      res.status(202).json({ ...head, status: 'RUNNING', links: jobLinks(cfg, head.workflowId, head.runId) });
      return;
    }
    let finished: Awaited<ReturnType<typeof jobResult>>;
    try {
      finished = await waits.run(() =>
        jobResult(gateway, cfg, head.workflowId, caller.tenant, cfg.API_WAIT_TIMEOUT_MS),
      );
    } catch (err) {
      // Not finished in time, or too many waits open: the job runs on, and the answer says where to look.
      if (err instanceof HttpError && (err.code === 'JobNotFinished' || err.code === 'TooManyWaits')) {
        res.status(202).json({ ...head, status: 'RUNNING', links: jobLinks(cfg, head.workflowId, head.runId) });
        return;
      }
      throw err;
    }
    res.json(await assistAnswer(cfg, head, finished.result));
  });

  return router;
}
