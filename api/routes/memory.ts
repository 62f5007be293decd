import { createHash, randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../../common/config';
import { FAILURES, isFailureType } from '../../common/failures';
import { HttpError } from '../errors';
import { taskQueues } from '../../temporal/task-queues';
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
  type SearchMemoryResult,
  type StoreMemoryInput,
  type StoreMemoryResult,
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
  project,
  batchSize: z.coerce.number().int().min(1).max(1_000).optional(),
});

const indexIdSchema = z.string().regex(/^[\w.:@/-]{1,250}$/, 'a project name or an indexing workflow id');

interface MemoryRouterDeps {
  client: Client;
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
  if (!(err instanceof WorkflowFailedError)) return err;
  let cause: unknown = err.cause;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
  if (cause instanceof ApplicationFailure && isFailureType(cause.type)) {
    return new HttpError(FAILURES[cause.type].httpStatus, cause.type, cause.message, {
      hint: FAILURES[cause.type].hint,
    });
  }
  return err;
}

/**
 * `/api/memory`: POST `/search` and POST `/` (store). Both run as short workflows on the memory
 * queue, so the embedded store stays owned by the memory worker. Bad bodies reach the error
 * middleware as ZodErrors (400).
 */
export function memoryRouter({ client, cfg }: MemoryRouterDeps): Router {
  const router = Router();
  const taskQueue = taskQueues(cfg.TEMPORAL_TASK_QUEUE_PREFIX).workflows;

  router.post(
    '/search',
    route(async (req, res) => {
      const input: SearchMemoryInput = searchMemorySchema.parse(req.body);
      const result = (await client.workflow.execute(SEARCH_MEMORY_WORKFLOW, {
        taskQueue,
        workflowId: `memory-search:${randomUUID()}`,
        args: [input],
      })) as SearchMemoryResult;
      res.json(result);
    }),
  );

  router.post(
    '/',
    route(async (req, res) => {
      const input: StoreMemoryInput = storeMemorySchema.parse(req.body);
      // A business id from the content: a client retrying the same store starts nothing new.
      const digest = createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 32);
      const result = (await client.workflow.execute(STORE_MEMORY_WORKFLOW, {
        taskQueue,
        workflowId: `memory-store:${digest}`,
        workflowIdConflictPolicy: 'USE_EXISTING',
        args: [input],
      })) as StoreMemoryResult;
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
export function indexRouter({ client, cfg }: MemoryRouterDeps): Router {
  const router = Router();
  const taskQueue = taskQueues(cfg.TEMPORAL_TASK_QUEUE_PREFIX).workflows;

  router.post(
    '/',
    route(async (req, res) => {
      const body = startIndexSchema.parse(req.body);
      const input: IndexRepositoryInput = { repoPath: body.path, project: body.project, batchSize: body.batchSize };
      const handle = await client.workflow.start(INDEX_REPOSITORY_WORKFLOW, {
        taskQueue,
        workflowId: indexWorkflowId(body.project),
        args: [input],
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
      const id = indexIdSchema.parse(req.params.id);
      const workflowId = id.startsWith(indexWorkflowId('')) ? id : indexWorkflowId(id);
      const handle = client.workflow.getHandle(workflowId);
      const [description, progress] = await Promise.all([handle.describe(), handle.query(indexProgressQuery)]);
      res.json({ workflowId, status: description.status.name, progress });
    }),
  );

  return router;
}
