import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { z } from 'zod';
import { artifactStore } from '../../activities/artifacts';
import { callModel, resetModelClient, type ModelCallInput } from '../../activities/llm/model-client';
import { setModelRateLimiter } from '../../activities/llm/rate-limit-hook';
import { InProcessResponseCache, setResponseCache } from '../../activities/llm/response-cache';
import { resetConfig } from '../../common/config';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server';

const answerSchema = z.object({
  files: z.array(z.object({ path: z.string(), content: z.string() })),
  explanation: z.string(),
});
type Answer = z.infer<typeof answerSchema>;

const goodAnswer: Answer = { files: [{ path: 'app.py', content: 'print(1)\n' }], explanation: 'prints one' };

let server: ScriptedModelServer;
const savedEnv = { ...process.env };

function setEnv(vars: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(vars)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  resetConfig();
  resetModelClient();
}

function call(overrides: Partial<ModelCallInput<Answer>> = {}): Promise<Awaited<ReturnType<typeof callModel<Answer>>>> {
  return callModel({
    purpose: 'generate',
    schemaName: 'code_answer',
    schema: answerSchema,
    messages: [
      { role: 'system', content: 'You write code.' },
      { role: 'user', content: `Write a script (${expect.getState().currentTestName ?? ''})` },
    ],
    ...overrides,
  });
}

/** Runs `promise`, expecting it to fail with an ApplicationFailure, and returns that failure. */
async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  server = await startScriptedModelServer();
});

afterAll(async () => {
  await server.close();
  process.env = savedEnv;
  resetConfig();
  resetModelClient();
  setResponseCache(undefined);
});

beforeEach(() => {
  server.setScript({});
  server.reset();
  setResponseCache(new InProcessResponseCache());
  setModelRateLimiter(undefined);
  setEnv({
    OPENAI_BASE_URL: server.url,
    OPENAI_API_KEY: 'test-key',
    OPENAI_MODEL: 'scripted-model',
    OPENAI_TIMEOUT_MS: '5000',
    LLM_STRUCTURED_OUTPUT: 'auto',
    LLM_STALL_TIMEOUT_MS: '30000',
    LLM_PRICE_INPUT_PER_MTOK: '1',
    LLM_PRICE_OUTPUT_PER_MTOK: '2',
    LLM_CACHE_TTL_SECONDS: '3600',
  });
});

describe('callModel', () => {
  it('streams a structured answer and reports its usage and cost', async () => {
    server.enqueue({ content: goodAnswer, usage: { promptTokens: 1000, completionTokens: 500 } });

    const result = await call();

    expect(result.value).toEqual(goodAnswer);
    expect(result.usage).toEqual({ promptTokens: 1000, completionTokens: 500, totalTokens: 1500 });
    expect(result.costUsd).toBeCloseTo(0.002, 9);
    expect(result).toMatchObject({ cached: false, repaired: false, model: 'scripted-model' });
    expect(result.requestHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const [request] = server.chatRequests();
    expect(request?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(request?.headers.authorization).toBe('Bearer test-key');
  });

  it('gets a structured answer without streaming when asked to', async () => {
    server.enqueue({ content: goodAnswer });

    const result = await call({ stream: false });

    expect(result.value).toEqual(goodAnswer);
    expect(result.usage.totalTokens).toBeGreaterThan(0);
    expect(server.chatRequests()[0]?.body.stream).toBeFalsy();
  });

  it('sends the zod schema as a strict json_schema response format', async () => {
    server.enqueue({ content: goodAnswer });

    await call({ temperature: 0.5, maxTokens: 321 });

    const body = server.chatRequests()[0]?.body;
    const { $schema: _dialect, ...schema } = z.toJSONSchema(answerSchema);
    expect(body?.model).toBe('scripted-model');
    expect(body?.temperature).toBe(0.5);
    expect(body?.max_tokens).toBe(321);
    expect(body?.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'code_answer', strict: true, schema },
    });
  });

  it('heartbeats the purpose and the characters received while streaming in an activity', async () => {
    server.enqueue({ content: goodAnswer });
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));

    await env.run(() => call({ heartbeatDetails: { finishedFiles: ['a.py'] } }));

    expect(beats.length).toBeGreaterThan(0);
    expect(beats[beats.length - 1]).toEqual({
      finishedFiles: ['a.py'],
      purpose: 'generate',
      chars: JSON.stringify(goodAnswer).length,
    });
  });
});

describe('callModel in an activity', () => {
  it('stops streaming and surfaces the cancellation when the activity is cancelled', async () => {
    server.enqueue({ content: goodAnswer, chunkChars: 4, chunkDelayMs: 50 });
    const env = new MockActivityEnvironment();

    const running = env.run(() => call());
    setTimeout(() => env.cancel(), 200);

    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect(server.chatRequests()).toHaveLength(1);
  });
});

describe('callModel structured output fallbacks', () => {
  it('falls back to json_object with the schema in the prompt when the endpoint rejects json_schema, and remembers it', async () => {
    server.setScript({ rejectJsonSchema: true, default: { content: goodAnswer } });

    const first = await call();
    const second = await call({ messages: [{ role: 'user', content: 'another task' }] });

    expect(first.value).toEqual(goodAnswer);
    expect(second.value).toEqual(goodAnswer);
    const formats = server.chatRequests().map((r) => r.body.response_format?.type);
    expect(formats).toEqual(['json_schema', 'json_object', 'json_object']);
    const fallback = server.chatRequests()[1];
    expect(fallback?.system).toContain('You write code.');
    expect(fallback?.system).toContain('JSON Schema (named "code_answer")');
    expect(fallback?.system).toContain('"explanation"');
    // With no system message of its own, the call gets one that carries the schema.
    expect(server.chatRequests()[2]?.body.messages?.[0]?.role).toBe('system');
  });

  it('does not fall back when LLM_STRUCTURED_OUTPUT is json_schema', async () => {
    setEnv({ LLM_STRUCTURED_OUTPUT: 'json_schema' });
    server.setScript({ rejectJsonSchema: true, default: { content: goodAnswer } });

    const failure = await failureOf(call());

    expect(failure.type).toBe('ModelRequestInvalid');
    expect(server.chatRequests()).toHaveLength(1);
  });

  it('asks for json_object from the start when LLM_STRUCTURED_OUTPUT is json_object', async () => {
    setEnv({ LLM_STRUCTURED_OUTPUT: 'json_object' });
    server.enqueue({ content: goodAnswer });

    await call();

    expect(server.chatRequests()[0]?.body.response_format).toEqual({ type: 'json_object' });
  });

  it('repairs an answer that is not JSON with one more round that shows the model its error', async () => {
    server.enqueue(
      { content: 'Sure! Here is the code: print(1)', usage: { promptTokens: 10, completionTokens: 5 } },
      { content: goodAnswer, usage: { promptTokens: 20, completionTokens: 7 } },
    );

    const result = await call();

    expect(result.value).toEqual(goodAnswer);
    expect(result.repaired).toBe(true);
    expect(result.usage).toEqual({ promptTokens: 30, completionTokens: 12, totalTokens: 42 });
    const requests = server.chatRequests();
    expect(requests).toHaveLength(2);
    const messages = requests[1]?.body.messages ?? [];
    expect(messages[messages.length - 2]).toEqual({ role: 'assistant', content: 'Sure! Here is the code: print(1)' });
    expect(requests[1]?.last).toContain('not valid JSON');
    expect(requests[1]?.last).toContain('"explanation"');
  });

  it('repairs JSON that does not match the schema, naming the bad field', async () => {
    server.enqueue({ content: { files: 'app.py', explanation: 'x' } }, { content: goodAnswer });

    const result = await call();

    expect(result.repaired).toBe(true);
    expect(server.chatRequests()[1]?.last).toMatch(/does not match the schema[\s\S]*files/);
  });

  it('fails as ModelOutputInvalid with the raw output as an artifact when the repair round is broken too', async () => {
    server.enqueue({ content: '{"files": [' }, { content: 'still not json' });

    const failure = await failureOf(call());

    expect(failure.type).toBe('ModelOutputInvalid');
    expect(failure.nonRetryable).toBe(true);
    const details = failure.details?.[0] as { rawOutputArtifactId: string; firstRawOutput: { id: string } };
    expect(await artifactStore().getText(details.rawOutputArtifactId)).toBe('still not json');
    expect(await artifactStore().getText(details.firstRawOutput.id)).toBe('{"files": [');
    expect(failure.message).toContain(details.rawOutputArtifactId);
  });

  it('fails as ModelRefused when the model refuses', async () => {
    server.enqueue({ content: '', refusal: 'I cannot help with that.' });

    const failure = await failureOf(call());

    expect(failure.type).toBe('ModelRefused');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('I cannot help with that.');
  });
});

describe('callModel endpoint failures', () => {
  it('fails as retryable ModelRateLimited with the retry-after as next retry delay, and penalizes the limiter', async () => {
    const penalties: number[] = [];
    setModelRateLimiter({
      acquire: () => Promise.resolve(),
      penalize: (ms) => {
        penalties.push(ms);
        return Promise.resolve();
      },
    });
    server.enqueue({ fault: 'rate-limit', retryAfterSeconds: 7 });

    const failure = await failureOf(call());

    expect(failure.type).toBe('ModelRateLimited');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(7000);
    expect(penalties).toEqual([7000]);
  });

  it('prefers retry-after-ms for the next retry delay', async () => {
    server.enqueue({ fault: 'rate-limit', retryAfterSeconds: 7, retryAfterMs: 1500 });

    const failure = await failureOf(call({ stream: false }));

    expect(failure.nextRetryDelay).toBe(1500);
  });

  it('fails as retryable ModelUnavailable on a 500', async () => {
    server.enqueue({ fault: 'server-error' });

    const failure = await failureOf(call());

    expect(failure.type).toBe('ModelUnavailable');
    expect(failure.nonRetryable).toBe(false);
  });

  it('fails as retryable ModelUnavailable when the endpoint is unreachable', async () => {
    setEnv({ OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' });

    const failure = await failureOf(call());

    expect(failure.type).toBe('ModelUnavailable');
    expect(failure.nonRetryable).toBe(false);
  });

  it('aborts a stream that stalls before its first chunk as ModelUnavailable', async () => {
    setEnv({ LLM_STALL_TIMEOUT_MS: '200' });
    server.enqueue({ fault: 'stall', ms: 5000 });

    const started = Date.now();
    const failure = await failureOf(call());

    expect(failure.type).toBe('ModelUnavailable');
    expect(failure.message).toContain('stalled');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('aborts a stream that stalls midway as ModelUnavailable', async () => {
    setEnv({ LLM_STALL_TIMEOUT_MS: '200' });
    server.enqueue({ fault: 'stall', ms: 5000, midStream: true });

    const failure = await failureOf(call());

    expect(failure.type).toBe('ModelUnavailable');
    expect(failure.details?.[0]).toMatchObject({ stalledAfterChars: 5 });
  });

  it('times out a non-streamed call that stalls as ModelUnavailable', async () => {
    setEnv({ OPENAI_TIMEOUT_MS: '300' });
    server.enqueue({ fault: 'stall', ms: 5000 });

    const failure = await failureOf(call({ stream: false }));

    expect(failure.type).toBe('ModelUnavailable');
    expect(failure.nonRetryable).toBe(false);
  });

  it('fails as retryable ModelUnavailable on a body that is not JSON, streamed or not', async () => {
    server.enqueue({ fault: 'malformed-json' }, { fault: 'malformed-json' });

    const plain = await failureOf(call({ stream: false }));
    const streamed = await failureOf(call());

    expect([plain.type, streamed.type]).toEqual(['ModelUnavailable', 'ModelUnavailable']);
    expect(streamed.nonRetryable).toBe(false);
  });

  it('fails as non-retryable ModelRequestInvalid on a 400', async () => {
    setEnv({ LLM_STRUCTURED_OUTPUT: 'json_object' });
    server.enqueue({ fault: 'bad-request', message: 'The model `nope` does not exist' });

    const failure = await failureOf(call());

    expect(failure.type).toBe('ModelRequestInvalid');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('does not exist');
  });

  it('tries json_object once on a 400 in auto mode, and forgets it when that fails too', async () => {
    server.setScript({ default: { fault: 'bad-request', message: 'context too long' } });

    const failure = await failureOf(call());
    server.reset();
    await failureOf(call());

    expect(failure.type).toBe('ModelRequestInvalid');
    expect(server.chatRequests().map((r) => r.body.response_format?.type)).toEqual(['json_schema', 'json_object']);
  });

  it('fails as non-retryable ModelAuth on a 401, without the key in the message', async () => {
    server.enqueue({ fault: 'unauthorized' });

    const failure = await failureOf(call());

    expect(failure.type).toBe('ModelAuth');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('OPENAI_API_KEY');
    expect(failure.message).not.toContain('test-key');
  });

  it('fails as non-retryable ModelConfig saying how to configure a model when none is', async () => {
    setEnv({ OPENAI_BASE_URL: undefined, OPENAI_API_KEY: undefined });

    const failure = await failureOf(call());

    expect(failure.type).toBe('ModelConfig');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('OPENAI_BASE_URL');
    expect(failure.message).toContain('http://localhost:11434/v1');
    expect(failure.message).toContain('OPENAI_API_KEY');
    expect(server.requests()).toHaveLength(0);
  });

  it('passes a limiter ApplicationFailure through without calling the model', async () => {
    setModelRateLimiter({
      acquire: () =>
        Promise.reject(ApplicationFailure.create({ type: 'ModelRateLimited', message: 'fleet budget spent' })),
      penalize: () => Promise.resolve(),
    });

    const failure = await failureOf(call());

    expect(failure.message).toBe('fleet budget spent');
    expect(server.requests()).toHaveLength(0);
  });
});

describe('callModel response cache', () => {
  it('answers a repeated request from the cache without a second HTTP request', async () => {
    server.enqueue({ content: goodAnswer, usage: { promptTokens: 100, completionTokens: 50 } });

    const first = await call();
    const second = await call();

    expect(server.chatRequests()).toHaveLength(1);
    expect(second).toEqual({ ...first, cached: true });
  });

  it('calls the model again when the request differs', async () => {
    server.setScript({ default: { content: goodAnswer } });

    await call({ temperature: 0 });
    await call({ temperature: 1 });

    expect(server.chatRequests()).toHaveLength(2);
  });

  it('sends a seed, and keeps calls that differ only in their seed apart', async () => {
    server.setScript({ default: { content: goodAnswer } });

    const unseeded = await call({ temperature: 1 });
    const four = await call({ temperature: 1, seed: 4 });
    const five = await call({ temperature: 1, seed: 5 });
    const fourAgain = await call({ temperature: 1, seed: 4 });

    expect(server.chatRequests().map((r) => r.body.seed)).toEqual([undefined, 4, 5]);
    expect([unseeded.cached, four.cached, five.cached, fourAgain.cached]).toEqual([false, false, false, true]);
    expect(new Set([unseeded.requestHash, four.requestHash, five.requestHash]).size).toBe(3);
  });

  it('calls the model when the cache fails, and still answers', async () => {
    setResponseCache({
      get: () => Promise.reject(new Error('redis down')),
      set: () => Promise.reject(new Error('redis down')),
    });
    server.enqueue({ content: goodAnswer });

    const result = await call();

    expect(result).toMatchObject({ value: goodAnswer, cached: false });
  });
});

describe('InProcessResponseCache', () => {
  it('expires entries after their ttl, and keeps them forever with a ttl of 0', async () => {
    let now = 0;
    const cache = new InProcessResponseCache(10, () => now);
    await cache.set('short', 'a', 1);
    await cache.set('forever', 'b', 0);

    now = 5_000;

    expect(await cache.get('short')).toBeUndefined();
    expect(await cache.get('forever')).toBe('b');
  });

  it('drops the oldest entry beyond its size bound', async () => {
    const cache = new InProcessResponseCache(2);
    await cache.set('a', '1', 60);
    await cache.set('b', '2', 60);
    await cache.set('c', '3', 60);

    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('c')).toBe('3');
  });
});
