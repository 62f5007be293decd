import { z } from 'zod';

/**
 * The shapes the API answers with, as zod schemas: the OpenAPI description (api/openapi.ts) is
 * generated from them, and the contract tests check real answers against that description. Objects
 * the API owns end to end are strict, so a field added to an answer without its description fails a test.
 */

export const errorBody = z
  .object({
    error: z
      .object({
        code: z.string().meta({ description: 'Stable: a failure type of the catalogue, or InvalidInput, NotFound…' }),
        message: z.string(),
        details: z
          .record(z.string(), z.unknown())
          .meta({ description: 'Field paths for InvalidInput (`fields`), a `hint`, `workflowId`…' }),
      })
      .strict(),
  })
  .strict()
  .meta({ id: 'Error', description: 'Every error, from every route: no stack, no secret.' });

export const jobLinks = z
  .object({
    self: z.string(),
    result: z.string(),
    ui: z.string().meta({ description: "The job's page in Temporal's Web UI." }),
    retry: z.string().optional().meta({ description: 'Present when the job failed, timed out or was terminated.' }),
  })
  .strict()
  .meta({ id: 'JobLinks' });

export const jobStarted = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    existing: z.boolean().meta({ description: 'True when the requestId had already started this job.' }),
    links: jobLinks,
  })
  .strict()
  .meta({ id: 'JobStarted' });

const usage = z
  .object({
    promptTokens: z.number(),
    completionTokens: z.number(),
    totalTokens: z.number(),
    costUsd: z.number(),
    cachedCalls: z.number(),
    pricing: z.enum(['configured', 'list', 'local', 'unpriced']).optional(),
  })
  .strict()
  .meta({ id: 'Usage' });

const testSummary = z
  .object({
    passed: z.number(),
    failed: z.number(),
    errors: z.number().optional(),
    skipped: z.number().optional(),
    summary: z.string().optional(),
  })
  .meta({ id: 'TestSummary' });

export const jobStatus = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    status: z
      .enum(['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT', 'UNKNOWN'])
      .meta({ description: "Temporal's execution status." }),
    task: z.string().optional(),
    project: z.string().optional(),
    language: z.string().optional(),
    phase: z.string().optional().meta({ description: 'QUEUED, GENERATE, WRITE_TESTS, RUN_TESTS, REVIEW, REFACTOR…' }),
    iteration: z.number(),
    outcome: z.string().optional(),
    message: z.string().optional(),
    lastTests: testSummary.optional(),
    usage: usage.optional(),
    awaitingApproval: z.boolean(),
    startedAt: z.string(),
    closedAt: z.string().nullable(),
    historyLength: z.number(),
    failure: z.object({ type: z.string(), message: z.string(), hint: z.string().optional() }).strict().optional(),
    links: jobLinks,
  })
  .strict()
  .meta({ id: 'JobStatus' });

export const jobResult = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    status: z.literal('COMPLETED'),
    result: z
      .object({ outcome: z.string(), iterations: z.array(z.record(z.string(), z.unknown())) })
      .passthrough()
      .meta({ description: 'The workflow result (CodingJobResult): outcome, iterations, file references, usage.' }),
    links: jobLinks,
  })
  .strict()
  .meta({ id: 'JobResult' });

export const jobCancelled = z
  .object({ workflowId: z.string(), runId: z.string(), status: z.literal('CANCEL_REQUESTED') })
  .strict()
  .meta({ id: 'CancelRequested' });

export const jobRetried = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    previousRunId: z.string(),
    resumedFrom: z.object({ eventId: z.number(), step: z.string().nullable(), keptSteps: z.array(z.string()) }),
    links: jobLinks,
  })
  .strict()
  .meta({ id: 'JobRetried' });

export const gateDecision = z
  .object({
    workflowId: z.string(),
    decision: z.enum(['approved', 'changes-requested']),
    status: z.record(z.string(), z.unknown()),
  })
  .strict()
  .meta({ id: 'GateDecision' });

export const jobFiles = z
  .object({ workflowId: z.string(), files: z.record(z.string(), z.string()) })
  .strict()
  .meta({ id: 'JobFiles' });

const assistHead = {
  workflowId: z.string(),
  runId: z.string(),
  task: z.string().meta({ description: 'The task kind read from the message.' }),
  language: z.string(),
};

export const assistRunning = z
  .object({ ...assistHead, status: z.literal('RUNNING'), links: jobLinks })
  .strict()
  .meta({ id: 'AssistRunning', description: 'wait=false, or the job did not finish within API_WAIT_TIMEOUT_MS.' });

export const assistAnswer = z
  .object({
    ...assistHead,
    success: z.boolean(),
    outcome: z.string(),
    code: z.record(z.string(), z.string()),
    explanation: z.string().optional(),
    suggestions: z.array(z.string()),
    artifacts: z
      .object({
        files: z.string().optional(),
        testOutput: z.string().optional(),
        analysisReport: z.string().optional(),
      })
      .strict(),
    tests: testSummary.optional(),
    usage: usage.optional(),
    message: z.string().optional(),
    links: jobLinks,
  })
  .strict()
  .meta({ id: 'AssistAnswer' });

export const health = z
  .object({ status: z.literal('ok'), startedAt: z.string(), uptimeSeconds: z.number() })
  .strict()
  .meta({ id: 'Health' });

export const readiness = z
  .object({
    status: z.enum(['ready', 'degraded', 'unavailable']),
    ready: z.boolean().optional(),
    degraded: z.boolean().optional(),
    model: z.object({ name: z.string(), baseURL: z.string(), local: z.boolean() }).optional(),
    commit: z
      .string()
      .optional()
      .meta({ description: 'The commit of the code the API runs (read when it started); with a valid key only.' }),
    checks: z
      .record(z.string(), z.object({ ok: z.boolean(), required: z.boolean(), detail: z.string() }))
      .optional()
      .meta({ description: 'Each dependency (temporal, redis, qdrant, model, sandbox); with a valid key only.' }),
  })
  .strict()
  .meta({ id: 'Readiness' });

/** Objects whose full shape lives with their route (schedules, memory, indexing): described loosely. */
export const looseObject = (id: string, description: string, required: Record<string, z.ZodType> = {}) =>
  z.object(required).passthrough().meta({ id, description });
