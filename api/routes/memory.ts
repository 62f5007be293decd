import { createHash, randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../../common/config';
import { parseRepoRoots, resolveRepoPath } from '../../common/repo-roots';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import { callerOf } from '../auth';
import { catalogueHttpError, HttpError, jobFailureToHttp, toHttpError } from '../errors';
import { tenantOf } from '../tenancy';
import { pathParam } from '../validation';
import { taskQueues } from '../../temporal/task-queues';
import type { indexRepositoryWorkflow } from '../../workflows/index-repository/workflow';
import type { searchMemoryWorkflow, storeMemoryWorkflow } from '../../workflows/memory/workflow';
import {
  INDEX_REPOSITORY_WORKFLOW,
  indexProgressQuery,
  indexWorkflowId,
  type IndexRepositoryInput,
} from '../../workflows/index-repository/definitions';
import {
  MEMORY_COLLECTION_NAMES,
  SEARCH_MEMORY_WORKFLOW,
  STORE_MEMORY_WORKFLOW,
  type SearchMemoryInput,
  type StoreMemoryInput,
} from '../../workflows/memory/definitions';

const project = z.string().trim().min(1).max(200);
const collection = z.enum(MEMORY_COLLECTION_NAMES);
const tags = z.array(z.string().min(1).max(100)).max(20);

export const searchMemorySchema = z.object({
  query: z.string().trim().min(1).max(20_000),
  collections: z.array(collection).optional(),
  project: project.optional(),
  language: z.string().min(1).max(50).optional(),
  tags: tags.optional(),
  survived: z.boolean().optional(),
  topK: z.coerce.number().int().min(1).max(50).optional(),
  minScore: z.number().min(-1).max(1).optional(),
  tokenBudget: z.coerce.number().int().min(1).max(100_000).optional(),
});

const memoryItemSchema = z.object({
  collection,
  project,
  text: z.string().min(1).max(200_000),
  language: z.string().min(1).max(50).optional(),
  tags: tags.optional(),
  survived: z.boolean().optional(),
  metadata: z.record(z.string(), z.union([z.string().max(2_000), z.number(), z.boolean()])).optional(),
});

/** One item, or `{ items: [...] }`. */
export const storeMemorySchema = z.union([
  z.object({ items: z.array(memoryItemSchema).min(1).max(100) }),
  memoryItemSchema.transform((item) => ({ items: [item] })),
]);

export const startIndexSchema = z.object({
  path: z
    .string()
    .min(1)
    .max(4_096)
    .refine((p) => p.startsWith('/'), 'an absolute path on the memory worker'),
  project: z.string().regex(/^[\w.@-]{1,100}$/, 'letters, digits and . _ @ - (at most 100)'),
  batchSize: z.coerce.number().int().min(1).max(1_000).optional(),
});

/**
 * Refuses a repository path outside SOPHIA_REPO_ROOTS (403) or malformed (400), before anything is
 * started. A path the API cannot see (the memory worker has its own disk) is left to the worker,
 * which checks it again with its realpath.
 */
export async function checkRepositoryPath(given: string, cfg: Config, field: string): Promise<void> {
  const resolved = await resolveRepoPath(given, parseRepoRoots(cfg.SOPHIA_REPO_ROOTS));
  if (!('refusal' in resolved)) return;
  const { type, message } = resolved.refusal;
  throw catalogueHttpError(type, message, { fields: [{ path: field, message }] });
}

const indexIdSchema = z.string().regex(/^[\w.:@/-]{1,250}$/, 'a project name or an indexing workflow id');

interface MemoryRouterDeps {
  /** A connected client, or a way to get one (the API's gateway: 503 while Temporal is down). */
  client: Client | { get(): Promise<Client> };
  cfg: Config;
}

type Handler = (req: Request, res: Response) => Promise<void>;

/**
 * Forwards errors to the error middleware: ZodErrors as they are (400), and a memory workflow that
 * failed with a catalogue type as that type's HTTP status (EmbedderMismatch → 409, RepositoryInvalid → 400…).
 */
function route(handler: Handler) {
  return (req: Request, res: Response, next: NextFunction): void => {
    handler(req, res).catch((err: unknown) => next(catalogueError(err)));
  };
}

function catalogueError(err: unknown): unknown {
  return err instanceof WorkflowFailedError ? jobFailureToHttp(err) : err;
}

/**
 * `/api/memory`: POST `/search` and POST `/` (store). Both run as short workflows on the memory
 * queue, so the embedded store stays owned by the memory worker. Bad bodies reach the error
 * middleware as ZodErrors (400).
 */
const clientOf = (deps: MemoryRouterDeps): Promise<Client> =>
  'workflow' in deps.client ? Promise.resolve(deps.client) : deps.client.get();

export function memoryRouter(deps: MemoryRouterDeps): Router {
  const { cfg } = deps;
  const router = Router();
  const taskQueue = taskQueues(cfg.TEMPORAL_TASK_QUEUE_PREFIX).workflows;

  router.post(
    '/search',
    route(async (req, res) => {
      const tenant = callerOf(res).tenant;
      // Only the caller's tenant is ever searched, whatever the body says.
      const input: SearchMemoryInput = { ...searchMemorySchema.parse(req.body), tenant };
      const client = await clientOf(deps);
      const result = await client.workflow.execute<typeof searchMemoryWorkflow>(SEARCH_MEMORY_WORKFLOW, {
        taskQueue,
        workflowId: `memory-search:${tenant}:${randomUUID()}`,
        args: [input],
        typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.tenant, value: tenant }],
      });
      res.json(result);
    }),
  );

  router.post(
    '/',
    route(async (req, res) => {
      const tenant = callerOf(res).tenant;
      const input: StoreMemoryInput = { ...storeMemorySchema.parse(req.body), tenant };
      // A business id from the tenant and the content: a client retrying the same store starts nothing new.
      const digest = createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 32);
      const client = await clientOf(deps);
      const result = await client.workflow.execute<typeof storeMemoryWorkflow>(STORE_MEMORY_WORKFLOW, {
        taskQueue,
        workflowId: `memory-store:${tenant}:${digest}`,
        workflowIdConflictPolicy: 'USE_EXISTING',
        args: [input],
        typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.tenant, value: tenant }],
      });
      res.status(201).json(result);
    }),
  );

  return router;
}

/**
 * `/api/index`: POST `/` starts indexing a repository (body `{ path, project }`; 202 with the workflow
 * id; 409 while the project is already being indexed), GET `/:id` answers its progress (`:id` is the
 * project or the workflow id).
 */
export function indexRouter(deps: MemoryRouterDeps): Router {
  const { cfg } = deps;
  const router = Router();
  const taskQueue = taskQueues(cfg.TEMPORAL_TASK_QUEUE_PREFIX).workflows;

  router.post(
    '/',
    route(async (req, res) => {
      const body = startIndexSchema.parse(req.body);
      await checkRepositoryPath(body.path, cfg, 'path');
      const tenant = callerOf(res).tenant;
      const input: IndexRepositoryInput = {
        repoPath: body.path,
        project: body.project,
        batchSize: body.batchSize,
        tenant,
      };
      const client = await clientOf(deps);
      const handle = await client.workflow.start<typeof indexRepositoryWorkflow>(INDEX_REPOSITORY_WORKFLOW, {
        taskQueue,
        workflowId: indexWorkflowId(body.project, tenant),
        args: [input],
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.tenant, value: tenant },
          { key: SEARCH_ATTRIBUTES.project, value: body.project },
        ],
      });
      res
        .status(202)
        .location(`/api/index/${encodeURIComponent(handle.workflowId)}`)
        .json({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId, project: body.project });
    }),
  );

  router.get(
    '/:id',
    route(async (req, res) => {
      const id = pathParam(indexIdSchema, req.params.id);
      const tenant = callerOf(res).tenant;
      const own = indexWorkflowId('', tenant);
      const workflowId = id.startsWith(own) ? id : indexWorkflowId(id, tenant);
      const client = await clientOf(deps);
      const handle = client.workflow.getHandle(workflowId);
      const notFound = new HttpError(404, 'IndexNotFound', `There is no indexing ${id}.`, { id });
      const description = await handle.describe().catch((err: unknown) => {
        throw toHttpError(err).status === 404 ? notFound : err;
      });
      if (tenantOf(description) !== tenant) throw notFound;
      const progress = await handle.query(indexProgressQuery);
      res.json({ workflowId, status: description.status.name, progress });
    }),
  );

  return router;
}
