import { z } from 'zod';

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

/** The outcome of reading a model answer against the schema. */
export type ParsedOutput<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Parses and validates an answer. Tolerates one surrounding Markdown code fence, which local models
 * add even in JSON mode; anything else that is not exactly the schema is an error with a message the
 * repair round can show the model.
 */
export function parseStructuredOutput<T>(text: string, schema: z.ZodType<T>): ParsedOutput<T> {
  const trimmed = text.trim();
  const fenced = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/i.exec(trimmed);
  const candidate = fenced?.[1] ?? trimmed;
  if (candidate === '') return { ok: false, error: 'The answer was empty; a JSON object was expected.' };
  let json: unknown;
  try {
    json = JSON.parse(candidate);
  } catch (err) {
    return { ok: false, error: `The answer is not valid JSON: ${(err as Error).message}` };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
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
