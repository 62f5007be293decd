import { z } from 'zod';
import { closeTruncatedJson, extractJson } from './answer-repair';

/** A JSON Schema for a zod schema, and whether OpenAI's strict mode can take it. */
export interface OutputJsonSchema {
  schema: Record<string, unknown>;
  /**
   * Strict mode needs every object closed and every property required; a schema with `.optional()`
   * fields is sent non-strict (prefer `.nullable()` to keep it strict).
   */
  strict: boolean;
}

/** The JSON Schema sent as `response_format.json_schema.schema` (and described in json_object mode). */
export function outputJsonSchema(schema: z.ZodType): OutputJsonSchema {
  // Refinements and transforms have no JSON Schema; zod validates them after the answer arrives.
  const json = z.toJSONSchema(schema, { unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return { schema: json, strict: isStrictCompatible(json) };
}

function isStrictCompatible(node: unknown): boolean {
  if (Array.isArray(node)) return node.every(isStrictCompatible);
  if (node === null || typeof node !== 'object') return true;
  const record = node as Record<string, unknown>;
  if (record.type === 'object' || record.properties !== undefined) {
    const properties = (record.properties ?? {}) as Record<string, unknown>;
    const required = new Set((record.required as string[] | undefined) ?? []);
    if (record.additionalProperties !== false) return false;
    if (!Object.keys(properties).every((key) => required.has(key))) return false;
  }
  return Object.values(record).every(isStrictCompatible);
}

/** The system-prompt text that carries the schema when the endpoint only knows `json_object`. */
export function schemaInstructions(schemaName: string, schema: OutputJsonSchema): string {
  return (
    `Answer with a single JSON object only: no prose, no Markdown code fences. ` +
    `It must be valid against this JSON Schema (named "${schemaName}"):\n${JSON.stringify(schema.schema)}`
  );
}

/** How an answer was read: as sent, dug out of prose/fences/a tool call, closed after a cut, or built from code blocks. */
export type AnswerReadingKind = 'as-sent' | 'extracted' | 'truncated' | 'prose';

/** The outcome of reading a model answer against the schema. */
export type ParsedOutput<T> = { ok: true; value: T; reading: AnswerReadingKind } | { ok: false; error: string };

/** What a caller knows about its answer's shape, to read answers that drift from it. */
export interface AnswerReader {
  /** Maps a JSON value of a near shape (other key names, a map for an array…) onto the schema's. */
  normalise?: (value: unknown) => unknown;
  /** Builds an answer from a text that holds no JSON at all (e.g. only fenced code). */
  fromProse?: (text: string) => unknown;
}

/**
 * Parses and validates an answer. Real models wrap the JSON in prose or fences, send a tool call
 * as text, get cut off at max_tokens (`finishReason: 'length'`), or answer with code blocks instead
 * of JSON; each is read back where it can be (see answer-repair.ts). What still does not match the
 * schema is an error with a message the repair round can show the model.
 */
export function parseStructuredOutput<T>(
  text: string,
  schema: z.ZodType<T>,
  options: { finishReason?: string | null; reader?: AnswerReader; proseFirst?: boolean } = {},
): ParsedOutput<T> {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, error: 'The answer was empty; a JSON object was expected.' };
  if (options.proseFirst && options.reader?.fromProse && !/^\s*[[{]/.test(trimmed)) {
    const fromProse = options.reader.fromProse(trimmed);
    const value = options.reader.normalise ? options.reader.normalise(fromProse) : fromProse;
    const result = fromProse === undefined ? undefined : schema.safeParse(value);
    if (result?.success) return { ok: true, value: result.data, reading: 'prose' };
    if (fromProse === undefined && !trimmed.includes('{')) {
      return { ok: false, error: 'The answer has no code block: give each file as a Markdown code block.' };
    }
  }
  let reading: AnswerReadingKind = 'as-sent';
  let json: unknown;
  let parseError = '';
  try {
    json = JSON.parse(trimmed);
  } catch (err) {
    parseError = (err as Error).message;
    json = extractJson(trimmed);
    reading = 'extracted';
    if (json === undefined && options.finishReason === 'length') {
      json = closeTruncatedJson(trimmed);
      reading = 'truncated';
    }
    if (json === undefined && options.reader?.fromProse) {
      json = options.reader.fromProse(trimmed);
      reading = 'prose';
    }
  }
  if (json === undefined) return { ok: false, error: `The answer is not valid JSON: ${parseError}` };
  const value = options.reader?.normalise ? options.reader.normalise(json) : json;
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data, reading };
  return { ok: false, error: `The JSON does not match the schema:\n${z.prettifyError(result.error)}` };
}

/** The user message of the repair round: what was wrong, and the schema to follow this time. */
export function repairInstructions(schemaName: string, schema: OutputJsonSchema, error: string): string {
  return (
    `Your previous answer cannot be used. ${error}\n\n` +
    `Reply again with only the corrected JSON object, valid against this JSON Schema (named "${schemaName}"), ` +
    `and nothing else:\n${JSON.stringify(schema.schema)}`
  );
}
