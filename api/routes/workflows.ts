import { randomUUID } from 'node:crypto';
import {
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { Router } from 'express';
import type { Config } from '../../common/config';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import { taskQueues } from '../../temporal/task-queues';
import { artifactStore } from '../../common/artifacts';
import { FAILURES } from '../../common/failures';
import { lexicalRefusal, parseRepoRoots } from '../../common/repo-roots';
import { FORGES, forgeOf, localPathOf, type RepositorySpec } from '../../common/repository-spec';
import type { codingLifecycleWorkflow } from '../../workflows/coding-job/workflow';
import {
  approveUpdate,
  rejectUpdate,
  CODING_LIFECYCLE_WORKFLOW,
  jobWorkflowId,
  requestChangesUpdate,
  statusQuery,
  type CodingJobInput,
  type CodingJobResult,
  type CodingJobStatus,
} from '../../workflows/coding-job/definitions';
import { callerOf, type Caller } from '../auth';
import { catalogueHttpError, HttpError, jobFailureToHttp, toHttpError } from '../errors';
import { RETRYABLE_STATUSES, retryJob } from '../job-retry';
import { apiMetrics, taskLabel } from '../metrics';
import type { Quotas } from '../quotas';
import { configuredSecrets, redactText } from '../redact';
import { describeOwned, requestDigest } from '../tenancy';
import type { TemporalGateway } from '../temporal-gateway';
import {
  approveSchema,
  changesSchema,
  pathParam,
  retrySchema,
  startJobSchema,
  workflowIdSchema,
  type StartJobBody,
} from '../validation';
import { WaitLimiter } from '../wait-limiter';

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
export function jobInput(body: StartJobBody, cfg: Config, tenant = 'local'): CodingJobInput {
  return {
    tenant,
    task: body.task,
    description: body.description,
    language: body.language,
    files: body.files,
    ...(body.repository ? { repository: body.repository } : {}),
    context: body.context,
    requirements: body.requirements,
    project: body.project,
    error: body.error,
    options: body.options,
    ...(body.codacy ? { codacy: body.codacy } : {}),
    defaults: {
      maxIterations: cfg.JOB_MAX_ITERATIONS,
      maxTokens: cfg.JOB_MAX_TOKENS,
      maxCostUsd: cfg.JOB_MAX_COST_USD,
      approvalTimeout: cfg.APPROVAL_TIMEOUT,
      approvalDefault: cfg.APPROVAL_DEFAULT_OUTCOME,
      continueAsNewAfter: cfg.JOB_CONTINUE_AS_NEW_AFTER,
      drafts: cfg.JOB_DRAFTS,
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
  if (body.repository)
    parts.push(
      `**Repository:** ${body.repository.url} ${body.repository.ref ?? ''} ${body.repository.path ?? ''}`.trim(),
    );
  return parts.join('\n\n');
}

/**
 * Starts a job for the caller's tenant; the same requestId twice with the same body gives the same
 * job, with another body a 409 IdempotencyConflict. Over the tenant's quotas, a 429.
 */
export async function startJob(
  gateway: TemporalGateway,
  cfg: Config,
  body: StartJobBody,
  caller: Caller,
  quotas?: Quotas,
): Promise<{ workflowId: string; runId: string; existing: boolean }> {
  const { tenant } = caller;
  if (body.repository)
    checkRepository(body.repository, cfg, body.options?.pullRequest === true || body.options?.commentOn !== undefined);
  const workflowId = jobWorkflowId(body.requestId ?? `${body.task}-${randomUUID()}`, tenant);
  // The id is the tenant's; the digest binds it to what it was first sent with.
  const { requestId: _requestId, ...request } = body;
  const digest = requestDigest(request);
  const existing = async () => {
    const { description } = await describeOwned(gateway, tenant, workflowId);
    if ((description.memo?.requestDigest ?? digest) !== digest) {
      throw new HttpError(409, 'IdempotencyConflict', 'This requestId was already used with a different request.', {
        requestId: body.requestId,
        hint: FAILURES.IdempotencyConflict.hint,
      });
    }
    return { workflowId, runId: description.runId, existing: true };
  };
  if (body.requestId) {
    // A retried start answers the job it started, even when the tenant is at its quota now.
    const found = await existing().catch((err: unknown) => {
      if (err instanceof HttpError && err.code === 'JobNotFound') return undefined;
      throw err;
    });
    if (found) return found;
  }
  await quotas?.checkStart(tenant);
  try {
    const handle = await gateway.call((client) =>
      client.workflow.start<typeof codingLifecycleWorkflow>(CODING_LIFECYCLE_WORKFLOW, {
        workflowId,
        taskQueue: taskQueues(cfg.TEMPORAL_TASK_QUEUE_PREFIX).workflows,
        args: [jobInput(body, cfg, tenant)],
        memo: { requestDigest: digest },
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
          { key: SEARCH_ATTRIBUTES.tenant, value: tenant },
        ],
      }),
    );
    const runId = handle.firstExecutionRunId;
    return { workflowId, runId, existing: false };
  } catch (err) {
    // Two starts with one requestId raced: the loser answers the winner's job.
    if (err instanceof WorkflowExecutionAlreadyStartedError) return existing();
    throw err;
  }
}

/**
 * What the schema cannot check without the config: a `file://` repository lies under
 * SOPHIA_REPO_ROOTS (the worker checks its realpath again), and a pull request needs a forge.
 */
export function checkRepository(repository: RepositorySpec, cfg: Config, pullRequest: boolean): void {
  const local = localPathOf(repository.url);
  if (local !== undefined) {
    const refusal = lexicalRefusal(local.replace(/(.)\/$/, '$1'), parseRepoRoots(cfg.SOPHIA_REPO_ROOTS));
    if (refusal)
      throw new HttpError(FAILURES[refusal.type].httpStatus, refusal.type, refusal.message, {
        fields: [{ path: 'repository.url', message: refusal.message }],
      });
  }
  if (pullRequest && forgeOf(repository, cfg.GITHUB_HOST) === undefined)
    throw new HttpError(400, 'InvalidInput', 'options.pullRequest needs a GitHub repository.', {
      fields: [
        {
          path: 'options.pullRequest',
          message: `pull requests are opened on ${FORGES.join(', ')} (github.com, GITHUB_HOST, or repository.forge); other hosts get a pushed branch and a patch`,
        },
      ],
    });
}

function attr<T>(description: WorkflowExecutionDescription, key: { name: string }): T | undefined {
  const pair = description.typedSearchAttributes.getAll().find((p) => p.key.name === key.name);
  return pair?.value as T | undefined;
}

/**
 * Status from the search attributes (works with no worker up), enriched by the status query when
 * running. Another tenant's job is a 404, like a missing one.
 */
export async function jobStatus(gateway: TemporalGateway, cfg: Config, workflowId: string, tenant: string) {
  const { handle, description } = await describeOwned(gateway, tenant, workflowId);
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
    language: attr<string>(description, SEARCH_ATTRIBUTES.language),
    phase: live?.phase ?? attr<string>(description, SEARCH_ATTRIBUTES.phase),
    iteration: live?.iteration ?? attr<number>(description, SEARCH_ATTRIBUTES.iteration) ?? 0,
    outcome: live?.outcome ?? attr<string>(description, SEARCH_ATTRIBUTES.outcome),
    // A worker's message may name its files or endpoints: the answer carries none of them.
    message: redactMaybe(live?.message ?? finished?.message ?? failure?.message, cfg),
    lastTests: live?.lastTests ?? lastTestsOf(finished),
    usage: live?.usage ?? finished?.usage,
    awaitingApproval: live?.awaitingApproval ?? false,
    startedAt: description.startTime.toISOString(),
    closedAt: description.closeTime?.toISOString() ?? null,
    historyLength: description.historyLength,
    ...(failure ? { failure: { ...failure, message: redactMaybe(failure.message, cfg) } } : {}),
    links: {
      ...jobLinks(cfg, workflowId, description.runId),
      ...(RETRYABLE_STATUSES.has(description.status.name)
        ? { retry: `/api/workflows/${encodeURIComponent(workflowId)}/retry` }
        : {}),
    },
  };
}

function redactMaybe(text: string | undefined, cfg: Config): string | undefined {
  return text === undefined ? undefined : redactText(text, configuredSecrets(cfg));
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
  const task = taskLabel(attr<string>(description, SEARCH_ATTRIBUTES.taskKind));
  const outcome = attr<string>(description, SEARCH_ATTRIBUTES.outcome) ?? description.status.name.toLowerCase();
  apiMetrics()
    .duration.labels(task, outcome)
    .observe((description.closeTime.getTime() - description.startTime.getTime()) / 1000);
}

/** The result of a finished job; 409 while it runs; the job's typed failure when it failed. */
export async function jobResult(gateway: TemporalGateway, cfg: Config, workflowId: string, tenant: string, waitMs = 0) {
  const { handle, description } = await describeOwned(gateway, tenant, workflowId);
  if (description.status.name === 'RUNNING' && waitMs <= 0) {
    throw new HttpError(409, 'JobNotFinished', 'The job is still running; poll its status or retry later.', {
      workflowId,
      links: jobLinks(cfg, workflowId, description.runId),
    });
  }
  try {
    // A finished job answers at once; a running one is waited for as long as asked, and no longer.
    const deadline = description.status.name === 'RUNNING' ? waitMs : Math.max(waitMs, 5_000);
    const result = await gateway.call(() => handle.result() as Promise<CodingJobResult>, deadline);
    observeDuration(await gateway.call(() => handle.describe()));
    return { workflowId, runId: description.runId, status: 'COMPLETED', result, links: jobLinks(cfg, workflowId) };
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw jobFailureToHttp(err, workflowId);
    const http = toHttpError(err);
    // A long poll that ends without the result (its deadline, a dropped stream) is a job still running,
    // whatever the transport error looked like: say so, rather than an internal error.
    if (waitMs > 0 && (http.code === 'TemporalUnavailable' || http.status >= 500)) {
      const now = await gateway.call(() => handle.describe()).catch(() => undefined);
      if (!now || now.status.name === 'RUNNING') {
        throw new HttpError(409, 'JobNotFinished', `The job did not finish within ${waitMs} ms.`, { workflowId });
      }
    }
    // The original error, not its mapping: the error middleware maps it again and logs what happened.
    throw err;
  }
}

export function workflowsRouter(deps: { gateway: TemporalGateway; cfg: Config; quotas?: Quotas }): Router {
  const { gateway, cfg, quotas } = deps;
  const router = Router();
  const metrics = apiMetrics();
  const waits = new WaitLimiter(cfg.API_MAX_CONCURRENT_WAITS);

  router.post('/', async (req, res) => {
    const parsed = startJobSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      metrics.requests.labels(taskLabel(req.body?.task), 'invalid').inc();
      throw parsed.error;
    }
    const body = parsed.data;
    try {
      const started = await startJob(gateway, cfg, body, callerOf(res), quotas);
      metrics.requests.labels(body.task, started.existing ? 'duplicate' : 'accepted').inc();
      res
        .status(started.existing ? 200 : 202)
        .json({ ...started, links: jobLinks(cfg, started.workflowId, started.runId) });
    } catch (err) {
      const http = toHttpError(err);
      metrics.requests.labels(body.task, http.status === 503 ? 'unavailable' : 'invalid').inc();
      throw err;
    }
  });

  router.get('/:id', async (req, res) => {
    res.json(await jobStatus(gateway, cfg, pathParam(workflowIdSchema, req.params.id), callerOf(res).tenant));
  });

  router.get('/:id/result', async (req, res) => {
    const workflowId = pathParam(workflowIdSchema, req.params.id);
    const wait = Number(req.query.wait ?? 0);
    const waitMs = Number.isFinite(wait) ? Math.min(Math.max(Math.floor(wait), 0), cfg.API_WAIT_TIMEOUT_MS) : 0;
    const tenant = callerOf(res).tenant;
    if (waitMs <= 0) {
      res.json(await jobResult(gateway, cfg, workflowId, tenant, 0));
      return;
    }
    res.json(await waits.run(() => jobResult(gateway, cfg, workflowId, tenant, waitMs)));
  });

  router.post('/:id/cancel', async (req, res) => {
    const workflowId = pathParam(workflowIdSchema, req.params.id);
    const { handle, description } = await describeOwned(gateway, callerOf(res).tenant, workflowId);
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

  /** Re-runs a failed job from its last good step; finished steps keep their results. */
  router.post('/:id/retry', async (req, res) => {
    const workflowId = pathParam(workflowIdSchema, req.params.id);
    const body = retrySchema.parse(req.body ?? {});
    const tenant = callerOf(res).tenant;
    await describeOwned(gateway, tenant, workflowId);
    // The reset's request id is Temporal's dedupe key: scoped to the tenant and the job.
    const retried = await retryJob(gateway, cfg, workflowId, {
      ...body,
      requestId: body.requestId && requestDigest([tenant, workflowId, body.requestId]).slice(0, 32),
    });
    metrics.retries.inc();
    res.status(202).json({ ...retried, links: jobLinks(cfg, workflowId, retried.runId) });
  });

  /**
   * Sends an update to the approval gate; 409 when the job is not waiting there: `ReviewRejected` when
   * a reviewer rejected it, `JobNotAwaitingApproval` otherwise.
   */
  async function gate(
    tenant: string,
    workflowId: string,
    send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<CodingJobStatus>,
  ) {
    const { handle, description } = await describeOwned(gateway, tenant, workflowId);
    const notWaiting = () =>
      new HttpError(409, 'JobNotAwaitingApproval', 'The job is not waiting for approval.', {
        workflowId,
        status: description.status.name,
      });
    if (description.status.name === 'COMPLETED') {
      // A reviewer's rejection ends the job: acting on it again is answered with that rejection.
      const result = await gateway.call(() => handle.result() as Promise<CodingJobResult>).catch(() => undefined);
      if (result?.outcome === 'rejected') {
        throw catalogueHttpError('ReviewRejected', `The job was rejected at its approval gate. ${result.message}`, {
          workflowId,
        });
      }
    }
    if (description.status.name !== 'RUNNING') throw notWaiting();
    try {
      return await gateway.call(() => send(handle), 30_000);
    } catch (err) {
      // The update validator rejects it before it enters history: not at the gate, or no round left.
      if (err instanceof WorkflowUpdateFailedError) {
        const cause = err.cause;
        if (cause instanceof ApplicationFailure && cause.type === 'BudgetExhausted') {
          throw catalogueHttpError('BudgetExhausted', cause.message, { workflowId });
        }
        throw notWaiting();
      }
      throw err;
    }
  }

  router.post('/:id/approve', async (req, res) => {
    const workflowId = pathParam(workflowIdSchema, req.params.id);
    const body = approveSchema.parse(req.body ?? {});
    const status = await gate(callerOf(res).tenant, workflowId, (h) =>
      h.executeUpdate(approveUpdate, { args: [body] }),
    );
    res.json({ workflowId, decision: 'approved', status });
  });

  router.post('/:id/reject', async (req, res) => {
    const workflowId = pathParam(workflowIdSchema, req.params.id);
    const body = approveSchema.parse(req.body ?? {});
    const status = await gate(callerOf(res).tenant, workflowId, (h) => h.executeUpdate(rejectUpdate, { args: [body] }));
    res.json({ workflowId, decision: 'rejected', status });
  });

  router.post('/:id/request-changes', async (req, res) => {
    const workflowId = pathParam(workflowIdSchema, req.params.id);
    const body = changesSchema.parse(req.body ?? {});
    const status = await gate(callerOf(res).tenant, workflowId, (h) =>
      h.executeUpdate(requestChangesUpdate, { args: [body] }),
    );
    res.json({ workflowId, decision: 'changes-requested', status });
  });

  /** The job's final files, inline: what a client shows or writes to disk. */
  router.get('/:id/files', async (req, res) => {
    const workflowId = pathParam(workflowIdSchema, req.params.id);
    const { result } = await jobResult(gateway, cfg, workflowId, callerOf(res).tenant);
    if (!result.files) throw new HttpError(404, 'NoFiles', 'The job produced no files.', { workflowId });
    res.json({ workflowId, files: await artifactStore().getFiles(result.files) });
  });

  /**
   * The unified patch of a finished job on a repository (its base to its branch head), applicable
   * with `git apply` at the base. JSON with the git facts, or the bare diff for `Accept: text/x-diff`.
   */
  router.get('/:id/patch', async (req, res) => {
    const workflowId = pathParam(workflowIdSchema, req.params.id);
    const { result } = await jobResult(gateway, cfg, workflowId, callerOf(res).tenant);
    const git = result.git;
    if (!git?.patch)
      throw new HttpError(404, 'NoPatch', 'The job worked on no repository, so it has no patch.', { workflowId });
    const patch = await artifactStore().getText(git.patch);
    if (req.accepts(['application/json', 'text/x-diff']) === 'text/x-diff') {
      res.type('text/x-diff').send(patch);
      return;
    }
    const { patch: _ref, ...facts } = git;
    res.json({ workflowId, ...facts, patch });
  });

  return router;
}
