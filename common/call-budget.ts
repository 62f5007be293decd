/**
 * What a model call may cost before it is made, and whether it fits what is left of a budget. Pure,
 * so the llm pool and its quota interceptor share one estimate. High rather than low: the prompt at
 * about four characters a token, plus the largest answer the call may get (LLM_MAX_TOKENS).
 */

export interface CallEstimate {
  tokens: number;
  costUsd: number;
}

export interface BudgetLeft {
  tokens: number;
  costUsd: number;
}

const CHARS_PER_TOKEN = 4;

export function estimateCall(
  prompt: unknown,
  cfg: { LLM_MAX_TOKENS: number; LLM_PRICE_INPUT_PER_MTOK: number; LLM_PRICE_OUTPUT_PER_MTOK: number },
): CallEstimate {
  let chars = 0;
  try {
    chars = typeof prompt === 'string' ? prompt.length : (JSON.stringify(prompt)?.length ?? 0);
  } catch {
    chars = 0;
  }
  const promptTokens = Math.ceil(chars / CHARS_PER_TOKEN);
  return {
    tokens: promptTokens + cfg.LLM_MAX_TOKENS,
    costUsd: (promptTokens * cfg.LLM_PRICE_INPUT_PER_MTOK + cfg.LLM_MAX_TOKENS * cfg.LLM_PRICE_OUTPUT_PER_MTOK) / 1e6,
  };
}

/** Whether a call estimated at `next` still fits after `spent`, within `left`. */
export function fitsBudget(spent: { totalTokens: number; costUsd: number }, next: CallEstimate, left: BudgetLeft) {
  return spent.totalTokens + next.tokens <= left.tokens && spent.costUsd + next.costUsd <= left.costUsd;
}
