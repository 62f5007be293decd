import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real OpenAI-compatible HTTP server for tests and for trying the stack without a model.
 *
 * It speaks the wire protocol the `openai` package speaks (chat completions, streamed as SSE or not,
 * embeddings, models), answers from a script, injects faults, and records every request so a test can
 * assert exactly what the model was sent. Nothing in the code under test is mocked: the client goes
 * over HTTP like it would to api.openai.com or Ollama.
 *
 * In-process: `const server = await startScriptedModelServer(script)`, then `OPENAI_BASE_URL=server.url`.
 * As a process: `tsx tests/support/scripted-model-server.ts --port 8089 --script script.json`; the
 * admin endpoints under `/_scripted/` then let another process read the recorded requests
 * (`GET /_scripted/requests`), forget them (`POST /_scripted/reset`) or load a script
 * (`POST /_scripted/script`). `tests/support/model-scripts/demo.json` is a script for trying the stack
 * without a model: it answers every code-writing step with a small slugify module.
 */

// ---------------------------------------------------------------------------------------------------
// Script format (JSON-serializable, so the CLI can read it from a file)
// ---------------------------------------------------------------------------------------------------

/** Token counts the server reports; missing ones are estimated as characters / 4. */
export interface ScriptedUsage {
  promptTokens?: number;
  completionTokens?: number;
}

/** A normal answer. */
export interface ContentReply {
  /** The assistant message. An object is sent as its JSON text (what structured output returns). */
  content: string | object;
  usage?: ScriptedUsage;
  /** Sent as `message.refusal` (and no content), like OpenAI's structured-output refusals. */
  refusal?: string;
  /** Defaults to `stop`; `length` imitates an answer cut off at max_tokens. */
  finishReason?: 'stop' | 'length' | 'content_filter';
  /** Wait this long before answering (latency, or time to kill a worker mid-call). */
  delayMs?: number;
  /** Answer only once this settles: the test's own gate (say, until a client has seen the phase). */
  hold?: Promise<unknown>;
  /** Streaming only: characters per delta chunk (default 16) and the pause between chunks (default 0). */
  chunkChars?: number;
  chunkDelayMs?: number;
}

/** 429 with `retry-after` (seconds) and/or `retry-after-ms` headers and an OpenAI error body. */
export interface RateLimitFault {
  fault: 'rate-limit';
  retryAfterSeconds?: number;
  retryAfterMs?: number;
}

/** 500, 400 or 401 with an OpenAI error body. */
export interface StatusFault {
  fault: 'server-error' | 'bad-request' | 'unauthorized';
  message?: string;
}

/**
 * Accepts the request, then sends nothing for `ms`. With `midStream` (streamed requests only) the
 * headers and a first content chunk go out before the silence. Afterwards the server answers with
 * `then` if given, otherwise it drops the connection.
 */
export interface StallFault {
  fault: 'stall';
  ms: number;
  midStream?: boolean;
  then?: ScriptedReply;
}

/** A 200 whose body is not JSON (not streamed) or whose second SSE chunk is broken (streamed). */
export interface MalformedJsonFault {
  fault: 'malformed-json';
}

export type FaultReply = RateLimitFault | StatusFault | StallFault | MalformedJsonFault;
export type ScriptedReply = ContentReply | FaultReply;

/**
 * Routes a chat request by its content. `match` is a substring, or `/regex/flags`. It is tested
 * against the text selected by `in` (default `all`: every message's content joined by newlines).
 * An array `reply` is consumed one per matching request, and its last entry then repeats, so
 * "first buggy code, then the fix" is `reply: [buggy, fixed]`.
 */
export interface ScriptedRule {
  match: string;
  in?: 'all' | 'system' | 'user' | 'last';
  reply: ScriptedReply | ScriptedReply[];
}

/**
 * What the server answers. For each chat request it takes, in order: the next entry of `replies`
 * (a queue), the responder function (in-process only), the first matching rule, `default`. With
 * none of these it answers 400 `no_scripted_reply`, so a test that runs out of script fails fast.
 */
export interface ModelScript {
  replies?: ScriptedReply[];
  rules?: ScriptedRule[];
  default?: ScriptedReply;
  /** Answer 400 to any request that asks for `response_format: json_schema`, like endpoints without it. */
  rejectJsonSchema?: boolean;
  /** When set, requests without `Authorization: Bearer <requireApiKey>` get 401. */
  requireApiKey?: string;
  /** Model ids listed by `GET /v1/models` (default `['scripted-model']`). */
  models?: string[];
  /** Embedding dimension when the request sets no `dimensions` (default 1536). */
  embeddingDimensions?: number;
}

// ---------------------------------------------------------------------------------------------------
// Recorded requests
// ---------------------------------------------------------------------------------------------------

/** The OpenAI chat request fields tests look at; the full body is kept as sent. */
export interface ChatRequestBody {
  model?: string;
  messages?: { role: string; content?: unknown }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  response_format?: { type: string; json_schema?: { name?: string; schema?: unknown; strict?: boolean } };
  temperature?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  [key: string]: unknown;
}

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body, the raw text when it was not JSON, or undefined when empty. */
  body: unknown;
  receivedAt: string;
}

/** A recorded chat completion request, with its message text pulled out for routing and assertions. */
export interface RecordedChatRequest extends RecordedRequest {
  body: ChatRequestBody;
  /** System messages joined by newlines. */
  system: string;
  /** User messages joined by newlines. */
  user: string;
  /** Content of the last message. */
  last: string;
  /** Every message joined by newlines. */
  text: string;
}

/** In-process responder: return a reply to answer, or undefined to fall through to rules/default. */
export type Responder = (request: RecordedChatRequest) => ScriptedReply | undefined;

// ---------------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------------

/** A running scripted server. */
export interface ScriptedModelServer {
  /** Base URL including `/v1`, ready for `OPENAI_BASE_URL`. */
  readonly url: string;
  readonly port: number;
  /** Every request so far, oldest first (admin requests excluded). */
  requests(): RecordedRequest[];
  /** Chat completion requests so far, oldest first. */
  chatRequests(): RecordedChatRequest[];
  /** Queues replies for the next chat requests (before responder, rules and default). */
  enqueue(...replies: ScriptedReply[]): void;
  /** Sets (or clears) the in-process responder. */
  respondWith(responder: Responder | undefined): void;
  /** Replaces the script: queue, rules, default and options. */
  setScript(script: ModelScript): void;
  /** Forgets recorded requests, the queue, the responder and rule progress; keeps the script otherwise. */
  reset(): void;
  close(): Promise<void>;
}

interface ServerState {
  script: ModelScript;
  queue: ScriptedReply[];
  responder: Responder | undefined;
  ruleHits: Map<number, number>;
  recorded: RecordedRequest[];
}

/** Starts a scripted server on 127.0.0.1 (port 0 = any free port). */
export async function startScriptedModelServer(
  script: ModelScript = {},
  options: { port?: number; host?: string } = {},
): Promise<ScriptedModelServer> {
  const state: ServerState = {
    script,
    queue: [...(script.replies ?? [])],
    responder: undefined,
    ruleHits: new Map(),
    recorded: [],
  };
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    handle(state, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'server_error', `scripted model server failed: ${String(err)}`);
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;

  return {
    url: `http://${urlHost}:${port}/v1`,
    port,
    requests: () => [...state.recorded],
    chatRequests: () => state.recorded.filter(isChatRequest).map(toChatRequest),
    enqueue: (...replies) => state.queue.push(...replies),
    respondWith: (responder) => {
      state.responder = responder;
    },
    setScript: (next) => {
      state.script = next;
      state.queue = [...(next.replies ?? [])];
      state.ruleHits.clear();
    },
    reset: () => {
      state.recorded = [];
      state.queue = [];
      state.responder = undefined;
      state.ruleHits.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Stalled requests hold their sockets open; close() would wait for them forever.
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function handle(state: ServerState, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const rawBody = await readBody(req);
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const method = req.method ?? 'GET';

  if (path.startsWith('/_scripted/')) return handleAdmin(state, method, path, rawBody, res);

  const recorded: RecordedRequest = {
    method,
    path,
    headers: req.headers,
    body: parseMaybeJson(rawBody),
    receivedAt: new Date().toISOString(),
  };
  state.recorded.push(recorded);

  const apiKey = state.script.requireApiKey;
  if (apiKey !== undefined && req.headers.authorization !== `Bearer ${apiKey}`) {
    return sendError(res, 401, 'invalid_api_key', 'Incorrect API key provided.', 'invalid_request_error');
  }

  const route = path.replace(/^\/v1(?=\/)/, '');
  if (method === 'GET' && route === '/models') return sendModels(state, res);
  if (method === 'POST' && route === '/embeddings') return sendEmbeddings(state, recorded, res);
  if (method === 'POST' && route === '/chat/completions') {
    if (typeof recorded.body !== 'object' || recorded.body === null) {
      return sendError(res, 400, 'invalid_json', 'The request body is not valid JSON.', 'invalid_request_error');
    }
    const chat = toChatRequest(recorded);
    if (state.script.rejectJsonSchema && chat.body.response_format?.type === 'json_schema') {
      return sendError(
        res,
        400,
        'unsupported_response_format',
        "response_format.type 'json_schema' is not supported by this endpoint; use 'json_object'.",
        'invalid_request_error',
        'response_format',
      );
    }
    const reply = nextReply(state, chat);
    if (!reply) {
      return sendError(
        res,
        400,
        'no_scripted_reply',
        'The scripted model server has no reply for this request: add a reply, a rule or a default to its script.',
        'invalid_request_error',
      );
    }
    return sendChatReply(chat, reply, res);
  }
  return sendError(res, 404, 'not_found', `Unknown endpoint ${method} ${path}.`, 'invalid_request_error');
}

/** Lets a test in another process read what the model was sent, reset it, or load a new script. */
function handleAdmin(state: ServerState, method: string, path: string, rawBody: string, res: http.ServerResponse) {
  if (method === 'GET' && path === '/_scripted/requests') return sendJson(res, 200, state.recorded);
  if (method === 'POST' && path === '/_scripted/reset') {
    state.recorded = [];
    state.queue = [...(state.script.replies ?? [])];
    state.ruleHits.clear();
    return sendJson(res, 200, { ok: true });
  }
  if (method === 'POST' && path === '/_scripted/script') {
    const script = parseMaybeJson(rawBody);
    if (typeof script !== 'object' || script === null)
      return sendError(res, 400, 'invalid_json', 'Script is not JSON.');
    state.script = script as ModelScript;
    state.queue = [...(state.script.replies ?? [])];
    state.ruleHits.clear();
    return sendJson(res, 200, { ok: true });
  }
  return sendError(res, 404, 'not_found', `Unknown admin endpoint ${method} ${path}.`);
}

function nextReply(state: ServerState, chat: RecordedChatRequest): ScriptedReply | undefined {
  const queued = state.queue.shift();
  if (queued) return queued;
  const fromResponder = state.responder?.(chat);
  if (fromResponder) return fromResponder;
  const rules = state.script.rules ?? [];
  for (const [index, rule] of rules.entries()) {
    if (!ruleMatches(rule, chat)) continue;
    if (!Array.isArray(rule.reply)) return rule.reply;
    const hits = state.ruleHits.get(index) ?? 0;
    state.ruleHits.set(index, hits + 1);
    return rule.reply[Math.min(hits, rule.reply.length - 1)];
  }
  return state.script.default;
}

function ruleMatches(rule: ScriptedRule, chat: RecordedChatRequest): boolean {
  const haystack = chat[rule.in === undefined || rule.in === 'all' ? 'text' : rule.in];
  const regex = /^\/(.*)\/([a-z]*)$/s.exec(rule.match);
  if (regex) return new RegExp(regex[1] ?? '', regex[2]).test(haystack);
  return haystack.includes(rule.match);
}

// ---------------------------------------------------------------------------------------------------
// Chat completions
// ---------------------------------------------------------------------------------------------------

async function sendChatReply(chat: RecordedChatRequest, reply: ScriptedReply, res: http.ServerResponse): Promise<void> {
  if ('fault' in reply) return sendFault(chat, reply, res);
  if (reply.delayMs) await sleep(reply.delayMs);
  if (reply.hold) await reply.hold;

  const content = reply.refusal !== undefined ? null : contentText(reply.content);
  const usage = usageFor(chat, reply, content ?? reply.refusal ?? '');
  const model = chat.body.model ?? 'scripted-model';
  const id = `chatcmpl-scripted-${Date.now().toString(36)}`;
  const created = Math.floor(Date.now() / 1000);
  const finishReason = reply.finishReason ?? 'stop';

  if (!chat.body.stream) {
    return sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: reply.refusal ?? null },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      usage,
    });
  }

  startSse(res);
  const chunk = (delta: object, finish: string | null = null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  writeSse(res, chunk({ role: 'assistant', content: '' }));
  const pieces = splitText(content ?? reply.refusal ?? '', reply.chunkChars ?? 16);
  for (const piece of pieces) {
    if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
    if (res.destroyed) return;
    writeSse(res, chunk(content === null ? { refusal: piece } : { content: piece }));
  }
  writeSse(res, chunk({}, finishReason));
  if (chat.body.stream_options?.include_usage) {
    writeSse(res, { id, object: 'chat.completion.chunk', created, model, choices: [], usage });
  }
  res.end('data: [DONE]\n\n');
}

async function sendFault(chat: RecordedChatRequest, reply: FaultReply, res: http.ServerResponse): Promise<void> {
  switch (reply.fault) {
    case 'rate-limit': {
      const headers: Record<string, string> = {};
      if (reply.retryAfterSeconds !== undefined) headers['retry-after'] = String(reply.retryAfterSeconds);
      if (reply.retryAfterMs !== undefined) headers['retry-after-ms'] = String(reply.retryAfterMs);
      return sendError(
        res,
        429,
        'rate_limit_exceeded',
        'Rate limit reached. Please try again later.',
        'requests',
        null,
        headers,
      );
    }
    case 'server-error':
      return sendError(
        res,
        500,
        'server_error',
        reply.message ?? 'The server had an error while processing your request.',
        'server_error',
      );
    case 'bad-request':
      return sendError(res, 400, 'invalid_request', reply.message ?? 'Invalid request.', 'invalid_request_error');
    case 'unauthorized':
      return sendError(
        res,
        401,
        'invalid_api_key',
        reply.message ?? 'Incorrect API key provided.',
        'invalid_request_error',
      );
    case 'malformed-json': {
      if (!chat.body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"index": 0, "mess');
        return;
      }
      startSse(res);
      writeSse(res, {
        id: 'chatcmpl-broken',
        object: 'chat.completion.chunk',
        created: Math.floor(Date.now() / 1000),
        model: chat.body.model ?? 'scripted-model',
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
      });
      res.write('data: {"id": "chatcmpl-broken", "choices": [{"delta": {"content": "oops\n\n');
      res.end('data: [DONE]\n\n');
      return;
    }
    case 'stall': {
      if (reply.midStream && chat.body.stream) {
        startSse(res);
        writeSse(res, {
          id: 'chatcmpl-stalled',
          object: 'chat.completion.chunk',
          created: Math.floor(Date.now() / 1000),
          model: chat.body.model ?? 'scripted-model',
          choices: [{ index: 0, delta: { role: 'assistant', content: '{"par' }, finish_reason: null }],
        });
      }
      await sleep(reply.ms, res);
      if (res.destroyed) return;
      if (reply.then && !res.headersSent) return sendChatReply(chat, reply.then, res);
      res.destroy();
      return;
    }
  }
}

function usageFor(chat: RecordedChatRequest, reply: ContentReply, completion: string) {
  const prompt_tokens = reply.usage?.promptTokens ?? Math.ceil(chat.text.length / 4);
  const completion_tokens = reply.usage?.completionTokens ?? Math.ceil(completion.length / 4);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

function contentText(content: string | object): string {
  return typeof content === 'string' ? content : JSON.stringify(content);
}

function splitText(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += Math.max(1, size)) pieces.push(text.slice(i, i + Math.max(1, size)));
  return pieces;
}

// ---------------------------------------------------------------------------------------------------
// Embeddings and models
// ---------------------------------------------------------------------------------------------------

function sendEmbeddings(state: ServerState, recorded: RecordedRequest, res: http.ServerResponse): void {
  const body = (recorded.body ?? {}) as {
    input?: unknown;
    dimensions?: number;
    encoding_format?: string;
    model?: string;
  };
  const inputs =
    Array.isArray(body.input) && body.input.every((i) => typeof i === 'string') ? body.input : [body.input];
  const dimensions = body.dimensions ?? state.script.embeddingDimensions ?? 1536;
  const data = inputs.map((input, index) => {
    const vector = embeddingFor(typeof input === 'string' ? input : JSON.stringify(input), dimensions);
    // The openai package asks for base64 by default and decodes float32 little-endian itself.
    const embedding =
      body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    return { object: 'embedding', index, embedding };
  });
  const tokens = inputs.reduce<number>((n, i) => n + Math.ceil(String(i).length / 4), 0);
  sendJson(res, 200, {
    object: 'list',
    data,
    model: body.model ?? 'scripted-embedding',
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

/**
 * A unit vector derived from the text's sha256 alone: equal texts get equal vectors in every process,
 * so memory tests can assert exact neighbours.
 */
export function embeddingFor(text: string, dimensions: number): number[] {
  const values: number[] = [];
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest();
    for (let i = 0; i + 4 <= digest.length && values.length < dimensions; i += 4) {
      values.push(digest.readUInt32LE(i) / 0xffffffff - 0.5);
    }
  }
  const norm = Math.sqrt(values.reduce((sum, v) => sum + v * v, 0)) || 1;
  return values.map((v) => v / norm);
}

function sendModels(state: ServerState, res: http.ServerResponse): void {
  const created = Math.floor(Date.now() / 1000);
  sendJson(res, 200, {
    object: 'list',
    data: (state.script.models ?? ['scripted-model']).map((id) => ({
      id,
      object: 'model',
      created,
      owned_by: 'sophia-tests',
    })),
  });
}

// ---------------------------------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------------------------------

function isChatRequest(request: RecordedRequest): boolean {
  return request.method === 'POST' && /\/chat\/completions$/.test(request.path);
}

function toChatRequest(request: RecordedRequest): RecordedChatRequest {
  const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as ChatRequestBody;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const text = (m: { content?: unknown }) =>
    typeof m.content === 'string' ? m.content : m.content === undefined ? '' : JSON.stringify(m.content);
  const join = (role?: string) =>
    messages
      .filter((m) => role === undefined || m.role === role)
      .map(text)
      .join('\n');
  const lastMessage = messages[messages.length - 1];
  return {
    ...request,
    body,
    system: join('system'),
    user: join('user'),
    last: lastMessage ? text(lastMessage) : '',
    text: join(),
  };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseMaybeJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function sendError(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  type = 'invalid_request_error',
  param: string | null = null,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error: { message, type, param, code } }, headers);
}

function startSse(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  // Push the headers out now: a stall must look like "connected, then silence" to the client.
  res.flushHeaders();
}

function writeSse(res: http.ServerResponse, data: unknown): void {
  if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
}

/** Sleeps, ending early when `res` is closed by the client (a stall the client gave up on). */
function sleep(ms: number, res?: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    res?.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// CLI: tsx tests/support/scripted-model-server.ts --port 8089 --script script.json [--host 0.0.0.0]
// ---------------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const scriptPath = arg('script');
  const script: ModelScript = scriptPath ? (JSON.parse(fs.readFileSync(scriptPath, 'utf8')) as ModelScript) : {};
  const server = await startScriptedModelServer(script, { port: Number(arg('port') ?? 0), host: arg('host') });
  // One parseable line, so a parent process can wait for it and read the URL.
  process.stdout.write(`scripted model server listening on ${server.url}\n`);
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`scripted model server failed to start: ${String(err)}\n`);
    process.exit(1);
  });
}
