import { randomUUID } from 'node:crypto';
import path from 'node:path';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowFailedError,
  type Client,
  type ScheduleDescription,
  type ScheduleExecutionResult,
  type ScheduleHandle,
  type ScheduleSpec,
} from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../common/config';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import { taskQueues } from '../../temporal/task-queues';
import {
  REVIEW_LANGUAGES,
  REVIEW_TASK_KIND,
  SCHEDULED_REVIEW_WORKFLOW_TYPE,
  scheduledReviewWorkflowId,
  type ScheduledReviewInput,
  type ScheduledReviewResult,
} from '../../workflows/scheduled-review/definitions';
import { callerOf } from '../auth';
import { HttpError, jobFailureToHttp } from '../errors';
import type { TemporalGateway } from '../temporal-gateway';
import { codacyRepositorySchema, repositorySchema } from '../validation';
import { checkRepositoryPath } from './memory';
import { checkRepository } from './workflows';

/** Reviews run daily unless the request says otherwise. */
export const DEFAULT_REVIEW_INTERVAL_SECONDS = 24 * 3600;

/**
 * A review stuck on a dead dependency would, under the SKIP overlap policy, block every later run;
 * a run timeout bounds that. Far above a normal review (seconds to minutes).
 */
const REVIEW_RUN_TIMEOUT = '1 hour';

/**
 * Runs missed while Temporal was down are worth one catch-up review when it returns, not a
 * backlog: with SKIP, everything inside the window collapses into a single run anyway.
 */
const CATCHUP_WINDOW = '1 hour';

const scheduleIdSchema = z.string().regex(/^[\w.-]{1,100}$/, 'letters, digits, dot, dash and underscore (at most 100)');

const note = z.string().trim().max(500).optional();

/** The shortest interval a schedule may run at, whatever form it is given in. */
export const MIN_INTERVAL_SECONDS = 10;

const GO_DURATION_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Seconds of a Go duration (`90s`, `1h30m`), as Temporal's `@every` takes it; undefined when malformed. */
export function goDurationSeconds(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * GO_DURATION_UNITS[unit!]!, 0);
}

/**
 * Standard cron (5 fields, optionally seconds and year) or a `@daily`-style shorthand; Temporal checks
 * the rest. Neither `@every` nor a seconds field may fire more often than every MIN_INTERVAL_SECONDS.
 */
const cronSchema = z
  .string()
  .trim()
  .max(200)
  .regex(
    /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly|every\s+\S+)|(\S+\s+){4,6}\S+)$/,
    'a cron expression such as "0 3 * * *" or "@daily"',
  )
  .refine((cron) => {
    const every = /^@every\s+(\S+)$/.exec(cron);
    if (every) {
      const seconds = goDurationSeconds(every[1]!);
      return seconds !== undefined && seconds >= MIN_INTERVAL_SECONDS;
    }
    const fields = cron.split(/\s+/);
    // Six or seven fields start with seconds: only a fixed second (at most once a minute) is allowed.
    return fields.length < 6 || /^\d{1,2}$/.test(fields[0]!);
  }, `runs at most every ${MIN_INTERVAL_SECONDS} seconds (@every needs a Go duration such as 30m)`);

export const createScheduleSchema = z
  .object({
    scheduleId: scheduleIdSchema.optional(),
    repositoryPath: z
      .string()
      .min(1)
      .max(4096)
      .refine((p) => path.posix.isAbsolute(p) && !p.includes('\0'), 'an absolute path on the sandbox worker')
      .optional(),
    /** A git repository instead of a path: each tick fetches `ref` and reviews its new head. */
    repository: repositorySchema.optional(),
    /** Post each review through the forge: a comment on `issue`, or a new issue without one. */
    post: z
      .object({ issue: z.number().int().min(1).optional() })
      .strict()
      .optional(),
    language: z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(REVIEW_LANGUAGES)),
    project: z
      .string()
      .regex(/^[\w.-]{1,100}$/, 'letters, digits, dot, dash and underscore')
      .optional(),
    cron: cronSchema.optional(),
    intervalSeconds: z
      .number()
      .int()
      .min(10)
      .max(366 * 24 * 3600)
      .optional(),
    runTests: z.boolean().optional(),
    codacy: codacyRepositorySchema.optional(),
    paused: z.boolean().optional(),
    note,
  })
  .strict()
  .refine((b) => b.cron === undefined || b.intervalSeconds === undefined, {
    message: 'give either cron or intervalSeconds, not both',
    path: ['cron'],
  })
  .refine((b) => (b.repositoryPath === undefined) !== (b.repository === undefined), {
    message: 'give either repositoryPath or repository, exactly one',
    path: ['repositoryPath'],
  })
  .refine((b) => b.post === undefined || b.repository !== undefined, {
    message: 'posting a review needs a repository on a forge',
    path: ['post'],
  });
export type CreateScheduleBody = z.infer<typeof createScheduleSchema>;

export const noteBodySchema = z.object({ note }).strict();

/** What the API keeps on the schedule (its memo), so a list needs no describe per schedule. */
interface ReviewScheduleMemo {
  /** The tenant the schedule belongs to; absent on schedules made before tenancy. */
  tenant?: string;
  repositoryPath: string;
  language: string;
  project: string;
  runTests: boolean;
  taskQueue: string;
  cron?: string;
  intervalSeconds?: number;
}

function defaultScheduleId(repositoryPath: string): string {
  const base =
    path.posix
      .basename(repositoryPath)
      .replace(/[^\w.-]+/g, '-')
      .slice(0, 60) || 'repository';
  return `${base}-${randomUUID().slice(0, 8)}`;
}

function scheduleLinks(cfg: Config, scheduleId: string) {
  const id = encodeURIComponent(scheduleId);
  return {
    self: `/api/schedules/${id}`,
    latest: `/api/schedules/${id}/latest`,
    ui: `${cfg.TEMPORAL_UI_URL.replace(/\/$/, '')}/namespaces/${encodeURIComponent(cfg.TEMPORAL_NAMESPACE)}/schedules/${id}`,
  };
}

/** Schedule errors in the API's shape: unknown → 404, duplicate → 409, a spec Temporal rejects → 400. */
function scheduleError(err: unknown, scheduleId: string): unknown {
  if (err instanceof ScheduleNotFoundError) {
    return new HttpError(404, 'ScheduleNotFound', `There is no review schedule ${scheduleId}.`, { scheduleId });
  }
  if (err instanceof ScheduleAlreadyRunning) {
    return new HttpError(409, 'ScheduleExists', `A schedule with id ${scheduleId} already exists.`, { scheduleId });
  }
  // The client turns "Invalid schedule spec" into a TypeError; nothing else in these calls throws one.
  if (err instanceof TypeError) {
    return new HttpError(400, 'InvalidInput', 'The request is invalid.', {
      fields: [{ path: 'cron', message: err.message }],
    });
  }
  return err;
}

function runsOf(actions: ScheduleExecutionResult[]) {
  return actions.map((a) => ({
    workflowId: a.action.workflow.workflowId,
    runId: a.action.workflow.firstExecutionRunId,
    scheduledAt: a.scheduledAt.toISOString(),
    startedAt: a.takenAt.toISOString(),
  }));
}

function memoOf(memo: Record<string, unknown> | undefined): Partial<ReviewScheduleMemo> {
  return (memo ?? {}) as Partial<ReviewScheduleMemo>;
}

/**
 * Temporal's id of a tenant's schedule: the tenant, then the id the tenant chose (tenants have no
 * `:`), so two tenants may each have a `nightly`.
 */
export const internalScheduleId = (tenant: string, scheduleId: string) => `${tenant}:${scheduleId}`;
const externalScheduleId = (internal: string) => internal.slice(internal.indexOf(':') + 1);

/** The describe answer: what the schedule reviews, when, its state and its recent and next runs. */
function scheduleView(cfg: Config, d: ScheduleDescription) {
  const memo = memoOf(d.memo);
  return {
    scheduleId: externalScheduleId(d.scheduleId),
    repositoryPath: memo.repositoryPath,
    language: memo.language,
    project: memo.project,
    runTests: memo.runTests ?? false,
    cron: memo.cron,
    intervalSeconds: memo.intervalSeconds,
    workflowType: d.action.workflowType,
    taskQueue: d.action.taskQueue,
    overlap: d.policies.overlap,
    catchupWindowMs: d.policies.catchupWindow,
    paused: d.state.paused,
    note: d.state.note,
    nextRunTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns: runsOf(d.info.recentActions),
    runningRuns: d.info.runningActions.map((a) => ({
      workflowId: a.workflow.workflowId,
      runId: a.workflow.firstExecutionRunId,
    })),
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    createdAt: d.info.createdAt.toISOString(),
    updatedAt: d.info.lastUpdatedAt?.toISOString() ?? null,
    links: scheduleLinks(cfg, externalScheduleId(d.scheduleId)),
  };
}

export function schedulesRouter(deps: { gateway: TemporalGateway; cfg: Config }): Router {
  const { gateway, cfg } = deps;
  const router = Router();
  const workflowQueue = taskQueues(cfg.TEMPORAL_TASK_QUEUE_PREFIX).workflows;

  /** Runs a schedule call through the gateway and maps its errors. */
  const onSchedule = async <T>(scheduleId: string, fn: (client: Client) => Promise<T>): Promise<T> => {
    try {
      return await gateway.call(fn);
    } catch (err) {
      throw scheduleError(err, scheduleId);
    }
  };

  /**
   * The handle and description of one of this deployment's review schedules. Any other schedule
   * in the namespace (another workflow type, another deployment's task queues) is a 404 here, so
   * this API never pauses or deletes what it does not own.
   */
  const reviewSchedule = async (
    rawId: unknown,
    tenant: string,
  ): Promise<{ handle: ScheduleHandle; description: ScheduleDescription; scheduleId: string }> => {
    const scheduleId = scheduleIdSchema.parse(rawId);
    const handle = await gateway.call(async (client) =>
      client.schedule.getHandle(internalScheduleId(tenant, scheduleId)),
    );
    const description = await onSchedule(scheduleId, () => handle.describe());
    if (
      description.action.workflowType !== SCHEDULED_REVIEW_WORKFLOW_TYPE ||
      description.action.taskQueue !== workflowQueue ||
      memoOf(description.memo).tenant !== tenant
    ) {
      throw scheduleError(new ScheduleNotFoundError('not a review schedule', scheduleId), scheduleId);
    }
    return { handle, description, scheduleId };
  };

  router.post('/', async (req, res) => {
    const body = createScheduleSchema.parse(req.body ?? {});
    if (body.repositoryPath) await checkRepositoryPath(body.repositoryPath, cfg, 'repositoryPath');
    if (body.repository) checkRepository(body.repository, cfg, body.post !== undefined);
    const reviewed = body.repositoryPath ?? body.repository!.url;
    const tenant = callerOf(res).tenant;
    const scheduleId = body.scheduleId ?? defaultScheduleId(reviewed.replace(/\.git$/, ''));
    const internalId = internalScheduleId(tenant, scheduleId);
    const project = body.project ?? 'default';
    const input: ScheduledReviewInput = {
      repositoryPath: reviewed,
      ...(body.repository ? { repository: body.repository } : {}),
      ...(body.post ? { post: body.post } : {}),
      language: body.language,
      project,
      runTests: body.runTests ?? false,
      scheduleId: internalId,
      tenant,
      ...(body.codacy ? { codacy: body.codacy } : {}),
    };
    const spec: ScheduleSpec = body.cron
      ? { cronExpressions: [body.cron] }
      : { intervals: [{ every: `${body.intervalSeconds ?? DEFAULT_REVIEW_INTERVAL_SECONDS}s` }] };
    const memo: ReviewScheduleMemo = {
      tenant,
      repositoryPath: reviewed,
      language: body.language,
      project,
      runTests: input.runTests ?? false,
      taskQueue: workflowQueue,
      ...(body.cron
        ? { cron: body.cron }
        : { intervalSeconds: body.intervalSeconds ?? DEFAULT_REVIEW_INTERVAL_SECONDS }),
    };
    await onSchedule(scheduleId, (client) =>
      client.schedule.create({
        scheduleId: internalId,
        spec,
        action: {
          type: 'startWorkflow',
          workflowType: SCHEDULED_REVIEW_WORKFLOW_TYPE,
          // Temporal appends the scheduled time, so every run has its own business id.
          workflowId: scheduledReviewWorkflowId(internalId),
          taskQueue: workflowQueue,
          args: [input],
          workflowRunTimeout: REVIEW_RUN_TIMEOUT,
          staticSummary: `Scheduled review of ${reviewed} (${body.language})`,
          typedSearchAttributes: [
            { key: SEARCH_ATTRIBUTES.taskKind, value: REVIEW_TASK_KIND },
            { key: SEARCH_ATTRIBUTES.project, value: project },
            { key: SEARCH_ATTRIBUTES.language, value: body.language },
            { key: SEARCH_ATTRIBUTES.tenant, value: tenant },
          ],
        },
        policies: {
          // Two runs of one schedule at once would race on the baseline and compare against a
          // half-finished review; a review that is still running already covers the next tick.
          overlap: ScheduleOverlapPolicy.SKIP,
          catchupWindow: CATCHUP_WINDOW,
        },
        memo: { ...memo },
        state: { paused: body.paused ?? false, note: body.note },
      }),
    );
    res.status(201).json({ scheduleId, paused: body.paused ?? false, links: scheduleLinks(cfg, scheduleId) });
  });

  router.get('/', async (_req, res) => {
    const tenant = callerOf(res).tenant;
    const schedules = await gateway.call(async (client) => {
      const out = [];
      for await (const s of client.schedule.list()) {
        const memo = memoOf(s.memo);
        if (s.action?.workflowType !== SCHEDULED_REVIEW_WORKFLOW_TYPE || memo.taskQueue !== workflowQueue) continue;
        if (memo.tenant !== tenant) continue;
        const scheduleId = externalScheduleId(s.scheduleId);
        out.push({
          scheduleId,
          repositoryPath: memo.repositoryPath,
          language: memo.language,
          project: memo.project,
          cron: memo.cron,
          intervalSeconds: memo.intervalSeconds,
          paused: s.state.paused,
          note: s.state.note,
          nextRunTimes: s.info.nextActionTimes.map((t) => t.toISOString()),
          recentRuns: runsOf(s.info.recentActions),
          links: scheduleLinks(cfg, scheduleId),
        });
      }
      return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
    }, 15_000);
    res.json({ schedules });
  });

  router.get('/:id', async (req, res) => {
    const { description } = await reviewSchedule(req.params.id, callerOf(res).tenant);
    res.json(scheduleView(cfg, description));
  });

  router.post('/:id/pause', async (req, res) => {
    const body = noteBodySchema.parse(req.body ?? {});
    const { handle, scheduleId } = await reviewSchedule(req.params.id, callerOf(res).tenant);
    await onSchedule(scheduleId, () => handle.pause(body.note ?? 'Paused through the API'));
    res.json(scheduleView(cfg, await onSchedule(scheduleId, () => handle.describe())));
  });

  router.post('/:id/unpause', async (req, res) => {
    const body = noteBodySchema.parse(req.body ?? {});
    const { handle, scheduleId } = await reviewSchedule(req.params.id, callerOf(res).tenant);
    await onSchedule(scheduleId, () => handle.unpause(body.note ?? 'Unpaused through the API'));
    res.json(scheduleView(cfg, await onSchedule(scheduleId, () => handle.describe())));
  });

  router.post('/:id/trigger', async (req, res) => {
    const { handle, scheduleId } = await reviewSchedule(req.params.id, callerOf(res).tenant);
    // trigger() defaults to ALLOW_ALL; a manual run must respect the same no-overlap rule as the timer.
    await onSchedule(scheduleId, () => handle.trigger(ScheduleOverlapPolicy.SKIP));
    res.status(202).json({ scheduleId, triggered: true, links: scheduleLinks(cfg, scheduleId) });
  });

  router.delete('/:id', async (req, res) => {
    const { handle, scheduleId } = await reviewSchedule(req.params.id, callerOf(res).tenant);
    await onSchedule(scheduleId, () => handle.delete());
    res.status(204).end();
  });

  /**
   * The newest finished review among the schedule's recent runs: its comparison when it completed,
   * its typed failure when it failed. 409 while no run has finished yet.
   */
  router.get('/:id/latest', async (req, res) => {
    const { description } = await reviewSchedule(req.params.id, callerOf(res).tenant);
    const running: { workflowId: string; runId: string }[] = [];
    for (const run of runsOf(description.info.recentActions).reverse()) {
      const handle = await gateway.call(async (client) => client.workflow.getHandle(run.workflowId, run.runId));
      const status = (await gateway.call(() => handle.describe())).status.name;
      if (status === 'RUNNING') {
        running.push({ workflowId: run.workflowId, runId: run.runId });
        continue;
      }
      try {
        const result = (await gateway.call(() => handle.result())) as ScheduledReviewResult;
        res.json({ scheduleId: externalScheduleId(description.scheduleId), ...run, status, result, running });
      } catch (err) {
        if (!(err instanceof WorkflowFailedError)) throw err;
        const failure = jobFailureToHttp(err, run.workflowId);
        res.json({
          scheduleId: externalScheduleId(description.scheduleId),
          ...run,
          status,
          error: { code: failure.code, message: failure.message, details: failure.details },
          running,
        });
      }
      return;
    }
    throw new HttpError(409, 'ReviewNotReady', 'No review of this schedule has finished yet.', {
      scheduleId: externalScheduleId(description.scheduleId),
      running,
    });
  });

  return router;
}
