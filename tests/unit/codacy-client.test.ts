import { CodacyClient, codacyIssueToFinding, type CodacyOptions } from '../../activities/analysis/codacy-client';
import { CODACY_COMMIT, CODACY_TOKEN, startFakeCodacy, type FakeCodacy } from '../support/codacy-server';

/** The Codacy REST v3 client against recorded responses served by a real local HTTP server. */

let fake: FakeCodacy;
let options: CodacyOptions;

beforeAll(async () => {
  fake = await startFakeCodacy();
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.requests.length = 0;
  fake.failNext([]);
  fake.setLastAnalysed(CODACY_COMMIT);
  options = {
    baseUrl: fake.baseUrl,
    token: CODACY_TOKEN,
    provider: 'gh',
    organization: 'acme',
    repository: 'widgets',
  };
});

describe('the Codacy client', () => {
  it('searches repository issues with a POST, the api-token header, and follows the cursor to the last page', async () => {
    const issues = await new CodacyClient(options).searchRepositoryIssues({ languages: ['Python'] });
    expect(issues.map((i) => i.issueId)).toEqual(['b1f0a3c2-0001', 'b1f0a3c2-0002', 'b1f0a3c2-0003']);
    expect(fake.requests).toHaveLength(2);
    const [first, second] = fake.requests;
    expect(first).toMatchObject({
      method: 'POST',
      path: '/api/v3/analysis/organizations/gh/acme/repositories/widgets/issues/search',
      query: { limit: '100' },
      body: { languages: ['Python'] },
    });
    expect(first?.headers['api-token']).toBe(CODACY_TOKEN);
    expect(first?.headers['content-type']).toBe('application/json');
    expect(second?.query).toEqual({ limit: '100', cursor: 'MjAyNi0xMS0yMFQxMDowMDowMFp8YjFmMGEzYzItMDAwMg==' });
    expect(second?.headers['api-token']).toBe(CODACY_TOKEN);
  });

  it("reads the commit of the repository's last analysis, on the branch asked for", async () => {
    const analysis = await new CodacyClient(options).repositoryAnalysis('main');
    expect(analysis.lastAnalysedCommit?.sha).toBe(CODACY_COMMIT);
    expect(fake.requests[0]).toMatchObject({
      method: 'GET',
      path: '/api/v3/analysis/organizations/gh/acme/repositories/widgets',
      query: { branch: 'main' },
    });
  });

  it('tells the activity before every request, so it heartbeats while it pages', async () => {
    const seen: number[] = [];
    await new CodacyClient({ ...options, onRequest: (p) => seen.push(p.request) }).searchRepositoryIssues();
    expect(seen).toEqual([1, 2]);
  });

  it('makes one attempt: a 429 or 5xx is a retryable DependencyUnavailable for the retry policy', async () => {
    fake.failNext([503]);
    await expect(new CodacyClient(options).repositoryAnalysis()).rejects.toMatchObject({
      type: 'DependencyUnavailable',
      nonRetryable: false,
      message: expect.stringContaining('HTTP 503'),
    });
    expect(fake.requests).toHaveLength(1);
  });

  it("passes Codacy's Retry-After on as the next retry's delay", async () => {
    fake.failNext([429], 7);
    await expect(new CodacyClient(options).repositoryAnalysis()).rejects.toMatchObject({
      type: 'DependencyUnavailable',
      nextRetryDelay: '7s',
    });
  });

  it('fails a rejected token at once with a non-retryable CodacyConfig', async () => {
    await expect(new CodacyClient({ ...options, token: 'wrong' }).repositoryAnalysis()).rejects.toMatchObject({
      type: 'CodacyConfig',
      nonRetryable: true,
      message: expect.stringContaining('CODACY_API_TOKEN'),
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('fails an unknown repository with CodacyConfig naming the coordinates', async () => {
    await expect(new CodacyClient({ ...options, repository: 'nope' }).repositoryAnalysis()).rejects.toMatchObject({
      type: 'CodacyConfig',
      message: expect.stringContaining('gh/acme/nope'),
    });
  });

  it('maps issues to findings with tool, rule, severity, file, line, message and suggestion', async () => {
    const issues = await new CodacyClient(options).searchRepositoryIssues();
    expect(issues.map(codacyIssueToFinding)).toEqual([
      {
        tool: 'codacy/Bandit',
        rule: 'Bandit_B307',
        severity: 'error',
        file: 'calc.py',
        line: 7,
        message: 'Use of possibly insecure function - consider using safer ast.literal_eval.',
      },
      {
        tool: 'codacy/Pylint',
        rule: 'PyLint_W0611',
        severity: 'warning',
        file: 'calc.py',
        line: 1,
        message: 'Unused import os',
        suggestion: 'Remove the unused import.',
      },
      {
        tool: 'codacy/Prospector',
        rule: 'Prospector_pep8',
        severity: 'info',
        file: 'other/legacy.py',
        line: 12,
        message: 'line too long (120 > 79 characters)',
      },
    ]);
  });
});
