import { Counter, Histogram } from 'prom-client';
import { once } from '../common/metrics';

/**
 * What the activities did, for Prometheus: model calls (by purpose, with tokens and cost), sandbox
 * runs and the tests in them, and analysis findings. Each worker serves these on WORKER_METRICS_PORT.
 */

export const llmCalls = once(
  'sophia_llm_calls_total',
  () =>
    new Counter({
      name: 'sophia_llm_calls_total',
      help: 'Model calls by purpose (generate, tests, review, refactor…), model and outcome: ok, repaired, cached, or the failure type.',
      labelNames: ['purpose', 'model', 'outcome'] as const,
    }),
);

export const llmTokens = once(
  'sophia_llm_tokens_total',
  () =>
    new Counter({
      name: 'sophia_llm_tokens_total',
      help: 'Tokens the model endpoint billed, by purpose, model and kind (prompt or completion). Cached answers are not counted again.',
      labelNames: ['purpose', 'model', 'kind'] as const,
    }),
);

export const llmCostUsd = once(
  'sophia_llm_cost_usd_total',
  () =>
    new Counter({
      name: 'sophia_llm_cost_usd_total',
      help: 'Estimated model cost in USD (LLM_PRICE_* per 1k tokens), by purpose and model.',
      labelNames: ['purpose', 'model'] as const,
    }),
);

export const llmCallDuration = once(
  'sophia_llm_call_duration_seconds',
  () =>
    new Histogram({
      name: 'sophia_llm_call_duration_seconds',
      help: 'Wall time of a model call, repair round and retries inside the client included, by purpose and outcome.',
      labelNames: ['purpose', 'outcome'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    }),
);

export const sandboxRuns = once(
  'sophia_sandbox_runs_total',
  () =>
    new Counter({
      name: 'sophia_sandbox_runs_total',
      help: 'Sandbox runs by driver (bwrap, process) and outcome: exit-0, exit-nonzero, timeout, violation or cancelled.',
      labelNames: ['driver', 'outcome'] as const,
    }),
);

export const sandboxRunDuration = once(
  'sophia_sandbox_run_duration_seconds',
  () =>
    new Histogram({
      name: 'sophia_sandbox_run_duration_seconds',
      help: 'Wall time of a sandbox run, set-up and clean-up included, by driver.',
      labelNames: ['driver'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    }),
);

export const testCases = once(
  'sophia_test_cases_total',
  () =>
    new Counter({
      name: 'sophia_test_cases_total',
      help: 'Test cases run in the sandbox, by language, runner and result (passed, failed, errors, skipped).',
      labelNames: ['language', 'runner', 'result'] as const,
    }),
);

export const analysisFindings = once(
  'sophia_analysis_findings_total',
  () =>
    new Counter({
      name: 'sophia_analysis_findings_total',
      help: 'Static-analysis findings reported, by tool (ruff, eslint, hadolint, kubernetes, readme, codacy) and severity.',
      labelNames: ['tool', 'severity'] as const,
    }),
);
