import type { Config } from '../../common/config';

/**
 * What a model call costs. Prices come from LLM_PRICE_*_PER_MTOK when set, else from the list below
 * for a model whose price is published; any other model costs 0 and says why (`local` for a server on
 * this machine, `unpriced` otherwise) instead of guessing another model's price.
 */
export type Pricing = 'configured' | 'list' | 'local' | 'unpriced';

/** USD per million tokens (input, output), as published by the provider. */
const LIST_PRICES: Record<string, [number, number]> = {
  'gpt-4o-mini': [0.15, 0.6],
  'gpt-4o': [2.5, 10],
  'gpt-4.1': [2, 8],
  'gpt-4.1-mini': [0.4, 1.6],
  'gpt-4.1-nano': [0.1, 0.4],
  'o4-mini': [1.1, 4.4],
};

export interface Price {
  inputPerMTok: number;
  outputPerMTok: number;
  pricing: Pricing;
}

export function priceOf(cfg: Config, baseURL: string, model: string): Price {
  if (cfg.LLM_PRICE_INPUT_PER_MTOK !== undefined || cfg.LLM_PRICE_OUTPUT_PER_MTOK !== undefined) {
    return {
      inputPerMTok: cfg.LLM_PRICE_INPUT_PER_MTOK ?? 0,
      outputPerMTok: cfg.LLM_PRICE_OUTPUT_PER_MTOK ?? 0,
      pricing: 'configured',
    };
  }
  const listed = LIST_PRICES[model.replace(/-\d{4}-\d{2}-\d{2}$/, '')];
  if (listed) return { inputPerMTok: listed[0], outputPerMTok: listed[1], pricing: 'list' };
  return { inputPerMTok: 0, outputPerMTok: 0, pricing: isLoopback(baseURL) ? 'local' : 'unpriced' };
}

function isLoopback(baseURL: string): boolean {
  try {
    const host = new URL(baseURL).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  } catch {
    return false;
  }
}
