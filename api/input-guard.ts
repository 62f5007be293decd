import type { RequestHandler } from 'express';
import { isWellFormedText } from '../common/path-policy';
import { HttpError } from './errors';

/**
 * Bounds every parsed JSON body before any schema sees it: how deep it nests, how many values it
 * holds, and that every string (and key) is well-formed Unicode. A 140,000-key map is refused here in
 * one pass, instead of being validated key by key into an error of megabytes; a lone UTF-16
 * surrogate is a 400 naming where it is, not a 500 from whatever later chokes on it.
 */

/** More values than any valid request has (100 files, 100 memory items with their tags…). */
export const MAX_JSON_VALUES = 10_000;
export const MAX_JSON_DEPTH = 32;

interface Problem {
  path: string;
  message: string;
}

function inspect(body: unknown): Problem | undefined {
  let values = 0;
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: body, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (++values > MAX_JSON_VALUES) return { path: '(body)', message: `more than ${MAX_JSON_VALUES} values` };
    if (typeof value === 'string') {
      if (!isWellFormedText(value))
        return { path: path || '(body)', message: 'a lone UTF-16 surrogate (not valid Unicode)' };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) return { path: path || '(body)', message: `nested deeper than ${MAX_JSON_DEPTH}` };
    // Count before walking: a 140,000-key map is refused here without touching its entries.
    const size = Array.isArray(value) ? value.length : Object.keys(value).length;
    if (values + stack.length + size > MAX_JSON_VALUES)
      return { path: path || '(body)', message: `more than ${MAX_JSON_VALUES} values` };
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    for (const [key, child] of entries) {
      const childPath = path ? `${path}.${key.slice(0, 100)}` : key.slice(0, 100);
      if (!isWellFormedText(key)) return { path: path || '(body)', message: 'a key with a lone UTF-16 surrogate' };
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return undefined;
}

export function guardBody(): RequestHandler {
  return (req, _res, next) => {
    // A body the JSON parser skipped (text/plain, a form, no type at all) would reach the routes as
    // no body, and be refused for fields it may well hold: say what to send instead.
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
    if (hasBody && !req.is('application/json'))
      return next(new HttpError(415, 'UnsupportedMediaType', 'Send JSON with Content-Type: application/json.'));
    const problem = req.body === undefined ? undefined : inspect(req.body);
    if (problem) return next(new HttpError(400, 'InvalidInput', 'The request is invalid.', { fields: [problem] }));
    // Route and query strings too: a lone surrogate there is decoded by Express before any route runs.
    for (const [key, value] of Object.entries(req.query)) {
      const values = Array.isArray(value) ? value : [value];
      if (!isWellFormedText(key) || values.some((v) => typeof v === 'string' && !isWellFormedText(v)))
        return next(
          new HttpError(400, 'InvalidInput', 'The request is invalid.', {
            fields: [{ path: `query.${key.slice(0, 50)}`, message: 'not valid Unicode' }],
          }),
        );
    }
    next();
  };
}
