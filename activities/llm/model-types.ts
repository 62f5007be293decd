import type { z } from 'zod';
import type { Pricing } from './pricing';
import type { AnswerReader, AnswerReadingKind } from './structured-output';

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
  /**
   * The sampling seed, sent to the endpoint and part of the request hash. Calls that must differ at an
   * equal prompt and temperature (another draft of the same task) pass different seeds; unset, the
   * endpoint picks one, and equal requests share one cached answer.
   */
  seed?: number;
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
