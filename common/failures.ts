/**
 * The one catalogue of failure types. Activities throw `ApplicationFailure`s whose `type` is a key
 * of this catalogue; the API maps each type to an HTTP status and the CLI to an exit code.
 *
 * Pure data with no imports, so workflow code may import it.
 */

export interface FailureSpec {
  /** Whether Temporal should retry an activity that failed with this type. */
  readonly retryable: boolean;
  /** HTTP status the API answers with when a job or request fails with this type. */
  readonly httpStatus: number;
  /** Exit code of the CLI. */
  readonly exitCode: number;
  /** One sentence a user can act on. */
  readonly hint: string;
}

export const FAILURES = {
  InvalidInput: { retryable: false, httpStatus: 400, exitCode: 2, hint: 'Fix the request fields named in details.' },
  ModelConfig: {
    retryable: false,
    httpStatus: 424,
    exitCode: 3,
    hint: 'Set OPENAI_BASE_URL (and OPENAI_API_KEY if the endpoint needs one) for the LLM worker, then retry the job.',
  },
  ModelAuth: {
    retryable: false,
    httpStatus: 424,
    exitCode: 3,
    hint: 'The model endpoint rejected the credentials: check OPENAI_API_KEY.',
  },
  ModelRequestInvalid: {
    retryable: false,
    httpStatus: 424,
    exitCode: 3,
    hint: 'The model endpoint rejected the request (HTTP 400/404/422): check OPENAI_MODEL and the endpoint.',
  },
  ModelRefused: { retryable: false, httpStatus: 422, exitCode: 4, hint: 'The model refused the task; rephrase it.' },
  ModelOutputInvalid: {
    retryable: false,
    httpStatus: 502,
    exitCode: 4,
    hint: 'The model answered with output that does not match the expected shape, even after a repair round.',
  },
  ModelRateLimited: { retryable: true, httpStatus: 503, exitCode: 5, hint: 'The model endpoint is rate limiting.' },
  ModelUnavailable: {
    retryable: true,
    httpStatus: 503,
    exitCode: 5,
    hint: 'The model endpoint is down or timing out.',
  },
  ToolchainMissing: {
    retryable: false,
    httpStatus: 424,
    exitCode: 6,
    hint: 'A tool needed to run or check the code is not installed on the sandbox worker.',
  },
  SandboxUnavailable: {
    retryable: false,
    httpStatus: 503,
    exitCode: 6,
    hint: 'No sandbox driver is usable: install bubblewrap, or opt in to SANDBOX_DRIVER=process.',
  },
  SandboxViolation: {
    retryable: false,
    httpStatus: 422,
    exitCode: 7,
    hint: 'The generated code tried something the sandbox does not allow.',
  },
  BudgetExhausted: {
    retryable: false,
    httpStatus: 402,
    exitCode: 8,
    hint: 'The job hit its iteration, token or cost budget; raise it or narrow the task.',
  },
  ArtifactMissing: {
    retryable: false,
    httpStatus: 410,
    exitCode: 9,
    hint: 'An artifact the job refers to is gone from the artifact store.',
  },
  DependencyUnavailable: {
    retryable: true,
    httpStatus: 503,
    exitCode: 5,
    hint: 'A dependency (Temporal, Redis, Qdrant, Codacy) is unreachable.',
  },
  EmbedderMismatch: {
    retryable: false,
    httpStatus: 409,
    exitCode: 10,
    hint: 'The memory collection was built with another embedder or dimension; use the same one or a new collection.',
  },
  CodacyConfig: {
    retryable: false,
    httpStatus: 424,
    exitCode: 3,
    hint: 'Check CODACY_API_TOKEN and the repository coordinates.',
  },
  RepositoryInvalid: {
    retryable: false,
    httpStatus: 400,
    exitCode: 2,
    hint: 'The repository path does not exist or is not readable by the worker.',
  },
  RepositoryAuth: {
    retryable: false,
    httpStatus: 424,
    exitCode: 3,
    hint: "The git host or forge refused the tenant's credentials: check its entry in SOPHIA_GIT_CREDENTIALS_FILE.",
  },
  PushRejected: {
    retryable: false,
    httpStatus: 409,
    exitCode: 13,
    hint: "The remote refused the push: the job's branch there holds commits the job did not make; delete that branch or retry under a new requestId.",
  },
  IdempotencyConflict: {
    retryable: false,
    httpStatus: 409,
    exitCode: 13,
    hint: 'This requestId was already used with a different request; pick a new requestId or resend the same body.',
  },
  PathNotAllowed: {
    retryable: false,
    httpStatus: 403,
    exitCode: 2,
    hint: 'The path is outside the repository roots this deployment allows (SOPHIA_REPO_ROOTS).',
  },
  QuotaExceeded: {
    retryable: false,
    httpStatus: 429,
    exitCode: 14,
    hint: 'The tenant is over a quota (concurrent jobs, tokens or cost per day); retry after the Retry-After seconds.',
  },
  ReviewRejected: {
    retryable: false,
    httpStatus: 409,
    exitCode: 11,
    hint: 'A reviewer rejected the job at its approval gate.',
  },
} as const satisfies Record<string, FailureSpec>;

export type FailureType = keyof typeof FAILURES;

export const FAILURE_TYPES = Object.keys(FAILURES) as FailureType[];

/** Activity retry policies list these so Temporal does not retry permanent failures. */
export const NON_RETRYABLE_FAILURE_TYPES: FailureType[] = FAILURE_TYPES.filter((t) => !FAILURES[t].retryable);

export function isFailureType(value: unknown): value is FailureType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(FAILURES, value);
}
