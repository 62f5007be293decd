import { ApplicationFailure } from '@temporalio/common';
import type { Finding, Severity } from './finding';

/** Coordinates and credentials of one Codacy repository. */
export interface CodacyOptions {
  /** e.g. `https://app.codacy.com/api/v3`. */
  baseUrl: string;
  /** Account API token, sent as the `api-token` header. */
  token: string;
  /** `gh`, `ghe`, `gl`, `gle`, `bb` or `bbe`. */
  provider: string;
  organization: string;
  repository: string;
  /** Pages followed per query before stopping (default 20 × 100 issues). */
  maxPages?: number;
  /** Per-request timeout (default 20 s, under the activity's heartbeat timeout). */
  requestTimeoutMs?: number;
  /** Called before every request, so the activity heartbeats while it pages. */
  onRequest?: (progress: { request: number; path: string }) => void;
  signal?: AbortSignal;
}

/** An issue as Codacy API v3 returns it (the fields we use). */
export interface CodacyIssue {
  issueId?: string;
  filePath: string;
  lineNumber: number;
  message: string;
  suggestion?: string;
  language?: string;
  patternInfo: { id: string; category?: string; level: string; severityLevel?: string };
  toolInfo: { uuid?: string; name: string };
}

interface Page<T> {
  data: T[];
  pagination?: { cursor?: string; limit?: number; total?: number };
  analyzed?: boolean;
}

/** What Codacy says of a repository's analysis (the fields we use). */
export interface RepositoryAnalysis {
  /** The last commit Codacy finished analysing on the branch asked for (the default branch otherwise). */
  lastAnalysedCommit?: { sha: string; endedAnalysis?: string };
}

/** Filters of the repository issues search (the request body). */
export interface IssueSearchFilter {
  branchName?: string;
  patternIds?: string[];
  languages?: string[];
  categories?: string[];
  levels?: ('Error' | 'High' | 'Warning' | 'Info')[];
}

const PAGE_SIZE = 100;

function codacyConfig(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'CodacyConfig', nonRetryable: true, message });
}

/** Maps Codacy's levels (Error, High, Warning, Info) onto ours. */
export function codacySeverity(level: string): Severity {
  const l = level.toLowerCase();
  if (l === 'error' || l === 'high' || l === 'critical') return 'error';
  if (l === 'warning' || l === 'medium') return 'warning';
  return 'info';
}

/** One Codacy issue in the shared finding shape. */
export function codacyIssueToFinding(issue: CodacyIssue): Finding {
  return {
    tool: `codacy/${issue.toolInfo.name}`,
    rule: issue.patternInfo.id,
    severity: codacySeverity(issue.patternInfo.level),
    file: issue.filePath,
    line: issue.lineNumber,
    message: issue.message,
    ...(issue.suggestion ? { suggestion: issue.suggestion } : {}),
  };
}

/**
 * A small client for the Codacy REST API v3: a repository's last analysed commit, and its issues.
 * Follows cursor pagination. One attempt per request: the activity's retry policy retries, so a
 * 429, a 5xx or a network error is a retryable DependencyUnavailable (with a Retry-After as the next
 * retry's delay), and 401/403/404 are configuration problems (CodacyConfig, not retried).
 */
export class CodacyClient {
  private readonly maxPages: number;
  private readonly requestTimeoutMs: number;
  private requests = 0;

  constructor(private readonly options: CodacyOptions) {
    this.maxPages = options.maxPages ?? 20;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 20_000;
  }

  private repoPath(): string {
    const { provider, organization, repository } = this.options;
    return `/analysis/organizations/${encodeURIComponent(provider)}/${encodeURIComponent(organization)}/repositories/${encodeURIComponent(repository)}`;
  }

  /** The repository's analysis on `branch` (its default branch when absent): `GET …/repositories/{name}`. */
  async repositoryAnalysis(branch?: string): Promise<RepositoryAnalysis> {
    const query = branch ? `?${new URLSearchParams({ branch }).toString()}` : '';
    const result = await this.request<{ data?: RepositoryAnalysis }>('GET', `${this.repoPath()}${query}`);
    return result.data ?? {};
  }

  /** Current issues of the repository: `POST …/issues/search`. */
  async searchRepositoryIssues(filter: IssueSearchFilter = {}): Promise<CodacyIssue[]> {
    return this.paginate<CodacyIssue>('POST', `${this.repoPath()}/issues/search`, filter);
  }

  private async paginate<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T[]> {
    const out: T[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < this.maxPages; page++) {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE), ...(cursor ? { cursor } : {}) });
      const result = await this.request<Page<T>>(method, `${path}?${params.toString()}`, body);
      out.push(...(result.data ?? []));
      cursor = result.pagination?.cursor;
      // A cursor seen before would loop forever; an empty page means the end whatever the cursor says.
      if (!cursor || seen.has(cursor) || (result.data ?? []).length === 0) break;
      seen.add(cursor);
    }
    return out;
  }

  private async request<T>(method: 'GET' | 'POST', pathAndQuery: string, body?: unknown): Promise<T> {
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}${pathAndQuery}`;
    const path = pathAndQuery.split('?')[0] ?? '';
    this.options.onRequest?.({ request: ++this.requests, path });
    let response: Response;
    try {
      const signals = [
        AbortSignal.timeout(this.requestTimeoutMs),
        ...(this.options.signal ? [this.options.signal] : []),
      ];
      response = await fetch(url, {
        method,
        headers: {
          'api-token': this.options.token,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      if (this.options.signal?.aborted) throw err;
      throw unavailable(`Codacy did not answer ${method} ${path}: ${(err as Error).message}`);
    }
    if (response.ok) return (await response.json()) as T;
    const detail = (await response.text().catch(() => '')).slice(0, 300);
    if (response.status === 429 || response.status >= 500) {
      const seconds = Number(response.headers.get('retry-after') ?? NaN);
      throw unavailable(
        `Codacy answered ${method} ${path} with HTTP ${response.status}${detail ? `: ${detail}` : ''}`,
        Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, MAX_RETRY_AFTER_S) : undefined,
      );
    }
    if (response.status === 401 || response.status === 403) {
      throw codacyConfig(`Codacy rejected the API token (HTTP ${response.status}); check CODACY_API_TOKEN.`);
    }
    if (response.status === 404) {
      const { provider, organization, repository } = this.options;
      throw codacyConfig(
        `Codacy does not know ${provider}/${organization}/${repository} or this resource (HTTP 404 on ${method} ${path}); check the repository the schedule or job names.`,
      );
    }
    throw codacyConfig(`Codacy refused ${method} ${path} with HTTP ${response.status}: ${detail}`);
  }
}

/** The longest Retry-After honoured as the next retry's delay; the retry policy caps the rest. */
const MAX_RETRY_AFTER_S = 120;

function unavailable(message: string, retryAfterSeconds?: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'DependencyUnavailable',
    nonRetryable: false,
    message,
    ...(retryAfterSeconds !== undefined ? { nextRetryDelay: `${retryAfterSeconds}s` } : {}),
  });
}
