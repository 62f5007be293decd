#!/usr/bin/env node
/**
 * `sophia-mcp` (or `sophia mcp`): an MCP server over stdio that offers Sophia's jobs as tools to an IDE
 * agent. Like the CLI it is a thin client of the REST API: each tool is one or two API calls, and an
 * API error comes back as a tool error (`isError: true`) with the API's code, message and hint.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { projectRoot } from '../common/config';
import { ApiClient, ApiError, DEFAULT_API_URL } from './api-client';
import { errorJson, formatError } from './format';
import {
  approveJob,
  assist,
  cancelJob,
  jobFiles,
  jobPatch,
  jobResult,
  jobStatus,
  rejectJob,
  requestChanges,
  retryJob,
} from './jobs';

/** How often a long `coding_assist` reports progress, so a client that resets its timeout on progress keeps waiting. */
const PROGRESS_EVERY_MS = 10_000;

const workflowId = z.string().min(1).max(300).describe('The job id, e.g. job-1234 (returned as workflowId).');

function ok(body: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(body, null, 2) }] };
}

/** An API error as a tool error: a readable line with the hint, then the API's JSON error. */
function toolError(err: unknown): CallToolResult {
  const json = errorJson(err);
  const hint = err instanceof ApiError ? err.hint : undefined;
  return {
    isError: true,
    content: [
      { type: 'text', text: formatError(err).replace(/^sophia: /, '') },
      { type: 'text', text: JSON.stringify({ error: { ...json.error, hint } }, null, 2) },
    ],
  };
}

/** Runs a tool body; whatever it throws becomes a tool error, never a crash of the server. */
async function guarded(body: () => Promise<unknown>): Promise<CallToolResult> {
  try {
    return ok(await body());
  } catch (err) {
    return toolError(err);
  }
}

function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** The MCP server with Sophia's job tools, talking to the API through `api`. */
export function createMcpServer(api: ApiClient): McpServer {
  const server = new McpServer({ name: 'sophia-code', version: version() });

  server.registerTool(
    'coding_assist',
    {
      title: 'Ask Sophia for a coding job',
      description:
        'Runs a coding job described in plain words (generate, fix, refactor, write tests, document, review, deploy) as a durable ' +
        'workflow: the code is generated, its tests really run in a sandbox, it is reviewed and refactored until green. ' +
        'Answers the final files (code), explanation, test summary, suggestions and the job id with its links. With wait=false, ' +
        'answers at once with the job id; then use job_status and job_result.',
      inputSchema: {
        message: z.string().min(1).describe('What to do, in plain words, e.g. "Fix the off-by-one in paginate()".'),
        files: z
          .record(z.string(), z.string())
          .optional()
          .describe('Existing files the job works on: { "path/in/project.py": "file content" }.'),
        language: z
          .enum(['python', 'typescript', 'javascript'])
          .optional()
          .describe('Read from the message and files when omitted.'),
        project: z.string().optional().describe('Project name: memory of earlier jobs is recalled per project.'),
        context: z.string().optional().describe('Extra context: a stack trace, constraints, related code.'),
        wait: z.boolean().optional().describe('Wait for the result (default true).'),
      },
    },
    async (args, extra) => {
      const progressToken = extra._meta?.progressToken;
      let tick = 0;
      const timer =
        progressToken === undefined
          ? undefined
          : setInterval(() => {
              tick += 1;
              extra
                .sendNotification({
                  method: 'notifications/progress',
                  params: { progressToken, progress: tick, message: 'the job is running' },
                })
                .catch(() => undefined);
            }, PROGRESS_EVERY_MS);
      try {
        return await guarded(() => assist(api, { ...args, wait: args.wait ?? true }));
      } finally {
        if (timer) clearInterval(timer);
      }
    },
  );

  server.registerTool(
    'job_status',
    {
      title: 'Status of a job',
      description:
        'Phase, iteration, outcome, the last test summary, token usage and the Temporal Web UI link of a job.',
      inputSchema: { workflowId },
      annotations: { readOnlyHint: true },
    },
    ({ workflowId: id }) => guarded(() => jobStatus(api, id)),
  );

  server.registerTool(
    'job_result',
    {
      title: 'Result of a finished job',
      description:
        "A finished job's outcome, iterations (tests per round), usage and its final files. A job still running is an error " +
        'JobNotFinished unless waitMs lets it finish; a failed job is an error with its failure type and a hint.',
      inputSchema: {
        workflowId,
        waitMs: z.number().int().min(0).max(600_000).optional().describe('Wait up to this long for the job to finish.'),
      },
      annotations: { readOnlyHint: true },
    },
    ({ workflowId: id, waitMs }) =>
      guarded(async () => {
        const result = await jobResult(api, id, waitMs ?? 0);
        const files = result.result.files ? (await jobFiles(api, id)).files : undefined;
        return { ...result, files };
      }),
  );

  server.registerTool(
    'job_patch',
    {
      title: 'Patch of a finished job on a repository',
      description:
        'The unified diff from the commit a repository job checked out to its branch sophia/<job-id> (applies with git apply ' +
        'at that commit), with the branch, its commits, whether it was pushed and the pull request. A job without a ' +
        'repository is an error NoPatch.',
      inputSchema: { workflowId },
      annotations: { readOnlyHint: true },
    },
    ({ workflowId: id }) => guarded(() => jobPatch(api, id)),
  );

  server.registerTool(
    'job_retry',
    {
      title: 'Retry a failed job',
      description:
        'Re-runs a failed, timed-out or terminated job from the step that failed; finished steps keep their results.',
      inputSchema: { workflowId, reason: z.string().optional() },
    },
    ({ workflowId: id, reason }) => guarded(() => retryJob(api, id, { reason })),
  );

  server.registerTool(
    'job_approve',
    {
      title: 'Approve a job at its approval gate',
      description: 'Approves a job that waits for approval (started with requireApproval).',
      inputSchema: { workflowId, comment: z.string().optional(), reviewer: z.string().optional() },
    },
    ({ workflowId: id, comment, reviewer }) => guarded(() => approveJob(api, id, { comment, reviewer })),
  );

  server.registerTool(
    'job_reject',
    {
      title: 'Reject a job at its approval gate',
      description: 'Rejects a job that waits for approval: it finishes as rejected.',
      inputSchema: { workflowId, comment: z.string().optional(), reviewer: z.string().optional() },
    },
    ({ workflowId: id, comment, reviewer }) => guarded(() => rejectJob(api, id, { comment, reviewer })),
  );

  server.registerTool(
    'job_request_changes',
    {
      title: 'Request changes at the approval gate',
      description: 'Sends a job waiting for approval back for another refactor round driven by the feedback.',
      inputSchema: { workflowId, feedback: z.string().min(1), reviewer: z.string().optional() },
    },
    ({ workflowId: id, feedback, reviewer }) => guarded(() => requestChanges(api, id, { feedback, reviewer })),
  );

  server.registerTool(
    'job_cancel',
    {
      title: 'Cancel a running job',
      description: 'Cancels a running job; the sandbox kills its code and removes its workspace.',
      inputSchema: { workflowId },
      annotations: { destructiveHint: true },
    },
    ({ workflowId: id }) => guarded(() => cancelJob(api, id)),
  );

  return server;
}

/** Serves the tools on stdin/stdout until stdin closes. Nothing else may write to stdout. */
export async function serveMcp(api: ApiClient): Promise<void> {
  await createMcpServer(api).connect(new StdioServerTransport());
}

if (require.main === module) {
  const { values } = parseArgs({ options: { api: { type: 'string' } }, strict: true });
  const api = new ApiClient({
    baseUrl: values.api ?? process.env.SOPHIA_API_URL ?? DEFAULT_API_URL,
    token: process.env.SOPHIA_API_TOKEN || undefined,
  });
  serveMcp(api).catch((err: unknown) => {
    process.stderr.write(`sophia-mcp: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
