import { createHash } from 'node:crypto';
import { canonicalJson } from '../../common/canonical-json';

/** The fields that decide a model answer; two calls with equal fields may share one answer. */
export interface HashedRequest {
  model: string;
  messages: { role: string; content: string }[];
  schemaName: string;
  temperature: number;
  maxTokens: number;
  /** Only when set: requests without one keep the hash they always had. */
  seed?: number;
}

/** `sha256:<hex>` of the canonical JSON of the request: the response-cache key. */
export function requestHash(request: HashedRequest): string {
  const { model, messages, schemaName, temperature, maxTokens, seed } = request;
  const canonical = canonicalJson({
    model,
    messages,
    schemaName,
    temperature,
    maxTokens,
    ...(seed === undefined ? {} : { seed }),
  });
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}
