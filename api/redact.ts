import type { Config } from '../common/config';

/**
 * What an answer never carries: the values of configured secrets, credentials inside URLs, and host
 * paths (a failure from a worker may name its files). The detail stays in the logs.
 */

const SECRET_VARIABLES = [
  'OPENAI_API_KEY',
  'TEMPORAL_API_KEY',
  'QDRANT_API_KEY',
  'CODACY_API_TOKEN',
  'API_TOKEN',
] as const satisfies readonly (keyof Config)[];

/** The secret values of a config, longest first (so one containing another is replaced whole). */
export function configuredSecrets(cfg: Partial<Config>): string[] {
  const secrets: string[] = [];
  for (const name of SECRET_VARIABLES) {
    const value = cfg[name];
    if (typeof value === 'string' && value.length >= 4) secrets.push(value);
  }
  for (const entry of (cfg.API_KEYS ?? '').split(',')) {
    const key = entry.trim().split(':').slice(1).join(':');
    const bare = key.replace(/^(member|admin):/, '');
    for (const k of [key, bare]) if (k.length >= 4) secrets.push(k);
  }
  for (const url of [cfg.REDIS_URL, cfg.QDRANT_URL, cfg.OPENAI_BASE_URL]) {
    const password = url ? /\/\/[^/@]*:([^/@]+)@/.exec(url)?.[1] : undefined;
    if (password && password.length >= 4) secrets.push(password, decodeURIComponent(password));
  }
  return [...new Set(secrets)].sort((a, b) => b.length - a.length);
}

const CREDENTIALED_URL = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]+@/gi;
/** An absolute path of two or more segments, not one of the API's own routes. */
const HOST_PATH = /(^|[\s'"(=:,[])(\/(?!api\/)(?:[\w.@+~-]+\/)+[\w.@+~-]*)/g;

export function redactText(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out.replace(CREDENTIALED_URL, '$1***@').replace(HOST_PATH, '$1<path>');
}

const MAX_STRING = 2_000;
const MAX_ITEMS = 20;

/** Details as answered: strings redacted and cut, arrays of at most 20 items, nesting bounded. */
export function redactDetails(value: unknown, secrets: string[], depth = 0): unknown {
  if (typeof value === 'string') {
    const cut = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
    return redactText(cut, secrets);
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth > 6) return '…';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => redactDetails(v, secrets, depth + 1));
    return value.length > MAX_ITEMS ? [...items, `… and ${value.length - MAX_ITEMS} more`] : items;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, 50)) out[k] = redactDetails(v, secrets, depth + 1);
  return out;
}
