import { estimateCall, fitsBudget, type BudgetLeft } from '../common/call-budget';
import { config } from '../common/config';
import { modelPath, normaliseModelPath } from '../common/path-policy';
import { artifactStore, type FileSetRef } from './artifacts';
import { sharedState } from './cache';
import { callModel } from './llm/model-client';
import { setModelRateLimiter } from './llm/rate-limit-hook';
import { setResponseCache } from './llm/response-cache';
import { Context } from '@temporalio/activity';
import { generatePrompt, refactorFilePrompt, reviewPrompt, writeTestsPrompt } from './llm/prompts';
import { codeAnswerSchema, fileRewriteSchema, reviewAnswerSchema } from './llm/schemas';

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
  return modelPath(p);
}

function addUsage(
  total: ModelCallUsage,
  result: { usage: Omit<ModelCallUsage, 'costUsd' | 'cached'>; costUsd: number; cached: boolean },
) {
  total.promptTokens += result.usage.promptTokens;
  total.completionTokens += result.usage.completionTokens;
  total.totalTokens += result.usage.totalTokens;
  if (!result.cached) total.costUsd += result.costUsd;
  total.cached = total.cached && result.cached;
}

/** Test files by naming convention: pytest's and node/jest's. */
export function isTestFile(filePath: string): boolean {
  const name = filePath.split('/').pop() ?? filePath;
  return (
    /^test_.*\.py$/.test(name) ||
    /_test\.py$/.test(name) ||
    /\.(test|spec)\.[cm]?[jt]sx?$/.test(name) ||
    name === 'conftest.py'
  );
}

export interface WriteTestsInput {
  task: string;
  description: string;
  language: string;
  files: FileSetRef;
  requirements?: string[];
  /** What the user told about their code (for DEBUG, often the stack trace); shown to the test engineer. */
  context?: string;
  /** DEBUG: the error the first test must reproduce. */
  error?: string;
  memoryContext?: string;
}

/**
 * Writes tests for the job's code (for DEBUG: a test that reproduces the reported error) and stores
 * code plus tests. Only test files the model writes are kept: it must not change the code under
 * test here. Idempotent (response cache, content-addressed store). startToCloseTimeout ~10 min,
 * heartbeats while streaming. Failures: as generateCode.
 */
export async function writeTests(input: WriteTestsInput): Promise<GenerateCodeResult> {
  const store = artifactStore();
  const existing = await store.getFiles(input.files);
  const result = await callModel({
    purpose: input.error ? 'reproduce' : 'write-tests',
    schemaName: 'code_answer',
    schema: codeAnswerSchema,
    messages: writeTestsPrompt({ ...input, files: existing }),
  });
  const tests = result.value.files.filter((f) => isTestFile(normalisePath(f.path)));
  return toCodeResult(existing, {
    ...result,
    value: { ...result.value, files: tests.length ? tests : result.value.files },
  });
}

export interface ReviewFinding {
  severity: 'blocking' | 'major' | 'minor';
  file: string;
  line: number | null;
  message: string;
  suggestion: string | null;
}

export interface ReviewCodeInput {
  description: string;
  language: string;
  files: FileSetRef;
  /** Static-analysis findings, one per line. */
  analysis: string;
  /** The test summary line. */
  tests: string;
}

export interface ReviewCodeResult {
  findings: ReviewFinding[];
  blocking: number;
  summary: string;
  usage: ModelCallUsage;
}

/**
 * Reviews the code with the model, given the static-analysis findings and test results as evidence.
 * Read-only and idempotent. startToCloseTimeout ~10 min, heartbeats while streaming. Failures: as
 * generateCode.
 */
export async function reviewCode(input: ReviewCodeInput): Promise<ReviewCodeResult> {
  const files = await artifactStore().getFiles(input.files);
  const result = await callModel({
    purpose: 'review',
    schemaName: 'review_answer',
    schema: reviewAnswerSchema,
    messages: reviewPrompt({ ...input, files }),
  });
  return {
    // A finding names a file the job may rewrite: a name the path policy refuses names none.
    findings: result.value.findings.map((f) => ({ ...f, file: normaliseModelPath(f.file) ?? '' })),
    blocking: result.value.findings.filter((f) => f.severity === 'blocking').length,
    summary: result.value.summary,
    usage: { ...result.usage, costUsd: result.costUsd, cached: result.cached },
  };
}

export interface RefactorCodeInput {
  description: string;
  language: string;
  files: FileSetRef;
  /** Files to rewrite, in order. */
  targets: string[];
  /** Failing tests: names, messages and trimmed traces. */
  failures: string;
  /** Blocking review and analysis findings. */
  findings: string;
  feedback?: string;
  memoryContext?: string;
  /** For DEBUG jobs: the error the user reported, so the fix addresses it and not only the test. */
  error?: string;
  /** What is left of the job's budget: no file's call is made when its estimate would cross it. */
  budget?: BudgetLeft;
}

export interface RefactorCodeResult extends GenerateCodeResult {
  /** Files whose rewrite was taken from an earlier attempt's heartbeat instead of the model. */
  resumed: string[];
  /** True when the round stopped before a call that would cross `budget`; `written` says what was done. */
  budgetStopped?: boolean;
}

interface RefactorProgress {
  /** path → artifact id of the rewritten file. */
  done: Record<string, string>;
  explanations: Record<string, string>;
  usage: ModelCallUsage;
}

/**
 * Rewrites the target files one model call per file, so the failures and findings are fixed.
 *
 * Resumable: after each file it heartbeats `{ done, explanations, usage }` (the rewritten file is in
 * the artifact store). A retry after a crash reads the last heartbeat and continues from the next
 * file; finished files are not asked of the model again. Idempotent. Give it a startToCloseTimeout
 * of ~30 min and a heartbeatTimeout of ~1 min. Failures: as generateCode.
 */
export async function refactorCode(input: RefactorCodeInput): Promise<RefactorCodeResult> {
  const store = artifactStore();
  const files = await store.getFiles(input.files);
  const previous = lastHeartbeat<RefactorProgress>();
  const progress: RefactorProgress = previous ?? {
    done: {},
    explanations: {},
    usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, cached: true },
  };
  const resumed = Object.keys(progress.done);
  for (const [filePath, id] of Object.entries(progress.done)) files[filePath] = await store.getText(id);

  let budgetStopped = false;
  for (const target of input.targets) {
    if (progress.done[target]) continue;
    const messages = refactorFilePrompt({ ...input, path: target, files });
    // One round of N files must not overshoot the job's budget N times over.
    if (input.budget && !fitsBudget(progress.usage, estimateCall(messages, config()), input.budget)) {
      budgetStopped = true;
      break;
    }
    const result = await callModel({
      purpose: 'refactor',
      schemaName: 'file_rewrite',
      schema: fileRewriteSchema,
      messages,
      heartbeatDetails: { ...progress },
    });
    files[target] = result.value.content;
    const ref = await store.put(result.value.content);
    progress.done[target] = ref.id;
    progress.explanations[target] = result.value.explanation;
    addUsage(progress.usage, result);
    heartbeatProgress(progress);
  }
  const stored = await store.putFiles(files);
  const written = input.targets.filter((t) => progress.done[t]);
  return {
    files: stored,
    written,
    explanation: written.map((t) => `${t}: ${progress.explanations[t] ?? ''}`).join('\n'),
    usage: progress.usage,
    resumed,
    ...(budgetStopped ? { budgetStopped } : {}),
  };
}

function lastHeartbeat<T>(): T | undefined {
  try {
    const details = Context.current().info.heartbeatDetails as T | undefined;
    return details && typeof details === 'object' && 'done' in details ? details : undefined;
  } catch {
    return undefined; // outside an activity (unit tests, scripts)
  }
}

function heartbeatProgress(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // outside an activity
  }
}
