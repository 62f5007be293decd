import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import type { z } from 'zod';
import { artifactStore, type ArtifactRef } from '../artifacts';
import { config, type Config } from '../../common/config';
import { TokenPublisher, tokenBus } from '../../common/job-tokens';
import { logger } from '../../common/logger';
import { tracer } from '../../common/tracing';
import { llmCallDuration, llmCalls, llmCostUsd, llmTokens } from '../metrics';
import { modelFailure, toModelFailure, type ModelErrorContext } from './model-errors';
import { priceOf, type Price, type Pricing } from './pricing';
import { modelRateLimiter } from './rate-limit-hook';
import { requestHash } from './request-hash';
import { responseCache } from './response-cache';
import {
  outputJsonSchema,
  parseStructuredOutput,
  type AnswerReader,
  type AnswerReadingKind,
  repairInstructions,
  schemaInstructions,
  type OutputJsonSchema,
} from './structured-output';

/** One chat message. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Tokens of one model call (of both rounds when a repair round ran). */
export interface ModelUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** One structured model call. */
export interface ModelCallInput<T> {
  /** What the call is for (`generate`, `review`…): logs and heartbeats carry it. */
  purpose: string;
  messages: ChatMessage[];
  /** The answer's shape. Prefer `.nullable()` to `.optional()`, so the JSON schema can be strict. */
  schema: z.ZodType<T>;
  /** Names the schema for the endpoint (`^[a-zA-Z0-9_-]+$`), and is part of the request hash. */
  schemaName: string;
  /** Defaults to LLM_TEMPERATURE. */
  temperature?: number;
  /** Defaults to LLM_MAX_TOKENS. */
  maxTokens?: number;
  /** Default true: stream the answer, heartbeat while it arrives, and detect stalls. */
  stream?: boolean;
  /**
   * Fields merged into every heartbeat this call sends. An activity that keeps its own progress in
   * heartbeat details (e.g. the files a refactor has finished) passes it here, so a heartbeat from the
   * model call never overwrites it.
   */
  heartbeatDetails?: Record<string, unknown>;
  /** How to read answers that drift from the schema (other key names, code blocks instead of JSON). */
  reader?: AnswerReader;
  /**
   * `json` (default): structured output (json_schema, or json_object with the schema in the prompt).
   * `text`: no response_format; the prompt asks for code blocks, which `reader.fromProse` reads (a
   * JSON answer is still accepted). Code is written far better as code than as JSON strings by
   * small models, which copy placeholders and fence the content when asked for JSON.
   */
  output?: 'json' | 'text';
}

/** A validated answer and what it cost. */
export interface ModelCallResult<T> {
  value: T;
  usage: ModelUsage;
  /**
   * USD at the model's price (see `pricing.ts`). For a cached answer this is what the original call cost: a hit
   * means an earlier attempt paid for the answer but never returned it, so a job that sums the costs
   * of the results it receives counts each answer exactly once.
   */
  costUsd: number;
  /** Where the price came from; `local` and `unpriced` calls cost 0 (no price is guessed). */
  pricing: Pricing;
  model: string;
  /** True when the answer came from the response cache and no model request was made. */
  cached: boolean;
  /** True when the first answer was invalid and the repair round produced this one. */
  repaired: boolean;
  /** How the answer was read; `truncated` means cut-off JSON was closed here. */
  reading: AnswerReadingKind;
  /** True when the answer used was cut off at max_tokens (its last file may end mid-way). */
  truncated: boolean;
  /** The response-cache key: sha256 of the canonical request. */
  requestHash: string;
}

/** How the schema is asked for: natively, or in the prompt with JSON mode. */
type OutputMode = 'json_schema' | 'json_object';

interface Endpoint {
  client: OpenAI;
  baseURL: string;
  model: string;
}

interface CompletionOutcome {
  content: string;
  usage: ModelUsage;
  finishReason: string | null;
}

interface CachedAnswer {
  v: 1;
  value: unknown;
  usage: ModelUsage;
  model: string;
  repaired: boolean;
  reading?: AnswerReadingKind;
}

const HEARTBEAT_INTERVAL_MS = 1_000;
const HEARTBEAT_EVERY_CHUNKS = 50;

let clientCache: { key: string; client: OpenAI } | undefined;
/** Endpoints (base URL + model) that answered 400 to json_schema but work with json_object. */
const jsonObjectEndpoints = new Set<string>();

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
  const log = logger('llm', { ...activityBindings(), purpose: input.purpose });
  const temperature = input.temperature ?? cfg.LLM_TEMPERATURE;
  const maxTokens = completionBudget(input, cfg);
  const hash = requestHash({
    model: endpoint.model,
    messages: input.messages,
    schemaName: input.schemaName,
    temperature,
    maxTokens,
  });
  const started = Date.now();
  const price = priceOf(cfg, endpoint.baseURL, endpoint.model);

  const hit = await readCache(hash, input.schema, log);
  if (hit) {
    log.info({ model: hit.model, requestHash: hash, ...hit.usage }, 'model answer served from the response cache');
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

  log.debug({ messages: input.messages, requestHash: hash }, 'model request');
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
    log.warn({ model: endpoint.model, error: parsed.error }, 'model answer is invalid; asking the model to repair it');
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
  log.info(
    {
      model: endpoint.model,
      mode: call.mode,
      ...usage,
      costUsd,
      repaired,
      durationMs: Date.now() - started,
      requestHash: hash,
    },
    'model call finished',
  );
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
  clientCache = undefined;
  jsonObjectEndpoints.clear();
}

// ---------------------------------------------------------------------------------------------------
// Endpoint and output mode
// ---------------------------------------------------------------------------------------------------

const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

function resolveEndpoint(cfg: Config): Endpoint {
  if (!cfg.OPENAI_BASE_URL && !cfg.OPENAI_API_KEY) {
    throw modelFailure(
      'ModelConfig',
      'No model is configured. Set OPENAI_BASE_URL to any OpenAI-compatible server ' +
        '(e.g. OPENAI_BASE_URL=http://localhost:11434/v1 for Ollama, with OPENAI_MODEL set to a model it serves), ' +
        'or set OPENAI_API_KEY to use api.openai.com; then restart the LLM worker and retry the job.',
    );
  }
  const baseURL = cfg.OPENAI_BASE_URL ?? OPENAI_DEFAULT_BASE_URL;
  // Local servers need no key, but the openai package insists on one; they ignore the header.
  const apiKey = cfg.OPENAI_API_KEY ?? 'not-needed';
  const key = `${baseURL}\n${apiKey}\n${cfg.OPENAI_TIMEOUT_MS}`;
  if (clientCache?.key !== key) {
    // maxRetries 0: a retry inside the activity would hide 429s and 5xx from Temporal's retry policy.
    clientCache = {
      key,
      client: new OpenAI({
        baseURL,
        apiKey,
        maxRetries: 0,
        timeout: cfg.OPENAI_TIMEOUT_MS,
        // The package's own error lines (e.g. an unparsable SSE chunk) are diagnostics: the call
        // reports its typed failure anyway, so they go to debug instead of raw console.error.
        logLevel: 'error',
        logger: openaiLogger(),
      }),
    };
  }
  return { client: clientCache.client, baseURL, model: cfg.OPENAI_MODEL };
}

function openaiLogger(): NonNullable<ConstructorParameters<typeof OpenAI>[0]>['logger'] {
  const log = logger('llm');
  const write = (message: string, ...rest: unknown[]) => log.debug({ detail: rest.map(String) }, `openai: ${message}`);
  return { error: write, warn: write, info: write, debug: write };
}

function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.baseURL}\n${endpoint.model}`;
}

function initialMode(cfg: Config, endpoint: Endpoint): OutputMode {
  if (cfg.LLM_STRUCTURED_OUTPUT === 'json_object') return 'json_object';
  if (cfg.LLM_STRUCTURED_OUTPUT === 'auto' && jsonObjectEndpoints.has(endpointKey(endpoint))) return 'json_object';
  return 'json_schema';
}

interface CallContext {
  endpoint: Endpoint;
  cfg: Config;
  input: ModelCallInput<unknown>;
  jsonSchema: OutputJsonSchema;
  temperature: number;
  maxTokens: number;
  /** Changes to json_object when the auto fallback kicks in. */
  mode: OutputMode;
}

/**
 * One completion; in auto mode a 400 to json_schema is retried once as json_object, and the endpoint
 * is remembered for the rest of the process only when that works (a 400 for another reason fails
 * both ways and teaches nothing).
 */
async function completeWithFallback(call: CallContext, messages: ChatMessage[]): Promise<CompletionOutcome> {
  try {
    return await complete(call, messages);
  } catch (err) {
    const canFallBack =
      call.mode === 'json_schema' &&
      call.cfg.LLM_STRUCTURED_OUTPUT === 'auto' &&
      err instanceof ApplicationFailure &&
      err.type === 'ModelRequestInvalid' &&
      (err.details?.[0] as { status?: number } | undefined)?.status === 400;
    if (!canFallBack) throw err;
    logger('llm', activityBindings()).warn(
      { model: call.endpoint.model, baseURL: call.endpoint.baseURL, error: err.message },
      'endpoint rejected json_schema output; falling back to json_object with the schema in the prompt',
    );
    call.mode = 'json_object';
    const outcome = await complete(call, messages);
    jsonObjectEndpoints.add(endpointKey(call.endpoint));
    return outcome;
  }
}

function requestMessages(call: CallContext, messages: ChatMessage[]): ChatMessage[] {
  if (call.mode === 'json_schema' || call.input.output === 'text') return messages;
  // json_object mode knows no schema, so the prompt carries it (and the word "JSON" it requires).
  const instructions = schemaInstructions(call.input.schemaName, call.jsonSchema);
  const index = messages.findIndex((m) => m.role === 'system');
  if (index < 0) return [{ role: 'system', content: instructions }, ...messages];
  return messages.map((m, i) => (i === index ? { ...m, content: `${m.content}\n\n${instructions}` } : m));
}

function responseFormat(call: CallContext): OpenAI.ChatCompletionCreateParams['response_format'] {
  if (call.mode === 'json_object') return { type: 'json_object' };
  return {
    type: 'json_schema',
    json_schema: { name: call.input.schemaName, schema: call.jsonSchema.schema, strict: call.jsonSchema.strict },
  };
}

// ---------------------------------------------------------------------------------------------------
// One HTTP completion
// ---------------------------------------------------------------------------------------------------

async function complete(call: CallContext, messages: ChatMessage[]): Promise<CompletionOutcome> {
  const { endpoint, cfg, input } = call;
  const errorContext: ModelErrorContext = { baseURL: endpoint.baseURL, model: endpoint.model };

  const body = {
    model: endpoint.model,
    messages: requestMessages(call, messages),
    temperature: call.temperature,
    max_tokens: call.maxTokens,
    ...(input.output === 'text' ? {} : { response_format: responseFormat(call) }),
  };
  const activity = activityContext();
  const progress = { chars: 0, chunks: 0 };
  const beat = () => heartbeat(activity, { ...input.heartbeatDetails, purpose: input.purpose, chars: progress.chars });
  beat();
  await acquireRateLimit(activity, beat);

  const tokens = tokenPublisher(activity, input.purpose);
  const controller = new AbortController();
  const onActivityCancel = () => controller.abort();
  activity?.cancellationSignal.addEventListener('abort', onActivityCancel);
  const ticker = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  const stall = { timer: undefined as NodeJS.Timeout | undefined, fired: false };
  const armStallTimer = () => {
    clearTimeout(stall.timer);
    stall.timer = setTimeout(() => {
      stall.fired = true;
      controller.abort();
    }, cfg.LLM_STALL_TIMEOUT_MS);
  };

  try {
    if (input.stream === false) {
      const completion = await endpoint.client.chat.completions.create(
        { ...body, stream: false },
        { signal: controller.signal },
      );
      const choice = completion.choices?.[0];
      if (!choice) throw new Error('the completion has no choices');
      checkRefusal(choice.message.refusal, choice.finish_reason, endpoint);
      const content = choice.message.content ?? '';
      tokens?.push(content);
      progress.chars = content.length;
      return { content, usage: readUsage(completion.usage, messages, content), finishReason: choice.finish_reason };
    }

    // The stall timer covers the wait for the first byte too: a stalled endpoint may never send headers.
    armStallTimer();
    const stream = await endpoint.client.chat.completions.create(
      { ...body, stream: true, stream_options: { include_usage: true } },
      { signal: controller.signal },
    );
    let content = '';
    let refusal: string | null = null;
    let finishReason: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      armStallTimer();
      const choice = chunk.choices?.[0];
      if (choice?.delta?.content) {
        content += choice.delta.content;
        tokens?.push(choice.delta.content);
      }
      if (choice?.delta?.refusal) refusal = (refusal ?? '') + choice.delta.refusal;
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
      progress.chars = content.length;
      progress.chunks++;
      if (progress.chunks % HEARTBEAT_EVERY_CHUNKS === 0) beat();
    }
    // The openai stream ends quietly when aborted; a stall or a cancellation must not pass for an answer.
    if (controller.signal.aborted) throw new Error('the stream was aborted');
    checkRefusal(refusal, finishReason, endpoint);
    return { content, usage: readUsage(usage, messages, content), finishReason };
  } catch (err) {
    if (activity?.cancellationSignal.aborted) {
      // The activity was cancelled: surface Temporal's CancelledFailure, not a model error.
      throw activity.cancellationSignal.reason instanceof Error ? activity.cancellationSignal.reason : err;
    }
    if (stall.fired) {
      throw modelFailure(
        'ModelUnavailable',
        `${endpoint.baseURL} (model ${endpoint.model}) stalled: no data for ${cfg.LLM_STALL_TIMEOUT_MS} ms ` +
          `after ${progress.chars} characters; the call was aborted and will be retried.`,
        { details: [{ stalledAfterChars: progress.chars, stallTimeoutMs: cfg.LLM_STALL_TIMEOUT_MS }] },
      );
    }
    const failure = toModelFailure(err, errorContext);
    if (failure.type === 'ModelRateLimited') await penalizeRateLimit(failure);
    throw failure;
  } finally {
    clearTimeout(stall.timer);
    clearInterval(ticker);
    activity?.cancellationSignal.removeEventListener('abort', onActivityCancel);
    if (progress.chars > 0) beat();
    // The last piece lands before the answer returns, so a follower sees it before the job moves on;
    // a slow bus does not hold the call up for long.
    if (tokens) await Promise.race([tokens.end(), new Promise((resolve) => setTimeout(resolve, 500).unref())]);
  }
}

/**
 * Where this call's tokens go as they arrive: the job's token stream (common/job-tokens.ts), which the
 * API relays to WebSocket and SSE clients. Only for calls made by a job's activity.
 */
function tokenPublisher(activity: Context | undefined, purpose: string): TokenPublisher | undefined {
  const workflowId = activity?.info.workflowExecution?.workflowId;
  if (!activity || !workflowId) return undefined;
  const call = `${activity.info.activityId}:${activity.info.attempt}`;
  return new TokenPublisher({ bus: tokenBus(), workflowId, purpose, call });
}

function checkRefusal(refusal: string | null | undefined, finishReason: string | null | undefined, endpoint: Endpoint) {
  if (refusal) {
    throw modelFailure('ModelRefused', `The model (${endpoint.model}) refused the task: ${refusal}`, {
      details: [{ refusal }],
    });
  }
  if (finishReason === 'content_filter') {
    throw modelFailure(
      'ModelRefused',
      `The model (${endpoint.model}) stopped: its content filter blocked the answer.`,
      {
        details: [{ finishReason }],
      },
    );
  }
}

function readUsage(usage: OpenAI.CompletionUsage | undefined | null, messages: ChatMessage[], content: string) {
  if (usage) {
    return {
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      totalTokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
    };
  }
  // Some compatible servers send no usage (or ignore stream_options); ~4 characters per token keeps
  // the job's budget meaningful instead of silently zero.
  const promptTokens = Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4);
  const completionTokens = Math.ceil(content.length / 4);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
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

// ---------------------------------------------------------------------------------------------------
// Cache, limiter, cost
// ---------------------------------------------------------------------------------------------------

type Log = ReturnType<typeof logger>;

async function readCache<T>(
  hash: string,
  schema: z.ZodType<T>,
  log: Log,
): Promise<{ value: T; usage: ModelUsage; model: string; repaired: boolean; reading: AnswerReadingKind } | undefined> {
  let text: string | undefined;
  try {
    text = await responseCache().get(hash);
  } catch (err) {
    log.warn({ err: String(err) }, 'response cache read failed; calling the model');
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

async function writeCache(hash: string, entry: CachedAnswer, cfg: Config, log: Log): Promise<void> {
  try {
    await responseCache().set(hash, JSON.stringify(entry), cfg.LLM_CACHE_TTL_SECONDS);
  } catch (err) {
    // The answer is good; losing its cache entry only risks paying again on a retry.
    log.warn({ err: String(err) }, 'response cache write failed');
  }
}

async function acquireRateLimit(activity: Context | undefined, beat: () => void): Promise<void> {
  const limiter = modelRateLimiter();
  if (!limiter) return;
  try {
    await limiter.acquire({ signal: activity?.cancellationSignal, onWait: beat });
  } catch (err) {
    if (activity?.cancellationSignal.aborted) {
      throw activity.cancellationSignal.reason instanceof Error ? activity.cancellationSignal.reason : err;
    }
    if (err instanceof ApplicationFailure) throw err;
    // Fail open: a broken limiter must not stop the pool; the endpoint's own 429s still apply.
    logger('llm', activityBindings()).warn({ err: String(err) }, 'model rate limiter failed; calling anyway');
  }
}

async function penalizeRateLimit(failure: ApplicationFailure): Promise<void> {
  const limiter = modelRateLimiter();
  const delay = (failure.details?.[0] as { retryAfterMs?: number } | undefined)?.retryAfterMs;
  if (!limiter || delay === undefined) return;
  try {
    await limiter.penalize(delay);
  } catch (err) {
    logger('llm', activityBindings()).warn({ err: String(err) }, 'model rate limiter penalty failed');
  }
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

// ---------------------------------------------------------------------------------------------------
// Activity context (absent when called from a script or a plain unit test)
// ---------------------------------------------------------------------------------------------------

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

function activityBindings(): Record<string, string> {
  const info = activityContext()?.info;
  if (!info) return {};
  const bindings: Record<string, string> = { activityType: info.activityType };
  // Standalone activities (started by a client, not a workflow) have no workflow execution.
  if (info.workflowExecution) {
    bindings.workflowId = info.workflowExecution.workflowId;
    bindings.runId = info.workflowExecution.runId;
  }
  return bindings;
}

function heartbeat(activity: Context | undefined, details: Record<string, unknown>): void {
  activity?.heartbeat(details);
}
