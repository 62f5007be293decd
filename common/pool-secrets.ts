/**
 * Which secrets each process of the service may hold. Every other process gets none of them, so a
 * process that runs untrusted code (the sandbox pool) or needs no remote API (the memory pool) has
 * nothing to leak. `npm start` (scripts/stack.ts) builds each component's environment with
 * `componentEnv`; the Helm chart mirrors this table in `secrets.byComponent`, and
 * tests/unit/pool-secrets.test.ts holds the two to each other.
 */

/** Every secret variable of the config; the chart's Secret holds these keys. */
export const SECRET_KEYS = [
  'OPENAI_API_KEY',
  'API_KEYS',
  'API_TOKEN',
  'TEMPORAL_API_KEY',
  'QDRANT_API_KEY',
  'CODACY_API_TOKEN',
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

export type ComponentName = 'api' | 'workflows' | 'llm' | 'sandbox' | 'memory';

/**
 * The secrets each component needs, and nothing more:
 * - the API checks callers' tokens, reaches Temporal, and its /ready checks Qdrant and the model;
 * - the workflow pool only talks to Temporal;
 * - the llm pool calls the remote APIs: the model, and Codacy (`fetchCodacyFindings`);
 * - the sandbox pool runs generated code: it holds no secret at all;
 * - the memory pool reads and writes Qdrant.
 * The sandbox and memory pools reach Temporal Cloud with mTLS client certificates
 * (TEMPORAL_TLS_CERT_PATH / TEMPORAL_TLS_KEY_PATH), never with TEMPORAL_API_KEY.
 */
export const COMPONENT_SECRETS: Record<ComponentName, readonly SecretKey[]> = {
  api: ['API_KEYS', 'API_TOKEN', 'TEMPORAL_API_KEY', 'QDRANT_API_KEY', 'OPENAI_API_KEY'],
  workflows: ['TEMPORAL_API_KEY'],
  llm: ['OPENAI_API_KEY', 'TEMPORAL_API_KEY', 'CODACY_API_TOKEN'],
  sandbox: [],
  memory: ['QDRANT_API_KEY'],
};

/**
 * The environment of one component: the supervisor's own environment without the secrets the
 * component may not hold (all of them for a process that is none of the above, such as a local model
 * server), plus its own variables. With EMBEDDINGS_PROVIDER=openai the memory pool embeds through the
 * model endpoint and needs OPENAI_API_KEY too.
 */
export function componentEnv(
  component: ComponentName | undefined,
  env: NodeJS.ProcessEnv,
  extra: Record<string, string> = {},
): Record<string, string> {
  const allowed = new Set<string>(component ? COMPONENT_SECRETS[component] : []);
  if (component === 'memory' && env.EMBEDDINGS_PROVIDER === 'openai') allowed.add('OPENAI_API_KEY');
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if ((SECRET_KEYS as readonly string[]).includes(key) && !allowed.has(key)) continue;
    out[key] = value;
  }
  return { ...out, ...extra };
}

/**
 * Why this environment cannot start every component without handing one a secret it may not hold,
 * or undefined: with TEMPORAL_API_KEY alone the sandbox and memory pools could not reach Temporal.
 */
export function poolSecretsProblem(env: NodeJS.ProcessEnv): string | undefined {
  if (env.TEMPORAL_API_KEY && !(env.TEMPORAL_TLS_CERT_PATH && env.TEMPORAL_TLS_KEY_PATH)) {
    return 'TEMPORAL_API_KEY goes to the API, workflow and llm processes only; the sandbox and memory pools reach Temporal Cloud with mTLS: set TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH as well.';
  }
  return undefined;
}
