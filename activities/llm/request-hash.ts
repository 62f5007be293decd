import { createHash } from 'node:crypto';
import { canonicalJson } from '../../common/canonical-json';

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
