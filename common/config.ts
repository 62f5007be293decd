import fs from 'node:fs';
import path from 'node:path';
import { loadClientConfigProfile, type ClientConfigProfile } from '@temporalio/envconfig';
import { z } from 'zod';

/**
 * The one schema over the environment. Every variable here has a row in the README's config table,
 * and `tests/unit/config.test.ts` fails when one is missing there.
 */

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes', 'on'].includes(v)));

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const num = (fallback: number, min = 0) => z.coerce.number().min(min).default(fallback);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
const optionalUrl = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))
  .pipe(z.url().optional());

export const envSchema = z.object({
  // --- process & logs
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['pretty', 'json']).default('pretty'),
  SOPHIA_DATA_DIR: z.string().default('.data'),

  // --- Temporal
  // Connection settings are read through Temporal's envconfig (see temporalProfile): these variables
  // override the TOML profile; unset everywhere, the address is 127.0.0.1:7233 and the namespace default.
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: optionalString,
  TEMPORAL_PROFILE: optionalString,
  TEMPORAL_CONFIG_FILE: optionalString,
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: bool(false),
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  TEMPORAL_TLS_CA_PATH: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  TEMPORAL_TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/i)
    .default('sophia'),
  TEMPORAL_UI_URL: z.string().default('http://localhost:8233'),
  TEMPORAL_CLI_PATH: optionalString,
  TEMPORAL_TEST_SERVER_PATH: optionalString,
  TEMPORAL_DEV_SERVER: bool(true),
  TEMPORAL_DEV_SERVER_PORT: int(7233, 1),
  TEMPORAL_DEV_UI_PORT: int(8233, 1),

  // --- API
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: int(8000, 0),
  API_BODY_LIMIT: z.string().default('2mb'),
  API_KEYS: optionalString,
  API_KEYS_FILE: optionalString,
  API_TOKEN: optionalString,
  API_OIDC_JWKS_URL: optionalUrl,
  API_OIDC_ISSUER: optionalString,
  API_OIDC_AUDIENCE: optionalString,
  API_OIDC_TENANT_CLAIM: z.string().min(1).default('tenant'),
  API_OIDC_ROLE_CLAIM: z.string().min(1).default('sophia_role'),
  API_WAIT_TIMEOUT_MS: int(120_000, 0),
  API_MAX_CONCURRENT_WAITS: int(64, 1),
  API_SSE_MAX_PER_TENANT: int(8, 1),
  API_SSE_MAX_LIFETIME_MS: int(3_600_000, 1_000),
  SOPHIA_REPO_ROOTS: optionalString,

  // --- quotas per tenant (0 = no limit)
  QUOTA_MAX_CONCURRENT_JOBS: int(20, 0),
  QUOTA_TOKENS_PER_DAY: int(0, 0),
  QUOTA_COST_USD_PER_DAY: num(0),

  // --- workers
  WORKER_POOLS: z.string().default('workflows,llm,sandbox,memory'),
  WORKER_WORKFLOW_CONCURRENCY: int(50, 1),
  WORKER_LLM_CONCURRENCY: int(8, 1),
  WORKER_SANDBOX_CONCURRENCY: int(2, 1),
  WORKER_MEMORY_CONCURRENCY: int(4, 1),
  WORKER_SHUTDOWN_GRACE_MS: int(10_000, 0),
  WORKER_METRICS_PORT: int(0, 0),
  WORKER_SDK_METRICS_PORT: int(0, 0),
  WORKER_WORKFLOW_BUNDLE: optionalString,

  // --- LLM
  OPENAI_BASE_URL: optionalUrl,
  OPENAI_API_KEY: optionalString,
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  SOPHIA_LOCAL_MODEL: z.enum(['1.5b', '0.5b', 'off']).default('1.5b'),
  SOPHIA_LOCAL_MODEL_PORT: int(8091, 1),
  SOPHIA_LOCAL_MODEL_CONTEXT: int(16_384, 2_048),
  SOPHIA_LOCAL_MODEL_PARALLEL: int(2, 1),
  SOPHIA_LOCAL_MODEL_THREADS: int(0, 0),
  LLM_CONTEXT_TOKENS: int(32_768, 1_024),
  OPENAI_TIMEOUT_MS: int(120_000, 1),
  LLM_STRUCTURED_OUTPUT: z.enum(['auto', 'json_schema', 'json_object']).default('auto'),
  LLM_TEMPERATURE: num(0.2),
  LLM_MAX_TOKENS: int(4096, 1),
  LLM_PRICE_INPUT_PER_MTOK: z.coerce.number().min(0).optional(),
  LLM_PRICE_OUTPUT_PER_MTOK: z.coerce.number().min(0).optional(),
  LLM_CACHE_TTL_SECONDS: int(7 * 24 * 3600, 0),
  LLM_RATE_LIMIT_RPM: int(0, 0),
  LLM_STALL_TIMEOUT_MS: int(30_000, 1),

  // --- job defaults
  JOB_MAX_ITERATIONS: int(4, 1),
  JOB_MAX_TOKENS: int(200_000, 1),
  JOB_MAX_COST_USD: num(2),
  APPROVAL_TIMEOUT: z.string().default('24h'),
  APPROVAL_DEFAULT_OUTCOME: z.enum(['approve', 'reject']).default('reject'),
  JOB_CONTINUE_AS_NEW_AFTER: int(10, 1),
  JOB_DRAFTS: int(6, 1),

  // --- Redis
  REDIS_URL: optionalString,

  // --- traces (common/tracing.ts); the OTLP exporter reads the OTEL_EXPORTER_OTLP_* variables itself
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  OTEL_SERVICE_NAME: optionalString,

  // --- memory
  MEMORY_STORE: z.enum(['embedded', 'qdrant']).default('embedded'),
  QDRANT_URL: optionalUrl,
  QDRANT_API_KEY: optionalString,
  EMBEDDINGS_PROVIDER: z.enum(['hash', 'openai']).default('hash'),
  EMBEDDINGS_MODEL: z.string().default('text-embedding-3-small'),
  EMBEDDINGS_DIMENSION: int(768, 8),
  MEMORY_RECALL_MIN_SCORE: z.coerce.number().min(0).max(1).default(0.5),

  // --- sandbox
  SANDBOX_DRIVER: z.enum(['auto', 'bwrap', 'process']).default('auto'),
  SANDBOX_ALLOW_UNSANDBOXED: bool(false),
  SANDBOX_TIMEOUT_MS: int(60_000, 100),
  SANDBOX_MEMORY_MB: int(1024, 16),
  SANDBOX_MAX_PROCESSES: int(256, 1),
  SANDBOX_CPUS: num(1, 0.01),
  SANDBOX_MAX_FILE_MB: int(64, 1),
  SANDBOX_OUTPUT_LIMIT_KB: int(1024, 1),
  SANDBOX_TOOLS_DIR: optionalString,
  SANDBOX_STAGING_DIR: optionalString,

  // --- git repositories and forges
  SOPHIA_GIT_CACHE_DIR: optionalString,
  SOPHIA_GIT_CREDENTIALS_FILE: optionalString,
  SOPHIA_GIT_AUTHOR: z.string().default('Sophia Code <sophia-code@users.noreply.github.com>'),
  GITHUB_API_URL: z.string().default('https://api.github.com'),
  GITHUB_HOST: z.string().default('github.com'),

  // --- analysis
  ANALYSIS_KUBERNETES_VERSION: z
    .string()
    .regex(/^v?1\.[0-9]+(\.0)?$/, 'a Kubernetes minor version such as 1.34 (kubernetes-validate ships 1.25–1.37)')
    .default('1.34')
    .transform((v) => `${v.replace(/^v/, '').replace(/\.0$/, '')}.0`),

  // --- Codacy
  CODACY_API_TOKEN: optionalString,
  CODACY_BASE_URL: z.string().default('https://app.codacy.com/api/v3'),
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Omit<Env, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'> {
  /** The frontend: TEMPORAL_ADDRESS, else the profile's address, else 127.0.0.1:7233. */
  TEMPORAL_ADDRESS: string;
  /** TEMPORAL_NAMESPACE, else the profile's namespace, else `default`. */
  TEMPORAL_NAMESPACE: string;
  /** The Temporal connection profile (TOML file and TEMPORAL_* variables) that temporal/node/connection.ts connects with. */
  temporal: ClientConfigProfile;
  /** Absolute data directory. */
  dataDir: string;
  /** Absolute project root. */
  projectRoot: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(
      'Invalid configuration:\n' +
        issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n') +
        '\nFix these environment variables (see the config table in README.md) and start again.',
    );
    this.name = 'ConfigError';
  }
}

export const projectRoot = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');

/** Parses an environment; throws `ConfigError` naming each bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '?'), message: issue.message })),
    );
  }
  const parsed = result.data;
  let temporal: ClientConfigProfile;
  try {
    temporal = temporalProfile(env);
  } catch (err) {
    const message = (err as Error).message;
    const variable =
      /^Profile .* not found/.test(message) || !env.TEMPORAL_CONFIG_FILE?.trim()
        ? 'TEMPORAL_PROFILE'
        : 'TEMPORAL_CONFIG_FILE';
    throw new ConfigError([{ variable, message: `the Temporal client config could not be read: ${message}` }]);
  }
  return {
    ...parsed,
    TEMPORAL_ADDRESS: temporal.address ?? '127.0.0.1:7233',
    TEMPORAL_NAMESPACE: temporal.namespace ?? 'default',
    TEMPORAL_API_KEY: temporal.apiKey,
    temporal,
    dataDir: path.resolve(projectRoot, parsed.SOPHIA_DATA_DIR),
    projectRoot,
  };
}

/** Our older names of the mTLS paths, read as envconfig's standard ones when those are unset. */
const LEGACY_TLS_VARIABLES: Record<string, string> = {
  TEMPORAL_TLS_CERT_PATH: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY_PATH: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_CA_PATH: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
};

/**
 * The Temporal connection profile, as Temporal's own envconfig reads it: the profile TEMPORAL_PROFILE
 * (else `default`) of the TOML file TEMPORAL_CONFIG_FILE (else ~/.config/temporalio/temporal.toml, when
 * it exists), overridden by the standard variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_GRPC_META_*). An empty variable counts as unset. Throws on
 * an unreadable file or a profile that it does not have.
 */
export function temporalProfile(env: NodeJS.ProcessEnv = process.env): ClientConfigProfile {
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value?.trim() && (key.startsWith('TEMPORAL_') || ['HOME', 'XDG_CONFIG_HOME', 'APPDATA'].includes(key)))
      vars[key] = value.trim();
  }
  for (const [legacy, standard] of Object.entries(LEGACY_TLS_VARIABLES))
    if (vars[legacy] && !vars[standard]) vars[standard] = vars[legacy];
  // envconfig takes a missing file for no file; one named on purpose must be there.
  const named = vars.TEMPORAL_CONFIG_FILE;
  if (named && !fs.existsSync(named)) throw new Error(`${named} does not exist`);
  return loadClientConfigProfile({ overrideEnvVars: vars });
}

let cached: Config | undefined;

/** The process's config, parsed once. */
export function config(): Config {
  cached ??= parseConfig();
  return cached;
}

/** For tests that change the environment. */
export function resetConfig(): void {
  cached = undefined;
}
