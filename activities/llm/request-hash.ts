import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every depth, so equal values always give equal text (and hash),
 * whatever order their keys were built in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** The fields that decide a model answer; two calls with equal fields may share one answer. */
export interface HashedRequest {
  model: string;
  messages: { role: string; content: string }[];
  schemaName: string;
  temperature: number;
  maxTokens: number;
}

/** `sha256:<hex>` of the canonical JSON of the request: the response-cache key. */
export function requestHash(request: HashedRequest): string {
  const { model, messages, schemaName, temperature, maxTokens } = request;
  const canonical = canonicalJson({ model, messages, schemaName, temperature, maxTokens });
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}
