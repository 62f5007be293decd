import { randomUUID } from 'node:crypto';
import {
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { Router } from 'express';
import type { Config } from '../../common/config';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import { taskQueues } from '../../temporal/task-queues';
import { z } from 'zod';
import { artifactStore } from '../../common/artifacts';
import {
  approveUpdate,
  jobWorkflowId,
  requestChangesUpdate,
  statusQuery,
  type CodingJobInput,
  type CodingJobResult,
  type CodingJobStatus,
} from '../../workflows/coding-job/definitions';
import { HttpError, jobFailureToHttp, toHttpError } from '../errors';
import { RETRYABLE_STATUSES, retryJob } from '../job-retry';
import { apiMetrics } from '../metrics';
import type { TemporalGateway } from '../temporal-gateway';
import { startJobSchema, workflowIdSchema, type StartJobBody } from '../validation';

export interface JobLinks {
  self: string;
  result: string;
  ui: string;
}

export function jobLinks(cfg: Config, workflowId: string, runId?: string): JobLinks {
  const id = encodeURIComponent(workflowId);
  const ui = `${cfg.TEMPORAL_UI_URL.replace(/\/$/, '')}/namespaces/${encodeURIComponent(cfg.TEMPORAL_NAMESPACE)}/workflows/${id}${runId ? `/${runId}/history` : ''}`;
  return { self: `/api/workflows/${id}`, result: `/api/workflows/${id}/result`, ui };
}

/** Turns a validated body into the workflow input, resolving config defaults here (workflows read no env). */
export function jobInput(body: StartJobBody, cfg: Config): CodingJobInput {
  return {
    task: body.task,
    description: body.description,
    language: body.language,
    files: body.files,
    context: body.context,
    requirements: body.requirements,
    project: body.project,
    error: body.error,
    options: body.options,
    defaults: {
      maxIterations: cfg.JOB_MAX_ITERATIONS,
      maxTokens: cfg.JOB_MAX_TOKENS,
      maxCostUsd: cfg.JOB_MAX_COST_USD,
      approvalTimeout: cfg.APPROVAL_TIMEOUT,
      approvalDefault: cfg.APPROVAL_DEFAULT_OUTCOME,
      continueAsNewAfter: cfg.JOB_CONTINUE_AS_NEW_AFTER,
    },
  };
}

function summaryOf(body: StartJobBody): string {
  const line = body.description.replace(/\s+/g, ' ').trim();
  return `${body.task.toUpperCase()}${body.language ? ` (${body.language})` : ''}: ${line.length > 100 ? line.slice(0, 99) + '…' : line}`;
}

function detailsOf(body: StartJobBody): string {
  const parts = [`**Task:** ${body.task}`, `**Description:** ${body.description.slice(0, 2000)}`];
  if (body.project) parts.push(`**Project:** ${body.project}`);
  if (body.requirements?.length) parts.push('**Requirements:**\n' + body.requirements.map((r) => `- ${r}`).join('\n'));
  if (body.files) parts.push(`**Files:** ${Object.keys(body.files).join(', ')}`);
  return parts.join('\n\n');
}

/** Starts a job; the same requestId twice gives the same job. */
export async function startJob(
  gateway: TemporalGateway,
  cfg: Config,
  body: StartJobBody,
): Promise<{ workflowId: string; runId: string; existing: boolean }> {
  const workflowId = jobWorkflowId(body.requestId ?? `${body.task}-${randomUUID()}`);
  try {
    const handle = await gateway.call((client) =>
      client.workflow.start('codingLifecycleWorkflow', {
        workflowId,
        taskQueue: taskQueues(cfg.TEMPORAL_TASK_QUEUE_PREFIX).workflows,
        args: [jobInput(body, cfg)],
        // A second start with the same id, running or finished, fails and answers the existing job.
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: summaryOf(body),
        staticDetails: detailsOf(body),
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.taskKind, value: body.task },
          { key: SEARCH_ATTRIBUTES.project, value: body.project ?? 'default' },
          { key: SEARCH_ATTRIBUTES.language, value: body.language ?? 'python' },
          { key: SEARCH_ATTRIBUTES.phase, value: 'QUEUED' },
          { key: SEARCH_ATTRIBUTES.iteration, value: 0 },
          { key: SEARCH_ATTRIBUTES.outcome, value: 'running' },
        ],
      }),
    );
    const runId = handle.firstExecutionRunId;
    return { workflowId, runId, existing: false };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      const description = await gateway.call((client) => client.workflow.getHandle(workflowId).describe());
      return { workflowId, runId: description.runId, existing: true };
    }
    throw err;
  }
}

function attr<T>(description: WorkflowExecutionDescription, key: { name: string }): T | undefined {
  const pair = description.typedSearchAttributes.getAll().find((p) => p.key.name === key.name);
  return pair?.value as T | undefined;
}

/** Status from the search attributes (works with no worker up), enriched by the status query when running. */
export async function jobStatus(gateway: TemporalGateway, cfg: Config, workflowId: string) {
  const handle = await gateway.call(async (client) => client.workflow.getHandle(workflowId));
  const description = await gateway.call(() => handle.describe());
  let live: CodingJobStatus | undefined;
  if (description.status.name === 'RUNNING') {
    // A query needs a workflow worker; with none up, answer from the search attributes alone.
    live = await gateway.call(() => handle.query(statusQuery), 3_000).catch(() => undefined);
  }
  observeDuration(description);
  const failure = description.status.name === 'FAILED' ? await failureOf(gateway, handle, workflowId) : undefined;
  // A finished job says how it ended in its result; read it from the close event (no worker needed).
  const finished =
    description.status.name === 'COMPLETED'
      ? await gateway.call(() => handle.result() as Promise<CodingJobResult>).catch(() => undefined)
      : undefined;
  return {
    workflowId,
    runId: description.runId,
    status: description.status.name,
    task: attr<string>(description, SEARCH_ATTRIBUTES.taskKind),
    project: attr<string>(description, SEARCH_ATTRIBUTES.project),
    phase: live?.phase ?? attr<string>(description, SEARCH_ATTRIBUTES.phase),
    iteration: live?.iteration ?? attr<number>(description, SEARCH_ATTRIBUTES.iteration) ?? 0,
    outcome: live?.outcome ?? attr<string>(description, SEARCH_ATTRIBUTES.outcome),
    message: live?.message ?? finished?.message ?? failure?.message,
    lastTests: live?.lastTests ?? lastTestsOf(finished),
    usage: live?.usage ?? finished?.usage,
    awaitingApproval: live?.awaitingApproval ?? false,
    startedAt: description.startTime.toISOString(),
    closedAt: description.closeTime?.toISOString() ?? null,
    historyLength: description.historyLength,
    ...(failure ? { failure } : {}),
    links: {
      ...jobLinks(cfg, workflowId, description.runId),
      ...(RETRYABLE_STATUSES.has(description.status.name)
        ? { retry: `/api/workflows/${encodeURIComponent(workflowId)}/retry` }
        : {}),
    },
  };
}

/** The last test summary of a finished job, as the status query gave it while the job ran. */
function lastTestsOf(result: CodingJobResult | undefined) {
  const tests = result?.iterations.filter((i) => i.tests).pop()?.tests;
  return (
    tests && {
      passed: tests.passed,
      failed: tests.failed,
      errors: tests.errors,
      skipped: tests.skipped,
      summary: tests.summary,
    }
  );
}

/** Why a failed job failed, as its result endpoint would answer: type, message and what to do. */
async function failureOf(
  gateway: TemporalGateway,
  handle: ReturnType<Client['workflow']['getHandle']>,
  workflowId: string,
) {
  try {
    await gateway.call(() => handle.result());
    return undefined;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) return undefined;
    const http = jobFailureToHttp(err, workflowId);
    const hint = (http.details as { hint?: string }).hint;
    return { type: http.code, message: http.message, ...(hint ? { hint } : {}) };
  }
}

const observed = new Set<string>();
function observeDuration(description: WorkflowExecutionDescription): void {
  if (!description.closeTime || observed.has(description.runId)) return;
  observed.add(description.runId);
  if (observed.size > 10_000) observed.clear();
  const task = attr<string>(description, SEARCH_ATTRIBUTES.taskKind) ?? 'unknown';
  const outcome = attr<string>(description, SEARCH_ATTRIBUTES.outcome) ?? description.status.name.toLowerCase();
  apiMetrics()
    .duration.labels(task, outcome)
    .observe((description.closeTime.getTime() - description.startTime.getTime()) / 1000);
}

/** The result of a finished job; 409 while it runs; the job's typed failure when it failed. */
export async function jobResult(gateway: TemporalGateway, cfg: Config, workflowId: string, waitMs = 0) {
  const handle = await gateway.call(async (client) => client.workflow.getHandle(workflowId));
  const description = await gateway.call(() => handle.describe());
  if (description.status.name === 'RUNNING' && waitMs <= 0) {
    throw new HttpError(409, 'JobNotFinished', 'The job is still running; poll its status or retry later.', {
      workflowId,
      links: jobLinks(cfg, workflowId, description.runId),
    });
  }
  try {
    const result = await gateway.call(() => handle.result() as Promise<CodingJobResult>, Math.max(waitMs, 5_000));
    observeDuration(await gateway.call(() => handle.describe()));
    return { workflowId, runId: description.runId, status: 'COMPLETED', result, links: jobLinks(cfg, workflowId) };
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw jobFailureToHttp(err, workflowId);
    const http = toHttpError(err);
    if (http.code === 'TemporalUnavailable' && waitMs > 0) {
      throw new HttpError(409, 'JobNotFinished', `The job did not finish within ${waitMs} ms.`, { workflowId });
    }
    throw http;
  }
}

export function workflowsRouter(deps: { gateway: TemporalGateway; cfg: Config }): Router {
  const { gateway, cfg } = deps;
  const router = Router();
  const metrics = apiMetrics();

  router.post('/', async (req, res) => {
    const parsed = startJobSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      const task = typeof req.body?.task === 'string' ? String(req.body.task).toLowerCase().slice(0, 20) : 'unknown';
      metrics.requests.labels(task, 'invalid').inc();
      throw parsed.error;
    }
    const body = parsed.data;
    try {
      const started = await startJob(gateway, cfg, body);
      metrics.requests.labels(body.task, started.existing ? 'duplicate' : 'accepted').inc();
      res
        .status(started.existing ? 200 : 202)
        .json({ ...started, links: jobLinks(cfg, started.workflowId, started.runId) });
    } catch (err) {
      metrics.requests.labels(body.task, 'unavailable').inc();
      throw err;
    }
  });

  router.get('/:id', async (req, res) => {
    res.json(await jobStatus(gateway, cfg, workflowIdSchema.parse(req.params.id)));
  });

  router.get('/:id/result', async (req, res) => {
    const wait = Number(req.query.wait ?? 0);
    const waitMs = Number.isFinite(wait) ? Math.min(Math.max(wait, 0), cfg.API_WAIT_TIMEOUT_MS) : 0;
    res.json(await jobResult(gateway, cfg, workflowIdSchema.parse(req.params.id), waitMs));
  });

  router.post('/:id/cancel', async (req, res) => {
    const workflowId = workflowIdSchema.parse(req.params.id);
    const handle = await gateway.call(async (client: Client) => client.workflow.getHandle(workflowId));
    const description = await gateway.call(() => handle.describe());
    if (description.status.name !== 'RUNNING') {
      throw new HttpError(
        409,
        'JobNotRunning',
        `The job is ${description.status.name.toLowerCase()}; nothing to cancel.`,
        {
          workflowId,
        },
      );
    }
    await gateway.call(() => handle.cancel());
    res.status(202).json({ workflowId, runId: description.runId, status: 'CANCEL_REQUESTED' });
  });

  const retrySchema = z
    .object({ requestId: z.string().trim().min(1).max(200).optional(), reason: z.string().max(2_000).optional() })
    .strict();

  /** Re-runs a failed job from its last good step; finished steps keep their results. */
  router.post('/:id/retry', async (req, res) => {
    const workflowId = workflowIdSchema.parse(req.params.id);
    const body = retrySchema.parse(req.body ?? {});
    const retried = await retryJob(gateway, cfg, workflowId, body);
    metrics.retries.inc();
    res.status(202).json({ ...retried, links: jobLinks(cfg, workflowId, retried.runId) });
  });

  const approveSchema = z
    .object({ reviewer: z.string().max(200).optional(), comment: z.string().max(10_000).optional() })
    .strict();
  const changesSchema = z
    .object({ reviewer: z.string().max(200).optional(), feedback: z.string().trim().min(1).max(20_000) })
    .strict();

  /** Sends an update to the approval gate; 409 when the job is not waiting there. */
  async function gate(
    workflowId: string,
    send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<CodingJobStatus>,
  ) {
    const handle = await gateway.call(async (client: Client) => client.workflow.getHandle(workflowId));
    const description = await gateway.call(() => handle.describe());
    const notWaiting = () =>
      new HttpError(409, 'JobNotAwaitingApproval', 'The job is not waiting for approval.', {
        workflowId,
        status: description.status.name,
      });
    if (description.status.name !== 'RUNNING') throw notWaiting();
    try {
      return await gateway.call(() => send(handle), 30_000);
    } catch (err) {
      // The update validator rejects it before it enters history when the job is not at the gate.
      if (err instanceof WorkflowUpdateFailedError) throw notWaiting();
      throw err;
    }
  }

  router.post('/:id/approve', async (req, res) => {
    const workflowId = workflowIdSchema.parse(req.params.id);
    const body = approveSchema.parse(req.body ?? {});
    const status = await gate(workflowId, (h) => h.executeUpdate(approveUpdate, { args: [body] }));
    res.json({ workflowId, decision: 'approved', status });
  });

  router.post('/:id/request-changes', async (req, res) => {
    const workflowId = workflowIdSchema.parse(req.params.id);
    const body = changesSchema.parse(req.body ?? {});
    const status = await gate(workflowId, (h) => h.executeUpdate(requestChangesUpdate, { args: [body] }));
    res.json({ workflowId, decision: 'changes-requested', status });
  });

  /** The job's final files, inline: what a client shows or writes to disk. */
  router.get('/:id/files', async (req, res) => {
    const workflowId = workflowIdSchema.parse(req.params.id);
    const { result } = await jobResult(gateway, cfg, workflowId);
    if (!result.files) throw new HttpError(404, 'NoFiles', 'The job produced no files.', { workflowId });
    res.json({ workflowId, files: await artifactStore().getFiles(result.files) });
  });

  return router;
}
