import { seg, type ApiClient } from './api-client';

/** The REST calls the CLI and the MCP server make, one per operation, with the shapes they read. */

export interface JobLinks {
  self: string;
  result: string;
  ui: string;
}

export interface TestSummary {
  passed: number;
  failed: number;
  summary?: string;
}

export interface Usage {
  totalTokens?: number;
  costUsd?: number;
}

export interface StartedJob {
  workflowId: string;
  runId: string;
  links: JobLinks;
}

export interface JobStatus {
  workflowId: string;
  runId: string;
  status: string;
  task?: string;
  project?: string;
  phase?: string;
  iteration: number;
  outcome?: string;
  message?: string;
  lastTests?: TestSummary;
  usage?: Usage;
  awaitingApproval: boolean;
  startedAt: string;
  closedAt: string | null;
  links: JobLinks;
}

export interface IterationRecord {
  step: string;
  tests?: TestSummary;
}

export interface JobResult {
  workflowId: string;
  runId: string;
  status: string;
  result: {
    outcome: string;
    task: string;
    language: string;
    explanation: string;
    message: string;
    iterations: IterationRecord[];
    usage: Usage;
    files?: unknown;
  };
  links: JobLinks;
}

/** `POST /api/coding/assist`: the finished answer (200) or the started job (202). */
export interface AssistAnswer {
  workflowId: string;
  runId: string;
  task: string;
  language: string;
  status?: string;
  success?: boolean;
  outcome?: string;
  code?: Record<string, string>;
  explanation?: string;
  suggestions?: string[];
  tests?: TestSummary;
  usage?: Usage;
  message?: string;
  links: JobLinks;
}

export interface AssistRequest {
  message: string;
  files?: Record<string, string>;
  language?: string;
  project?: string;
  context?: string;
  wait?: boolean;
}

export interface RunRequest {
  task: string;
  description: string;
  language?: string;
  files?: Record<string, string>;
  project?: string;
  error?: string;
  requestId?: string;
  options?: { requireApproval?: boolean; maxIterations?: number; push?: boolean; pullRequest?: boolean };
  repository?: { url: string; ref?: string; path?: string };
}

export const assist = async (api: ApiClient, body: AssistRequest) =>
  (await api.post<AssistAnswer>('/api/coding/assist', body)).body;

export const startJob = async (api: ApiClient, body: RunRequest) =>
  (await api.post<StartedJob & { existing?: boolean }>('/api/workflows', body)).body;

export const jobStatus = async (api: ApiClient, id: string) =>
  (await api.get<JobStatus>(`/api/workflows/${seg(id)}`)).body;

export const jobResult = async (api: ApiClient, id: string, waitMs = 0) =>
  (await api.get<JobResult>(`/api/workflows/${seg(id)}/result${waitMs > 0 ? `?wait=${waitMs}` : ''}`)).body;

export const jobFiles = async (api: ApiClient, id: string) =>
  (await api.get<{ workflowId: string; files: Record<string, string> }>(`/api/workflows/${seg(id)}/files`)).body;

/** The git facts and unified patch of a finished job on a repository. */
export interface JobPatch {
  workflowId: string;
  url: string;
  base: string;
  branch: string;
  head: string;
  commits: string[];
  patchSummary?: string;
  pushed?: boolean;
  pullRequest?: { number: number; url: string };
  patch: string;
}

export const jobPatch = async (api: ApiClient, id: string) =>
  (await api.get<JobPatch>(`/api/workflows/${seg(id)}/patch`)).body;

export const cancelJob = async (api: ApiClient, id: string) =>
  (await api.post<{ workflowId: string; status: string }>(`/api/workflows/${seg(id)}/cancel`)).body;

export const retryJob = async (api: ApiClient, id: string, body: { reason?: string } = {}) =>
  (
    await api.post<{
      runId: string;
      previousRunId: string;
      resumedFrom: { step: string; keptSteps: string[] };
      links: JobLinks;
    }>(`/api/workflows/${seg(id)}/retry`, body)
  ).body;

export const approveJob = async (api: ApiClient, id: string, body: { comment?: string; reviewer?: string }) =>
  (
    await api.post<{ workflowId: string; decision: string; status: JobStatus }>(
      `/api/workflows/${seg(id)}/approve`,
      body,
    )
  ).body;

export const rejectJob = async (api: ApiClient, id: string, body: { comment?: string; reviewer?: string }) =>
  (
    await api.post<{ workflowId: string; decision: string; status: JobStatus }>(
      `/api/workflows/${seg(id)}/reject`,
      body,
    )
  ).body;

export const requestChanges = async (api: ApiClient, id: string, body: { feedback: string; reviewer?: string }) =>
  (
    await api.post<{ workflowId: string; decision: string; status: JobStatus }>(
      `/api/workflows/${seg(id)}/request-changes`,
      body,
    )
  ).body;
