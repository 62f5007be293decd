import { artifactStore, type FileSetRef } from './artifacts';
import { sharedState } from './cache';
import { callModel } from './llm/model-client';
import { setModelRateLimiter } from './llm/rate-limit-hook';
import { setResponseCache } from './llm/response-cache';
import { generatePrompt } from './llm/prompts';
import { codeAnswerSchema } from './llm/schemas';

/** Activities of the LLM pool (`<prefix>-llm` task queue). */

// Every LLM worker shares one response cache and one rate limiter: Redis when REDIS_URL is set,
// in-process otherwise (the shared state logs which, and degrades to in-process if Redis dies).
setResponseCache(sharedState().cache);
setModelRateLimiter(sharedState().limiter);

export interface ModelCallUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  costUsd: number;
  cached: boolean;
}

export interface GenerateCodeInput {
  task: string;
  description: string;
  language: string;
  /** The user's files, if any. */
  files?: FileSetRef;
  context?: string;
  requirements?: string[];
  memoryContext?: string;
}

export interface GenerateCodeResult {
  /** The generated files merged over the user's files. */
  files: FileSetRef;
  /** Paths the model wrote. */
  written: string[];
  explanation: string;
  usage: ModelCallUsage;
}

/**
 * Generates code for a task with the model, as structured output (files plus an explanation), and
 * stores the files in the artifact store.
 *
 * Idempotent: the response cache answers a retry of a call the model already answered, and the
 * artifact store is content-addressed. Streams and heartbeats; give it a startToCloseTimeout of a few
 * minutes and a heartbeatTimeout of ~30 s.
 *
 * Failures: ModelConfig, ModelAuth, ModelRequestInvalid, ModelRefused, ModelOutputInvalid
 * (non-retryable); ModelRateLimited, ModelUnavailable (retryable).
 */
export async function generateCode(input: GenerateCodeInput): Promise<GenerateCodeResult> {
  const store = artifactStore();
  const existing = input.files ? await store.getFiles(input.files) : {};
  const result = await callModel({
    purpose: 'generate',
    schemaName: 'code_answer',
    schema: codeAnswerSchema,
    messages: generatePrompt({
      task: input.task,
      description: input.description,
      language: input.language,
      files: existing,
      context: input.context,
      requirements: input.requirements,
      memoryContext: input.memoryContext,
    }),
  });
  return toCodeResult(existing, result);
}

async function toCodeResult(
  base: Record<string, string>,
  result: Awaited<ReturnType<typeof callModel<{ files: { path: string; content: string }[]; explanation: string }>>>,
): Promise<GenerateCodeResult> {
  const merged = { ...base };
  for (const file of result.value.files) merged[normalisePath(file.path)] = file.content;
  const files = await artifactStore().putFiles(merged);
  return {
    files,
    written: result.value.files.map((f) => normalisePath(f.path)),
    explanation: result.value.explanation,
    usage: { ...result.usage, costUsd: result.costUsd, cached: result.cached },
  };
}

function normalisePath(p: string): string {
  return p.replace(/^\.\//, '').replace(/\\/g, '/');
}
