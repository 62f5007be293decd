import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import type { Config } from '../../common/config';
import { TokenPublisher, tokenBus } from '../../common/job-tokens';
import { activityContext, activityLog } from '../context';
import { rememberJsonObjectEndpoint, type Endpoint, type OutputMode } from './endpoint';
import { modelFailure, toModelFailure, type ModelErrorContext } from './model-errors';
import type { ChatMessage, ModelCallInput, ModelUsage } from './model-types';
import { modelRateLimiter } from './rate-limit-hook';
import { schemaInstructions, type OutputJsonSchema } from './structured-output';

/**
 * One HTTP completion: streamed (heartbeats while tokens arrive, a stall timer, the job's token
 * stream) or not, under the rate limiter, with refusals and transport errors as typed failures.
 */

export interface CompletionOutcome {
  content: string;
  usage: ModelUsage;
  finishReason: string | null;
}

const HEARTBEAT_INTERVAL_MS = 1_000;

const HEARTBEAT_EVERY_CHUNKS = 50;

export interface CallContext {
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
export async function completeWithFallback(call: CallContext, messages: ChatMessage[]): Promise<CompletionOutcome> {
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
    activityLog('llm').warn(
      'endpoint rejected json_schema output; falling back to json_object with the schema in the prompt',
      { model: call.endpoint.model, baseURL: call.endpoint.baseURL, error: err.message },
    );
    call.mode = 'json_object';
    const outcome = await complete(call, messages);
    rememberJsonObjectEndpoint(call.endpoint);
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

async function complete(call: CallContext, messages: ChatMessage[]): Promise<CompletionOutcome> {
  const { endpoint, cfg, input } = call;
  const errorContext: ModelErrorContext = { baseURL: endpoint.baseURL, model: endpoint.model };

  const body = {
    model: endpoint.model,
    messages: requestMessages(call, messages),
    temperature: call.temperature,
    max_tokens: call.maxTokens,
    ...(input.seed === undefined ? {} : { seed: input.seed }),
    ...(input.output === 'text' ? {} : { response_format: responseFormat(call) }),
  };
  const activity = activityContext();
  const progress = { chars: 0, chunks: 0 };
  const beat = () => activity?.heartbeat({ ...input.heartbeatDetails, purpose: input.purpose, chars: progress.chars });
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
    activityLog('llm').warn('model rate limiter failed; calling anyway', { err: String(err) });
  }
}

async function penalizeRateLimit(failure: ApplicationFailure): Promise<void> {
  const limiter = modelRateLimiter();
  const delay = (failure.details?.[0] as { retryAfterMs?: number } | undefined)?.retryAfterMs;
  if (!limiter || delay === undefined) return;
  try {
    await limiter.penalize(delay);
  } catch (err) {
    activityLog('llm').warn('model rate limiter penalty failed', { err: String(err) });
  }
}
