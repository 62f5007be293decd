import type { z } from 'zod';
import type { Config } from '../../common/config';
import type { ActivityLog } from '../context';
import type { ModelUsage } from './model-types';
import { responseCache } from './response-cache';
import type { AnswerReadingKind } from './structured-output';

/**
 * Validated answers by request hash, so a retried activity does not pay for an answer twice. A read
 * re-validates against the call's schema; a broken cache never fails the call.
 */

export interface CachedAnswer {
  v: 1;
  value: unknown;
  usage: ModelUsage;
  model: string;
  repaired: boolean;
  reading?: AnswerReadingKind;
}

type Log = ActivityLog;

export async function readCache<T>(
  hash: string,
  schema: z.ZodType<T>,
  log: Log,
): Promise<{ value: T; usage: ModelUsage; model: string; repaired: boolean; reading: AnswerReadingKind } | undefined> {
  let text: string | undefined;
  try {
    text = await responseCache().get(hash);
  } catch (err) {
    log.warn('response cache read failed; calling the model', { err: String(err) });
    return undefined;
  }
  if (text === undefined) return undefined;
  try {
    const entry = JSON.parse(text) as CachedAnswer;
    // The schema may have changed since the answer was cached under the same name: re-validate.
    const value = schema.safeParse(entry.value);
    if (entry.v !== 1 || !value.success) return undefined;
    return {
      value: value.data,
      usage: entry.usage,
      model: entry.model,
      repaired: entry.repaired,
      reading: entry.reading ?? 'as-sent',
    };
  } catch {
    return undefined;
  }
}

export async function writeCache(hash: string, entry: CachedAnswer, cfg: Config, log: Log): Promise<void> {
  try {
    await responseCache().set(hash, JSON.stringify(entry), cfg.LLM_CACHE_TTL_SECONDS);
  } catch (err) {
    // The answer is good; losing its cache entry only risks paying again on a retry.
    log.warn('response cache write failed', { err: String(err) });
  }
}
