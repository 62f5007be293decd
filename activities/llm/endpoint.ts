import OpenAI from 'openai';
import type { Config } from '../../common/config';
import { logger } from '../../common/logger';
import { modelFailure } from './model-errors';

/**
 * The model endpoint a call goes to: the OpenAI-compatible server OPENAI_BASE_URL / OPENAI_API_KEY
 * name, one `openai` client per base URL, key and timeout, and how it takes the answer's schema.
 */

/** How the schema is asked for: natively, or in the prompt with JSON mode. */
export type OutputMode = 'json_schema' | 'json_object';

export interface Endpoint {
  client: OpenAI;
  baseURL: string;
  model: string;
}

let clientCache: { key: string; client: OpenAI } | undefined;

/** Endpoints (base URL + model) that answered 400 to json_schema but work with json_object. */
const jsonObjectEndpoints = new Set<string>();

const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export function resolveEndpoint(cfg: Config): Endpoint {
  if (!cfg.OPENAI_BASE_URL && !cfg.OPENAI_API_KEY) {
    throw modelFailure(
      'ModelConfig',
      'No model is configured. Set OPENAI_BASE_URL to any OpenAI-compatible server ' +
        '(e.g. OPENAI_BASE_URL=http://localhost:11434/v1 for Ollama, with OPENAI_MODEL set to a model it serves), ' +
        'or set OPENAI_API_KEY to use api.openai.com; then restart the LLM worker and retry the job.',
    );
  }
  const baseURL = cfg.OPENAI_BASE_URL ?? OPENAI_DEFAULT_BASE_URL;
  // Local servers need no key, but the openai package insists on one; they ignore the header.
  const apiKey = cfg.OPENAI_API_KEY ?? 'not-needed';
  const key = `${baseURL}\n${apiKey}\n${cfg.OPENAI_TIMEOUT_MS}`;
  if (clientCache?.key !== key) {
    // maxRetries 0: a retry inside the activity would hide 429s and 5xx from Temporal's retry policy.
    clientCache = {
      key,
      client: new OpenAI({
        baseURL,
        apiKey,
        maxRetries: 0,
        timeout: cfg.OPENAI_TIMEOUT_MS,
        // The package's own error lines (e.g. an unparsable SSE chunk) are diagnostics: the call
        // reports its typed failure anyway, so they go to debug instead of raw console.error.
        logLevel: 'error',
        logger: openaiLogger(),
      }),
    };
  }
  return { client: clientCache.client, baseURL, model: cfg.OPENAI_MODEL };
}

function openaiLogger(): NonNullable<ConstructorParameters<typeof OpenAI>[0]>['logger'] {
  const log = logger('llm');
  const write = (message: string, ...rest: unknown[]) => log.debug({ detail: rest.map(String) }, `openai: ${message}`);
  return { error: write, warn: write, info: write, debug: write };
}

function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.baseURL}\n${endpoint.model}`;
}

export function initialMode(cfg: Config, endpoint: Endpoint): OutputMode {
  if (cfg.LLM_STRUCTURED_OUTPUT === 'json_object') return 'json_object';
  if (cfg.LLM_STRUCTURED_OUTPUT === 'auto' && jsonObjectEndpoints.has(endpointKey(endpoint))) return 'json_object';
  return 'json_schema';
}

/** Remembers, for the rest of the process, that this endpoint takes json_object but not json_schema. */
export function rememberJsonObjectEndpoint(endpoint: Endpoint): void {
  jsonObjectEndpoints.add(endpointKey(endpoint));
}

/** Forgets the cached `openai` client and the endpoints known to need json_object; for tests. */
export function resetEndpoints(): void {
  clientCache = undefined;
  jsonObjectEndpoints.clear();
}
