import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { assistSchema } from './routes/assist';
import { eventsQuerySchema } from './routes/job-events';
import { searchMemorySchema, startIndexSchema, storeMemorySchema } from './routes/memory';
import { createScheduleSchema, noteBodySchema } from './routes/schedules';
import * as r from './responses';
import { approveSchema, changesSchema, retrySchema, startJobSchema, workflowIdSchema } from './validation';

/**
 * The API's OpenAPI 3.1 description, generated from the zod schemas that validate the requests
 * (api/validation.ts and the routes) and from those of the answers (api/responses.ts): one source of
 * truth, served at `/openapi.json` and rendered at `/docs`.
 */

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => json(r.errorBody, description);
const body = (schema: z.ZodType) => ({ body: { required: true, content: { 'application/json': { schema } } } });

const jobId = z.object({ id: workflowIdSchema.meta({ description: 'The job id (workflowId), e.g. job-acme.r-42.' }) });
const scheduleId = z.object({ id: z.string().meta({ description: 'The schedule id.' }) });
const indexId = z.object({ id: z.string().meta({ description: 'A project name or an indexing workflow id.' }) });

const commonErrors = {
  401: error('No key, or a wrong one (Authorization: Bearer <key>).'),
  415: error('A body that is not JSON (UnsupportedMediaType): send Content-Type: application/json.'),
  503: error('Temporal is unreachable.'),
};
const jobErrors = { ...commonErrors, 404: error('No such job (or another tenant’s).') };

function routes(): (RouteConfig & { public?: boolean })[] {
  return [
    {
      method: 'get',
      path: '/health',
      tags: ['operations'],
      summary: 'Liveness: the process answers.',
      public: true,
      responses: { 200: json(r.health, 'Alive.') },
    },
    {
      method: 'get',
      path: '/ready',
      tags: ['operations'],
      summary: 'Readiness: Temporal answers (and every required dependency). Details with a valid key only.',
      public: true,
      responses: { 200: json(r.readiness, 'Ready or degraded.'), 503: json(r.readiness, 'Not ready.') },
    },
    {
      method: 'get',
      path: '/metrics',
      tags: ['operations'],
      summary: 'Prometheus metrics of the API process.',
      public: true,
      responses: { 200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: z.string() } } } },
    },
    {
      method: 'post',
      path: '/api/workflows',
      tags: ['jobs'],
      summary: 'Start a coding job.',
      description:
        'Starts the lifecycle (generate, write tests, run tests, review, refactor) as a durable workflow. ' +
        'The same `requestId` with the same body answers the job it started (200).',
      request: body(startJobSchema.meta({ id: 'StartJobRequest' })),
      responses: {
        202: json(r.jobStarted, 'Started.'),
        200: json(r.jobStarted, 'This requestId already started this job.'),
        400: error('Invalid body: `details.fields` names each field.'),
        409: error('This requestId was used with another body (IdempotencyConflict).'),
        413: error('Body over API_BODY_LIMIT.'),
        429: error('Over the tenant’s quota (Retry-After set).'),
        ...commonErrors,
      },
    },
    {
      method: 'get',
      path: '/api/workflows/{id}',
      tags: ['jobs'],
      summary: 'A job’s status: phase, iteration, last tests, usage, links.',
      request: { params: jobId },
      responses: { 200: json(r.jobStatus, 'The status.'), ...jobErrors },
    },
    {
      method: 'get',
      path: '/api/workflows/{id}/result',
      tags: ['jobs'],
      summary: 'A finished job’s result; with `wait`, a long poll.',
      request: {
        params: jobId,
        query: z.object({
          wait: z.string().optional().meta({ description: 'Milliseconds to wait (at most API_WAIT_TIMEOUT_MS).' }),
        }),
      },
      responses: {
        200: json(r.jobResult, 'The result.'),
        409: error('Still running (JobNotFinished), cancelled or terminated.'),
        default: error('The job failed: `error.code` is its failure type, the status that type’s (422, 424…).'),
        ...jobErrors,
      },
    },
    {
      method: 'get',
      path: '/api/workflows/{id}/events',
      tags: ['jobs'],
      summary: 'The job’s progress as Server-Sent Events.',
      description:
        '`status` events (the shape of GET /api/workflows/{id}) at each change, `chunk` events with the ' +
        "model's tokens when `tokens=true` (`after` resumes after a piece), then one `done` event. " +
        '`error` (StreamExpired) after ' +
        'API_SSE_MAX_LIFETIME_MS.',
      request: {
        params: jobId,
        query: eventsQuerySchema,
      },
      responses: {
        200: { description: 'An event stream.', content: { 'text/event-stream': { schema: z.string() } } },
        429: error('Too many streams open for this tenant.'),
        ...jobErrors,
      },
    },
    {
      method: 'post',
      path: '/api/workflows/{id}/cancel',
      tags: ['jobs'],
      summary: 'Cancel a running job.',
      request: { params: jobId },
      responses: { 202: json(r.jobCancelled, 'Cancellation requested.'), 409: error('Not running.'), ...jobErrors },
    },
    {
      method: 'post',
      path: '/api/workflows/{id}/retry',
      tags: ['jobs'],
      summary: 'Re-run a failed job from its last good step.',
      request: { params: jobId, ...body(retrySchema.meta({ id: 'RetryRequest' })) },
      responses: { 202: json(r.jobRetried, 'Retried.'), 409: error('Not retryable.'), ...jobErrors },
    },
    {
      method: 'post',
      path: '/api/workflows/{id}/approve',
      tags: ['jobs'],
      summary: 'Approve a job waiting at its approval gate.',
      request: { params: jobId, ...body(approveSchema.meta({ id: 'ApproveRequest' })) },
      responses: { 200: json(r.gateDecision, 'Approved.'), 409: error('Not awaiting approval.'), ...jobErrors },
    },
    {
      method: 'post',
      path: '/api/workflows/{id}/request-changes',
      tags: ['jobs'],
      summary: 'Send a job at its approval gate back with feedback.',
      request: { params: jobId, ...body(changesSchema.meta({ id: 'RequestChangesRequest' })) },
      responses: {
        200: json(r.gateDecision, 'Sent back.'),
        409: error('Not awaiting approval.'),
        ...jobErrors,
      },
    },
    {
      method: 'get',
      path: '/api/workflows/{id}/files',
      tags: ['jobs'],
      summary: 'A finished job’s files, inline.',
      request: { params: jobId },
      responses: {
        200: json(r.jobFiles, 'The files.'),
        409: error('Still running.'),
        default: error('The job failed, or made no files (404 NoFiles).'),
        ...jobErrors,
      },
    },
    {
      method: 'post',
      path: '/api/coding/assist',
      tags: ['jobs'],
      summary: 'A request in plain words: the task kind and language are read from the message.',
      request: body(assistSchema.meta({ id: 'AssistRequest' })),
      responses: {
        200: json(r.assistAnswer, 'The finished job’s answer.'),
        202: json(r.assistRunning, 'Started; still running.'),
        400: error('Invalid body.'),
        429: error('Over the tenant’s quota.'),
        ...commonErrors,
      },
    },
    {
      method: 'get',
      path: '/api/coding/assist/stream',
      tags: ['jobs'],
      summary: 'WebSocket: start a job (or follow one by id) and receive its tokens and phases live.',
      description:
        'Upgrade with `Authorization: Bearer <key>`. Send `{message, context?, files?, language?, project?, ' +
        'requestId?, options?}` to start a job, or `{jobId, after?}` to follow one (after a dropped socket). ' +
        'The server sends `{"type":"status",…}` at each phase change, `{"type":"chunk","content","id",' +
        '"purpose"}` as the model generates, then `{"type":"complete",…}` (the AssistAnswer) or ' +
        '`{"type":"error","code","message"}`, and closes.',
      responses: { 101: { description: 'Switching protocols.' }, 401: error('No key, or a wrong one.') },
    },
    {
      method: 'get',
      path: '/api/schedules',
      tags: ['schedules'],
      summary: 'The tenant’s review schedules (admin).',
      responses: {
        200: json(r.looseObject('ScheduleList', 'Schedules.', { schedules: z.array(z.unknown()) }), 'The list.'),
        ...commonErrors,
      },
    },
    {
      method: 'post',
      path: '/api/schedules',
      tags: ['schedules'],
      summary: 'Create a scheduled review of a repository (admin).',
      request: body(createScheduleSchema.meta({ id: 'CreateScheduleRequest' })),
      responses: {
        201: json(r.looseObject('ScheduleCreated', 'The new schedule.', { scheduleId: z.string() }), 'Created.'),
        400: error('Invalid body.'),
        403: error('Not an admin, or a path outside SOPHIA_REPO_ROOTS.'),
        409: error('A schedule with this id exists.'),
        ...commonErrors,
      },
    },
    ...(['', '/pause', '/unpause'] as const).map((suffix): RouteConfig => ({
      method: suffix ? 'post' : 'get',
      path: `/api/schedules/{id}${suffix}`,
      tags: ['schedules'],
      summary: suffix ? `${suffix.slice(1)} a schedule (admin).` : 'A schedule (admin).',
      request: { params: scheduleId, ...(suffix ? body(noteBodySchema.meta({ id: 'ScheduleNoteRequest' })) : {}) },
      responses: {
        200: json(r.looseObject('Schedule', 'A schedule.', { scheduleId: z.string() }), 'The schedule.'),
        404: error('No such schedule.'),
        ...commonErrors,
      },
    })),
    {
      method: 'post',
      path: '/api/schedules/{id}/trigger',
      tags: ['schedules'],
      summary: 'Run a schedule now (admin).',
      request: { params: scheduleId },
      responses: {
        202: json(r.looseObject('ScheduleTriggered', 'Triggered.', { scheduleId: z.string() }), 'Triggered.'),
        404: error('No such schedule.'),
        ...commonErrors,
      },
    },
    {
      method: 'delete',
      path: '/api/schedules/{id}',
      tags: ['schedules'],
      summary: 'Delete a schedule (admin).',
      request: { params: scheduleId },
      responses: { 204: { description: 'Deleted.' }, 404: error('No such schedule.'), ...commonErrors },
    },
    {
      method: 'get',
      path: '/api/schedules/{id}/latest',
      tags: ['schedules'],
      summary: 'The latest run of a schedule and its result (admin).',
      request: { params: scheduleId },
      responses: {
        200: json(r.looseObject('ScheduleRun', 'The latest run.', { scheduleId: z.string() }), 'The run.'),
        404: error('No such schedule, or no run yet.'),
        ...commonErrors,
      },
    },
    {
      method: 'post',
      path: '/api/memory/search',
      tags: ['memory'],
      summary: 'Search the tenant’s memory.',
      request: body(searchMemorySchema.meta({ id: 'SearchMemoryRequest' })),
      responses: {
        200: json(r.looseObject('MemoryHits', 'Hits, best first.'), 'The hits.'),
        400: error('Invalid body.'),
        ...commonErrors,
      },
    },
    {
      method: 'post',
      path: '/api/memory',
      tags: ['memory'],
      summary: 'Store one memory item, or `{items: […]}`.',
      request: body(storeMemorySchema.meta({ id: 'StoreMemoryRequest' })),
      responses: {
        201: json(r.looseObject('MemoryStored', 'The stored ids.'), 'Stored.'),
        400: error('Invalid body.'),
        ...commonErrors,
      },
    },
    {
      method: 'post',
      path: '/api/index',
      tags: ['memory'],
      summary: 'Index a repository into memory (admin).',
      request: body(startIndexSchema.meta({ id: 'StartIndexRequest' })),
      responses: {
        202: json(
          r.looseObject('IndexStarted', 'The indexing workflow.', { workflowId: z.string(), runId: z.string() }),
          'Started.',
        ),
        400: error('Invalid body.'),
        403: error('Not an admin, or a path outside SOPHIA_REPO_ROOTS.'),
        ...commonErrors,
      },
    },
    {
      method: 'get',
      path: '/api/index/{id}',
      tags: ['memory'],
      summary: 'An indexing run’s progress (admin).',
      request: { params: indexId },
      responses: {
        200: json(
          r.looseObject('IndexProgress', 'Progress.', { workflowId: z.string(), status: z.string() }),
          'Progress.',
        ),
        404: error('No such indexing run.'),
        ...commonErrors,
      },
    },
  ];
}

let cached: ReturnType<OpenApiGeneratorV31['generateDocument']> | undefined;

/** The OpenAPI 3.1 document (built once per process). */
export function openApiDocument(version = '0.1.0') {
  if (cached) return cached;
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'A key from API_KEYS / API_KEYS_FILE, or an OIDC JWT. Not needed on an API without keys.',
  });
  for (const { public: isPublic, ...route } of routes()) {
    registry.registerPath({ ...route, security: isPublic ? [] : [{ [bearer.name]: [] }] });
  }
  cached = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Sophia Code API',
      version,
      description:
        'A durable AI coding service: each job is a Temporal workflow that generates, tests, reviews and ' +
        'refactors code. Every error answers `{"error":{"code","message","details"}}`.',
    },
    tags: [
      { name: 'jobs', description: 'Coding jobs: start, follow, approve, retry, cancel.' },
      { name: 'schedules', description: 'Scheduled repository reviews.' },
      { name: 'memory', description: 'The tenant’s memory and repository indexing.' },
      { name: 'operations', description: 'Health, readiness and metrics.' },
    ],
  });
  return cached;
}
