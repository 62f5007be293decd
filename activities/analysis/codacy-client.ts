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
  /** Attempts per request on 429, 5xx and network errors (default 4). */
  maxAttempts?: number;
  /** First backoff delay; doubles per attempt (default 500 ms). */
  retryBaseMs?: number;
  /** Upper bound on any wait, including a server's Retry-After (default 30 s). */
  maxRetryDelayMs?: number;
  /** Pages followed per query before stopping (default 20 × 100 issues). */
  maxPages?: number;
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
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

interface DeltaIssue {
  commitIssue: CodacyIssue;
  deltaType: 'Added' | 'Fixed' | string;
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
 * A small client for the Codacy REST API v3: repository issues, commit delta issues and
 * pull-request issues. Follows cursor pagination and retries 429/5xx/network errors with
 * exponential backoff (honouring Retry-After). 401/403/404 are configuration problems
 * (CodacyConfig, not retried); exhausted retries are DependencyUnavailable (retryable).
 */
export class CodacyClient {
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly maxPages: number;
  private readonly requestTimeoutMs: number;

  constructor(private readonly options: CodacyOptions) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.retryBaseMs = options.retryBaseMs ?? 500;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.maxPages = options.maxPages ?? 20;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  private repoPath(): string {
    const { provider, organization, repository } = this.options;
    return `/analysis/organizations/${encodeURIComponent(provider)}/${encodeURIComponent(organization)}/repositories/${encodeURIComponent(repository)}`;
  }

  /** Current issues of the repository: `POST …/issues/search`. */
  async searchRepositoryIssues(filter: IssueSearchFilter = {}): Promise<CodacyIssue[]> {
    return this.paginate<CodacyIssue>('POST', `${this.repoPath()}/issues/search`, filter);
  }

  /** Issues a commit added (not the ones it fixed): `GET …/commits/{sha}/deltaIssues`. */
  async commitDeltaIssues(commitSha: string): Promise<CodacyIssue[]> {
    const items = await this.paginate<DeltaIssue>(
      'GET',
      `${this.repoPath()}/commits/${encodeURIComponent(commitSha)}/deltaIssues`,
    );
    return items.filter((d) => d.deltaType === 'Added').map((d) => d.commitIssue);
  }

  /** New issues of a pull request: `GET …/pull-requests/{n}/issues?status=new`. */
  async pullRequestIssues(pullRequest: number): Promise<CodacyIssue[]> {
    const items = await this.paginate<DeltaIssue>(
      'GET',
      `${this.repoPath()}/pull-requests/${pullRequest}/issues`,
      undefined,
      {
        status: 'new',
      },
    );
    return items.filter((d) => d.deltaType === 'Added').map((d) => d.commitIssue);
  }

  private async paginate<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    query: Record<string, string> = {},
  ): Promise<T[]> {
    const out: T[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < this.maxPages; page++) {
      const params = new URLSearchParams({ ...query, limit: String(PAGE_SIZE), ...(cursor ? { cursor } : {}) });
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
    let lastProblem = '';
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
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
        lastProblem = `network error: ${(err as Error).message}`;
        await this.backoff(attempt, null);
        continue;
      }
      if (response.ok) return (await response.json()) as T;
      const detail = (await response.text().catch(() => '')).slice(0, 300);
      if (response.status === 429 || response.status >= 500) {
        lastProblem = `HTTP ${response.status}${detail ? `: ${detail}` : ''}`;
        if (attempt < this.maxAttempts) await this.backoff(attempt, response.headers.get('retry-after'));
        continue;
      }
      if (response.status === 401 || response.status === 403) {
        throw codacyConfig(`Codacy rejected the API token (HTTP ${response.status}); check CODACY_API_TOKEN.`);
      }
      if (response.status === 404) {
        const { provider, organization, repository } = this.options;
        throw codacyConfig(
          `Codacy does not know ${provider}/${organization}/${repository} or this resource (HTTP 404 on ${method} ${pathAndQuery.split('?')[0] ?? ''}); check CODACY_PROVIDER, CODACY_ORGANIZATION and CODACY_REPOSITORY.`,
        );
      }
      throw codacyConfig(
        `Codacy refused ${method} ${pathAndQuery.split('?')[0] ?? ''} with HTTP ${response.status}: ${detail}`,
      );
    }
    throw ApplicationFailure.create({
      type: 'DependencyUnavailable',
      nonRetryable: false,
      message: `Codacy did not answer after ${this.maxAttempts} attempts (${lastProblem}).`,
    });
  }

  private async backoff(attempt: number, retryAfter: string | null): Promise<void> {
    if (attempt >= this.maxAttempts) return;
    const seconds = retryAfter !== null ? Number(retryAfter) : NaN;
    const fromHeader = Number.isFinite(seconds) ? seconds * 1000 : undefined;
    // Jitter spreads the retries of parallel activities so they do not hit the limit together.
    const exponential = this.retryBaseMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
    const delay = Math.min(fromHeader ?? exponential, this.maxRetryDelayMs);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
