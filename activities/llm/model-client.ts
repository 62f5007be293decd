import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ApplicationFailure } from '@temporalio/common';
import { artifactStore, type ArtifactRef } from '../artifacts';
import { config, type Config } from '../../common/config';
import { tracer } from '../../common/tracing';
import { activityLog } from '../context';
import { llmCallDuration, llmCalls, llmCostUsd, llmTokens } from '../metrics';
import { readCache, writeCache } from './answer-cache';
import { completeWithFallback, type CallContext, type CompletionOutcome } from './completion';
import { initialMode, resetEndpoints, resolveEndpoint, type Endpoint } from './endpoint';
import { modelFailure } from './model-errors';
import type { ChatMessage, ModelCallInput, ModelCallResult, ModelUsage } from './model-types';
import { priceOf, type Price } from './pricing';
import { requestHash } from './request-hash';
import { outputJsonSchema, parseStructuredOutput, repairInstructions } from './structured-output';

export type { ChatMessage, ModelCallInput, ModelCallResult, ModelUsage } from './model-types';

/**
 * Calls the model once for a structured answer: the response cache first, then the endpoint with
 * `json_schema` output (or `json_object` plus the schema in the prompt where the endpoint lacks it),
 * zod validation, and one repair round when the answer does not validate.
 *
 * Idempotent: a validated answer is cached under its request hash, so a retried activity does not pay
 * for it again. Never retries by itself (the `openai` client runs with `maxRetries: 0`): Temporal owns
 * retries. Call it from an activity with a heartbeatTimeout above 1 s when streaming.
 *
 * Failures (`ApplicationFailure` types from the catalogue): ModelConfig, ModelAuth, ModelRequestInvalid,
 * ModelRefused, ModelOutputInvalid (raw output stored as an artifact, id in the details) are
 * non-retryable; ModelRateLimited (with `nextRetryDelay` from retry-after) and ModelUnavailable (5xx,
 * connection errors, timeouts, stalls, unreadable responses) are retryable.
 */
export async function callModel<T>(input: ModelCallInput<T>): Promise<ModelCallResult<T>> {
  // A span per call, under the activity's: its token counts and cost, never the prompt or the answer.
  return tracer().startActiveSpan(`llm ${input.purpose}`, { kind: SpanKind.CLIENT }, async (span) => {
    span.setAttributes({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': config().OPENAI_MODEL,
      'sophia.llm.purpose': input.purpose,
      'sophia.llm.schema': input.schemaName,
    });
    try {
      const result = await callModelCounted(input);
      span.setAttributes({
        'gen_ai.response.model': result.model,
        'gen_ai.usage.input_tokens': result.usage.promptTokens,
        'gen_ai.usage.output_tokens': result.usage.completionTokens,
        'sophia.llm.total_tokens': result.usage.totalTokens,
        'sophia.llm.cost_usd': result.costUsd,
        'sophia.llm.cached': result.cached,
        'sophia.llm.repaired': result.repaired,
        'sophia.llm.truncated': result.truncated,
      });
      return result;
    } catch (err) {
      const type = err instanceof ApplicationFailure && err.type ? err.type : 'error';
      span.setAttribute('error.type', type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: type });
      throw err;
    } finally {
      span.end();
    }
  });
}

async function callModelCounted<T>(input: ModelCallInput<T>): Promise<ModelCallResult<T>> {
  const end = llmCallDuration.startTimer({ purpose: input.purpose });
  try {
    const result = await callModelUncounted(input);
    const outcome = result.cached ? 'cached' : result.repaired ? 'repaired' : 'ok';
    llmCalls.inc({ purpose: input.purpose, model: result.model, outcome });
    if (!result.cached) {
      llmTokens.inc({ purpose: input.purpose, model: result.model, kind: 'prompt' }, result.usage.promptTokens);
      llmTokens.inc({ purpose: input.purpose, model: result.model, kind: 'completion' }, result.usage.completionTokens);
      llmCostUsd.inc({ purpose: input.purpose, model: result.model }, result.costUsd);
    }
    end({ outcome });
    return result;
  } catch (err) {
    const outcome = err instanceof ApplicationFailure && err.type ? err.type : 'error';
    llmCalls.inc({ purpose: input.purpose, model: config().OPENAI_MODEL, outcome });
    end({ outcome });
    throw err;
  }
}

async function callModelUncounted<T>(input: ModelCallInput<T>): Promise<ModelCallResult<T>> {
  const cfg = config();
  const endpoint = resolveEndpoint(cfg);
  const log = activityLog('llm', { purpose: input.purpose });
  const temperature = input.temperature ?? cfg.LLM_TEMPERATURE;
  const maxTokens = completionBudget(input, cfg);
  const hash = requestHash({
    model: endpoint.model,
    messages: input.messages,
    schemaName: input.schemaName,
    temperature,
    maxTokens,
    ...(input.seed === undefined ? {} : { seed: input.seed }),
  });
  const started = Date.now();
  const price = priceOf(cfg, endpoint.baseURL, endpoint.model);

  const hit = await readCache(hash, input.schema, log);
  if (hit) {
    log.info('model answer served from the response cache', { model: hit.model, requestHash: hash, ...hit.usage });
    return {
      value: hit.value,
      usage: hit.usage,
      costUsd: costOf(hit.usage, price),
      pricing: price.pricing,
      model: hit.model,
      cached: true,
      repaired: hit.repaired,
      reading: hit.reading,
      truncated: hit.reading === 'truncated',
      requestHash: hash,
    };
  }

  log.debug('model request', { messages: input.messages, requestHash: hash });
  const jsonSchema = outputJsonSchema(input.schema);
  const call: CallContext = {
    endpoint,
    cfg,
    input,
    jsonSchema,
    temperature,
    maxTokens,
    mode: initialMode(cfg, endpoint),
  };

  const first = await completeWithFallback(call, input.messages);
  let usage = first.usage;
  let parsed = parseStructuredOutput(first.content, input.schema, {
    finishReason: first.finishReason,
    reader: input.reader,
    proseFirst: input.output === 'text',
  });
  let repaired = false;
  let lastFinish = first.finishReason;
  if (!parsed.ok) {
    log.warn('model answer is invalid; asking the model to repair it', { model: endpoint.model, error: parsed.error });
    const repairMessages: ChatMessage[] = [
      ...input.messages,
      { role: 'assistant', content: first.content === '' ? '(empty answer)' : first.content },
      {
        role: 'user',
        content:
          input.output === 'text'
            ? `Your previous answer cannot be used. ${truncationHint(first, parsed.error, maxTokens)}\n\nAnswer again, as asked: each file as one Markdown code block, with the file's path alone on the line before it.`
            : repairInstructions(input.schemaName, jsonSchema, truncationHint(first, parsed.error, maxTokens)),
      },
    ];
    const second = await completeWithFallback(call, repairMessages);
    lastFinish = second.finishReason;
    usage = addUsage(usage, second.usage);
    const firstError = parsed.error;
    parsed = parseStructuredOutput(second.content, input.schema, {
      finishReason: second.finishReason,
      reader: input.reader,
      proseFirst: input.output === 'text',
    });
    repaired = true;
    if (!parsed.ok) {
      throw await outputInvalid(input, endpoint, [first.content, second.content], [firstError, parsed.error], usage);
    }
  }

  const costUsd = costOf(usage, price);
  await writeCache(
    hash,
    { v: 1, value: parsed.value, usage, model: endpoint.model, repaired, reading: parsed.reading },
    cfg,
    log,
  );
  log.info('model call finished', {
    model: endpoint.model,
    mode: call.mode,
    ...usage,
    costUsd,
    repaired,
    durationMs: Date.now() - started,
    requestHash: hash,
  });
  return {
    value: parsed.value,
    usage,
    costUsd,
    pricing: price.pricing,
    model: endpoint.model,
    cached: false,
    repaired,
    reading: parsed.reading,
    truncated: lastFinish === 'length',
    requestHash: hash,
  };
}

/** Forgets the cached `openai` client and the endpoints known to need json_object; for tests. */
export function resetModelClient(): void {
  resetEndpoints();
}

/** Characters per token assumed when counting a prompt: low, so an estimate errs on the long side. */
export const CHARS_PER_TOKEN_ESTIMATE = 3;

/** A conservative token count of messages (chat-template overhead included). */
export function estimateTokens(messages: ChatMessage[]): number {
  return messages.reduce((n, m) => n + 8 + Math.ceil(m.content.length / CHARS_PER_TOKEN_ESTIMATE), 0);
}

/**
 * The completion's max_tokens: what the call asks (or LLM_MAX_TOKENS), cut to what the context window
 * (LLM_CONTEXT_TOKENS) leaves after the prompt. Prompts are built to fit (see prompts.ts), so this
 * only bites on an estimate that was off; it never goes below 256 tokens.
 */
function completionBudget(input: ModelCallInput<unknown>, cfg: Config): number {
  const wanted = input.maxTokens ?? cfg.LLM_MAX_TOKENS;
  const left = cfg.LLM_CONTEXT_TOKENS - estimateTokens(input.messages) - 32;
  return Math.max(256, Math.min(wanted, left));
}

function truncationHint(outcome: CompletionOutcome, error: string, maxTokens: number): string {
  if (outcome.finishReason !== 'length') return error;
  return `${error}\nThe answer was cut off at the ${maxTokens}-token limit: keep it shorter.`;
}

async function outputInvalid(
  input: ModelCallInput<unknown>,
  endpoint: Endpoint,
  outputs: [string, string],
  errors: [string, string],
  usage: ModelUsage,
): Promise<ApplicationFailure> {
  const store = artifactStore();
  const [firstRaw, lastRaw]: ArtifactRef[] = await Promise.all(outputs.map((o) => store.put(o, 'text/plain')));
  return modelFailure(
    'ModelOutputInvalid',
    `The model (${endpoint.model}) answered ${input.purpose} with output that does not match schema ` +
      `"${input.schemaName}", even after a repair round: ${errors[1]} (raw output: artifact ${lastRaw?.id})`,
    {
      details: [
        {
          schemaName: input.schemaName,
          purpose: input.purpose,
          rawOutputArtifactId: lastRaw?.id,
          rawOutput: lastRaw,
          firstRawOutput: firstRaw,
          errors,
          usage,
        },
      ],
    },
  );
}

function costOf(usage: ModelUsage, price: Price): number {
  const usd = (usage.promptTokens * price.inputPerMTok + usage.completionTokens * price.outputPerMTok) / 1e6;
  // Float noise would make equal costs compare unequal in tests and results.
  return Math.round(usd * 1e9) / 1e9;
}

function addUsage(a: ModelUsage, b: ModelUsage): ModelUsage {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
}
