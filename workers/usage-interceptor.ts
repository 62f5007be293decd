import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { estimateCall } from '../common/call-budget';
import type { Config } from '../common/config';
import { FAILURES } from '../common/failures';
import { tenantOfWorkflowId, tenantScope, usageLedger, utcDay, type UsageLedger } from '../common/usage-ledger';

/** The estimate of one model call before it is made: its input as the prompt, plus LLM_MAX_TOKENS. */
export function estimateCallTokens(args: unknown[], maxCompletionTokens: number): number {
  return estimateCall(args, {
    LLM_MAX_TOKENS: maxCompletionTokens,
    LLM_PRICE_INPUT_PER_MTOK: 0,
    LLM_PRICE_OUTPUT_PER_MTOK: 0,
  }).tokens;
}

interface CallUsage {
  totalTokens?: number;
  costUsd?: number;
  cached?: boolean;
}

/**
 * The llm pool's quota keeper: before each model activity it checks the tenant's tokens and cost of
 * the UTC day, plus an estimate of this call, against QUOTA_TOKENS_PER_DAY and QUOTA_COST_USD_PER_DAY
 * (over: a non-retryable `QuotaExceeded`); after it, it adds what the call billed (a cached answer is
 * not billed again). The tenant comes from the workflow id the API made. Redis holds the figures when
 * configured, the process otherwise. A ledger outage never fails a call.
 */
export function usageInterceptor(
  cfg: Pick<Config, 'REDIS_URL' | 'QUOTA_TOKENS_PER_DAY' | 'QUOTA_COST_USD_PER_DAY' | 'LLM_MAX_TOKENS'>,
  ledger: UsageLedger = usageLedger(cfg.REDIS_URL),
): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const tenant = tenantOfWorkflowId(ctx.info.workflowExecution?.workflowId ?? '');
        if (!tenant) return next(input);
        const scope = tenantScope(tenant);
        const day = utcDay();
        const maxTokens = cfg.QUOTA_TOKENS_PER_DAY;
        const maxCost = cfg.QUOTA_COST_USD_PER_DAY;
        if (maxTokens > 0 || maxCost > 0) {
          const used = await ledger.get(scope, day).catch(() => undefined);
          const estimate = estimateCallTokens(input.args, cfg.LLM_MAX_TOKENS);
          if (
            used &&
            ((maxTokens > 0 && used.tokens + estimate > maxTokens) || (maxCost > 0 && used.costUsd >= maxCost))
          ) {
            throw ApplicationFailure.create({
              type: 'QuotaExceeded',
              nonRetryable: true,
              message: `The tenant's model usage today (${used.tokens} tokens, $${used.costUsd.toFixed(4)}) plus this call (about ${estimate} tokens) is over its daily quota. ${FAILURES.QuotaExceeded.hint}`,
            });
          }
        }
        const result = await next(input);
        const usage = (result as { usage?: CallUsage } | undefined)?.usage;
        if (usage && !usage.cached && (usage.totalTokens ?? 0) > 0) {
          await ledger
            .add(scope, day, { tokens: usage.totalTokens ?? 0, costUsd: usage.costUsd ?? 0 })
            .catch(() => undefined);
        }
        return result;
      },
    },
  });
}
