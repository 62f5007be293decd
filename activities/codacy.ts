/**
 * Codacy's findings, fetched by the one pool that holds CODACY_API_TOKEN (the llm pool, which calls
 * remote APIs anyway), never by the sandbox pool that runs generated code. Only activity functions
 * are exported as values: the worker registers every export.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { config } from '../common/config';
import { CodacyClient, codacyIssueToFinding } from './analysis/codacy-client';
import { normaliseFindings } from './analysis/finding';
import { artifactStore, type ArtifactRef } from './artifacts';

/** Which Codacy repository holds a project's or a schedule's code, set on the schedule or the job. */
export interface CodacyRepository {
  /** `gh`, `ghe`, `gl`, `gle`, `bb` or `bbe`. */
  provider: string;
  organization: string;
  repository: string;
  /** The branch Codacy analyses; its default branch when absent. */
  branch?: string;
}

export interface FetchCodacyFindingsInput {
  repository: CodacyRepository;
  /** The commit the reviewed files are at: Codacy's findings count only when it analysed exactly this one. */
  revision: string;
  language: 'python' | 'typescript' | 'javascript';
  /** The reviewed files' paths: issues on other files are left out. */
  files: string[];
}

export interface FetchCodacyFindingsResult {
  /** Whether Codacy's last analysis on the branch is of `revision`; no findings otherwise. */
  analysed: boolean;
  /** The commit Codacy last analysed, when it says. */
  analysedRevision?: string;
  /** How many findings `report` holds. */
  count: number;
  /** JSON `Finding[]` in the artifact store, for analyzeCode to merge into its report. */
  report?: ArtifactRef;
  summary: string;
}

const LANGUAGES: Record<string, string> = { python: 'Python', typescript: 'TypeScript', javascript: 'JavaScript' };

/**
 * Codacy's issues on the reviewed files, only when Codacy's last analysis of the repository's branch
 * is of the very revision under review: findings about other code (another commit, generated code
 * Codacy never saw, another repository) would block what they do not describe.
 *
 * One attempt: Temporal's retry policy (`RETRY_POLICIES.remote`) retries. It heartbeats before every
 * request (each times out after 20 s), so call it with a `heartbeatTimeout` of 30 s and a
 * `startToCloseTimeout` of a few minutes. Read-only, so idempotent. Failures: `CodacyConfig` (no
 * CODACY_API_TOKEN on this pool, a rejected token, an unknown repository; not retried),
 * `DependencyUnavailable` (429, 5xx or no answer; retried, after Retry-After when Codacy sends one).
 */
export async function fetchCodacyFindings(input: FetchCodacyFindingsInput): Promise<FetchCodacyFindingsResult> {
  const cfg = config();
  if (!cfg.CODACY_API_TOKEN) {
    throw ApplicationFailure.create({
      type: 'CodacyConfig',
      nonRetryable: true,
      message: `Codacy findings for ${input.repository.organization}/${input.repository.repository} were asked for, but CODACY_API_TOKEN is not set on the llm pool.`,
    });
  }
  const context = Context.current();
  const client = new CodacyClient({
    baseUrl: cfg.CODACY_BASE_URL,
    token: cfg.CODACY_API_TOKEN,
    provider: input.repository.provider,
    organization: input.repository.organization,
    repository: input.repository.repository,
    signal: context.cancellationSignal,
    onRequest: (progress) => context.heartbeat(progress),
  });
  const branch = input.repository.branch;
  const analysedRevision = (await client.repositoryAnalysis(branch)).lastAnalysedCommit?.sha;
  const short = (sha?: string) => (sha ? sha.slice(0, 12) : 'nothing');
  if (analysedRevision !== input.revision) {
    context.log.info('codacy analysed another revision; its findings are left out', {
      revision: input.revision,
      analysedRevision,
    });
    return {
      analysed: false,
      ...(analysedRevision ? { analysedRevision } : {}),
      count: 0,
      summary: `Codacy last analysed ${short(analysedRevision)}, not ${short(input.revision)}: no Codacy findings.`,
    };
  }
  const issues = await client.searchRepositoryIssues({
    ...(branch ? { branchName: branch } : {}),
    ...(LANGUAGES[input.language] ? { languages: [LANGUAGES[input.language] as string] } : {}),
  });
  const wanted = new Set(input.files);
  const findings = normaliseFindings(issues.filter((i) => wanted.has(i.filePath)).map(codacyIssueToFinding));
  return {
    analysed: true,
    analysedRevision,
    count: findings.length,
    report: await artifactStore().putJson(findings),
    summary: `Codacy at ${short(analysedRevision)}: ${findings.length} finding(s) on the reviewed files.`,
  };
}
