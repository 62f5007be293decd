import { config } from '../../common/config';
import { CodacyClient, codacyIssueToFinding, type CodacyOptions } from './codacy-client';
import type { Finding } from './finding';

/** Which Codacy results to fetch for a job. */
export interface CodacyQuery {
  /** Issues this commit added (`commits/{sha}/deltaIssues`). */
  commitSha?: string;
  /** New issues of this pull request (`pull-requests/{n}/issues`). */
  pullRequest?: number;
  /** Repository issues on this branch (`issues/search`), when neither of the above is given. */
  branchName?: string;
}

/** Codacy options from config, or undefined when the token or a coordinate is missing (Codacy off). */
export function codacyOptionsFromConfig(signal?: AbortSignal): CodacyOptions | undefined {
  const cfg = config();
  if (!cfg.CODACY_API_TOKEN || !cfg.CODACY_PROVIDER || !cfg.CODACY_ORGANIZATION || !cfg.CODACY_REPOSITORY)
    return undefined;
  return {
    baseUrl: cfg.CODACY_BASE_URL,
    token: cfg.CODACY_API_TOKEN,
    provider: cfg.CODACY_PROVIDER,
    organization: cfg.CODACY_ORGANIZATION,
    repository: cfg.CODACY_REPOSITORY,
    signal,
  };
}

const LANGUAGES: Record<string, string> = { python: 'Python', typescript: 'TypeScript', javascript: 'JavaScript' };

/**
 * Codacy's findings for the job: a commit's or pull request's new issues when given, else the
 * repository's current issues in the job's language. Only issues on the job's own files are kept.
 */
export async function codacyFindings(
  options: CodacyOptions,
  query: CodacyQuery,
  language: string,
  jobFiles: string[],
): Promise<Finding[]> {
  const client = new CodacyClient(options);
  const issues =
    query.pullRequest !== undefined
      ? await client.pullRequestIssues(query.pullRequest)
      : query.commitSha
        ? await client.commitDeltaIssues(query.commitSha)
        : await client.searchRepositoryIssues({
            ...(query.branchName ? { branchName: query.branchName } : {}),
            ...(LANGUAGES[language] ? { languages: [LANGUAGES[language] as string] } : {}),
          });
  const wanted = new Set(jobFiles);
  return issues.filter((i) => wanted.size === 0 || wanted.has(i.filePath)).map(codacyIssueToFinding);
}
