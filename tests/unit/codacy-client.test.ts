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
  options = {
    baseUrl: fake.baseUrl,
    token: CODACY_TOKEN,
    provider: 'gh',
    organization: 'acme',
    repository: 'widgets',
    retryBaseMs: 5,
    maxRetryDelayMs: 50,
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

  it("gets a commit's delta issues and keeps only the ones the commit added", async () => {
    const issues = await new CodacyClient(options).commitDeltaIssues(CODACY_COMMIT);
    expect(fake.requests[0]).toMatchObject({
      method: 'GET',
      path: `/api/v3/analysis/organizations/gh/acme/repositories/widgets/commits/${CODACY_COMMIT}/deltaIssues`,
    });
    expect(issues.map((i) => i.patternInfo.id)).toEqual(['ESLint8_no-eval']);
  });

  it("gets a pull request's new issues", async () => {
    const issues = await new CodacyClient(options).pullRequestIssues(42);
    expect(fake.requests[0]).toMatchObject({
      method: 'GET',
      path: '/api/v3/analysis/organizations/gh/acme/repositories/widgets/pull-requests/42/issues',
      query: { status: 'new', limit: '100' },
    });
    expect(issues).toHaveLength(1);
  });

  it('retries 429 and 5xx answers and then succeeds', async () => {
    fake.failNext([429, 503, 502], 0);
    const issues = await new CodacyClient(options).pullRequestIssues(42);
    expect(issues).toHaveLength(1);
    expect(fake.requests).toHaveLength(4);
    expect(fake.requests.every((r) => r.path.endsWith('/pull-requests/42/issues'))).toBe(true);
  });

  it('honours Retry-After, capped, between attempts', async () => {
    fake.failNext([429], 1);
    const started = Date.now();
    await new CodacyClient({ ...options, maxRetryDelayMs: 300 }).pullRequestIssues(42);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(1_000);
  });

  it('gives up after the last attempt with a retryable DependencyUnavailable', async () => {
    fake.failNext([500, 500, 500, 500, 500]);
    await expect(new CodacyClient(options).commitDeltaIssues(CODACY_COMMIT)).rejects.toMatchObject({
      type: 'DependencyUnavailable',
      nonRetryable: false,
      message: expect.stringContaining('HTTP 500'),
    });
    expect(fake.requests).toHaveLength(4);
  });

  it('fails a rejected token at once with a non-retryable CodacyConfig', async () => {
    await expect(new CodacyClient({ ...options, token: 'wrong' }).pullRequestIssues(42)).rejects.toMatchObject({
      type: 'CodacyConfig',
      nonRetryable: true,
      message: expect.stringContaining('CODACY_API_TOKEN'),
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('fails an unknown repository with CodacyConfig naming the coordinates', async () => {
    await expect(new CodacyClient({ ...options, repository: 'nope' }).pullRequestIssues(42)).rejects.toMatchObject({
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
