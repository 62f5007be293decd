import { ApplicationFailure } from '@temporalio/common';
import { estimateCall, fitsBudget, type BudgetLeft } from '../common/call-budget';
import { config } from '../common/config';
import { modelPath, normaliseModelPath } from '../common/path-policy';
import {
  exampleSyntaxOf,
  examplesPathFor,
  examplesTestFile,
  failingTestNames,
  isExampleFailure,
  isExamplesPath,
  nodeExamplesTestFile,
  taskExamples,
  withoutFailingNodeTests,
  withoutFailingTests,
} from '../common/task-examples';
import { namedApis, stubbedNames, suggestedModulePath } from '../common/task-names';
import { isTestPath } from '../common/test-files';
import { artifactStore, type FileSetRef } from './artifacts';
import { activityContext, heartbeat } from './context';
import { sharedState } from './cache';
import {
  cleanFileContent,
  dropRepeatedAsserts,
  pythonLooksCutOff,
  trimTruncatedFile,
  trimTruncatedPythonTests,
} from './llm/answer-repair';
import { callModel, estimateTokens, type ChatMessage, type ModelCallResult } from './llm/model-client';
import { priceOf, type Pricing } from './llm/pricing';
import { setModelRateLimiter } from './llm/rate-limit-hook';
import { setResponseCache } from './llm/response-cache';
import { dropEmptyTests, exportNamedApis, fixNodeTestImports, nodeImportLine } from './llm/node-repair';
import { declaresJest } from './test-runners/node-runner';
import {
  generatePrompt,
  refactorFilePrompt,
  reviewPrompt,
  stubFollowUp,
  unchangedFollowUp,
  writeTestsPrompt,
  type Layout,
} from './llm/prompts';
import {
  codeAnswerReader,
  codeAnswerSchema,
  fileRewriteReader,
  fileRewriteSchema,
  reviewAnswerReader,
  reviewAnswerSchema,
  type CodeAnswer,
  type FileRewrite,
} from './llm/schemas';

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
  /** Where the price came from: `local` and `unpriced` models cost 0, never a guessed price. */
  pricing?: Pricing;
}

/** Completion tokens each step may spend (cut further to what the context window leaves). */
/**
 * Completion tokens per step. Tests beside the task's own examples are "at most 3 more": a small
 * model that loops on asserts stops sooner, and its last, cut-off test is dropped whole.
 */
const STEP_MAX_TOKENS = {
  generate: 3_072,
  tests: 1_536,
  testsBesideExamples: 1_024,
  review: 1_024,
  rewrite: 3_072,
} as const;

/** The prompt's share of the context window, when `completion` tokens are kept for the answer. */
function promptBudget(completion: number): number {
  const cfg = config();
  return Math.max(1_024, cfg.LLM_CONTEXT_TOKENS - Math.min(completion, cfg.LLM_MAX_TOKENS) - 64);
}

/**
 * Where a job's code and tests go: the API the task names, the module that holds (or will hold)
 * it, and the test file with the line that imports it.
 */
export function layoutFor(description: string, language: string, files: Record<string, string>): Layout {
  const names = namedApis(description);
  const sources = Object.keys(files).filter((p) => !isTestPath(p) && /\.(py|[cm]?[jt]sx?)$/.test(p));
  const defining = sources.find((p) => names.some((n) => new RegExp(`\\b${n}\\b`).test(files[p] ?? '')));
  const modulePath = defining ?? sources[0] ?? suggestedModulePath(names, language);
  const dir = modulePath.includes('/') ? modulePath.slice(0, modulePath.lastIndexOf('/') + 1) : '';
  const stem = modulePath.slice(dir.length).replace(/\.[^.]+$/, '');
  if (language === 'python') {
    const importable = names.filter((n) => !files[modulePath] || new RegExp(`\\b${n}\\b`).test(files[modulePath]!));
    return {
      names,
      modulePath,
      testPath: `${dir}test_${stem}.py`,
      importLine: importable.length ? `from ${stem} import ${importable.join(', ')}` : `import ${stem}`,
    };
  }
  const ext = language === 'typescript' ? 'ts' : 'js';
  const testPath = `${dir}${stem}.test.${ext}`;
  const importable = names.filter((n) => !files[modulePath] || new RegExp(`\\b${n}\\b`).test(files[modulePath]!));
  const importLine = nodeImportLine(importable, testPath, modulePath, language, files[modulePath]);
  return { names, modulePath, testPath, ...(importLine ? { importLine } : {}) };
}

/** A written test file with the imports a small model forgets, for its language. */
function repairTestFile(content: string, language: string, layout: Layout, files: Record<string, string>): string {
  if (language === 'python') return fixTestImports(content, layout, files);
  if (language === 'typescript' || language === 'javascript')
    return fixNodeTestImports(dropEmptyTests(content), layout, files);
  return content;
}

/** A written source file whose named API a small model forgot to export (TypeScript/JavaScript) gets the export. */
function repairSourceFile(path: string, content: string, language: string, names: readonly string[]): string {
  return (language === 'typescript' || language === 'javascript') &&
    /\.[cm]?[jt]sx?$/.test(path) &&
    !/\.cjs$/.test(path)
    ? exportNamedApis(content, names)
    : content;
}

/**
 * A Python test file that uses the code under test without importing it, or imports it from a module
 * that does not exist (small models write `from solution import f`), gets the import the layout names.
 */
export function fixTestImports(content: string, layout: Layout, files: Record<string, string>): string {
  content = renameShadowingTests(importForgottenModules(content), layout.names);
  if (!layout.importLine?.startsWith('from ')) return content;
  const stem = layout.importLine.split(' ')[1]!;
  const modules = new Set(Object.keys(files).map((p) => p.replace(/\.py$/, '').replace(/\//g, '.')));
  let fixed = content.replace(/^from\s+([\w.]+)\s+import\s+([\w, ]+)$/gm, (line, module: string, imported: string) => {
    const wanted = imported.split(',').some((n) => layout.names.includes(n.trim()));
    return wanted && !modules.has(module) ? `from ${stem} import ${imported}` : line;
  });
  const imports = new RegExp(
    `^\\s*(from\\s+${stem.replace(/\./g, '\\.')}\\s+import|import\\s+${stem.replace(/\./g, '\\.')}\\b)`,
    'm',
  );
  const uses = layout.names.some((n) => new RegExp(`\\b${n}\\(`).test(fixed));
  if (uses && !imports.test(fixed)) fixed = `${layout.importLine}\n${fixed}`;
  return fixed;
}

/** Python text with its strings and comments blanked: what is left is code. */
function pythonCodeOnly(text: string): string {
  return text.replace(/'''[\s\S]*?'''|"""[\s\S]*?"""|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|#[^\n]*/g, "''");
}

/**
 * A Python test file that defines a top-level function named after the API it tests (`def fib(n):`
 * holding `assert fib(10) == 55`, seen on the local 1.5B model) shadows the import, so every call in
 * it recurses, and pytest never collects it. Such a function becomes `test_fib()`, when its body
 * uses none of its parameters; otherwise it is left for the linter's F811 to report.
 */
export function renameShadowingTests(content: string, names: readonly string[]): string {
  const lines = content.split('\n');
  // Python names only: a name is then safe inside a regular expression.
  for (const name of names.filter((n) => /^[A-Za-z_]\w*$/.test(n))) {
    const at = lines.findIndex((l) => new RegExp(`^def\\s+${name}\\s*\\(`).test(l));
    if (at < 0) continue;
    // The signature (up to its colon), then the indented body.
    let end = at;
    while (end < lines.length - 1 && !/\)\s*(->[^:]*)?:\s*(#.*)?$/.test(lines[end]!)) end++;
    const signature = lines.slice(at, end + 1).join(' ');
    let stop = end + 1;
    while (stop < lines.length && (lines[stop]!.trim() === '' || /^\s/.test(lines[stop]!))) stop++;
    const body = lines.slice(end + 1, stop).join('\n');
    const inner = signature.slice(signature.indexOf('(') + 1, signature.lastIndexOf(')'));
    const params = inner
      .split(',')
      .map(
        (p) =>
          p
            .trim()
            .replace(/^\*+/, '')
            .split(/[:=\s]/)[0]!,
      )
      // Pieces of a default value (`2)` of `a=(1, 2)`) are no parameters.
      .filter((p) => /^[A-Za-z_]\w*$/.test(p));
    if (!new RegExp(`(?<![\\w.])${name}\\s*\\(`).test(body)) continue;
    // Code only: `n` in a docstring's "n-th" is no use of the parameter `n`.
    const code = pythonCodeOnly(body);
    if (params.some((p) => new RegExp(`\\b${p}\\b`).test(code))) continue;
    let renamed = `test_${name}`;
    for (let i = 2; lines.some((l) => new RegExp(`^def\\s+${renamed}\\s*\\(`).test(l)); i++)
      renamed = `test_${name}_${i}`;
    lines.splice(at, end - at + 1, `def ${renamed}():`);
  }
  return lines.join('\n');
}

/** Modules a small model's test file uses (`pytest.raises`, `math.isclose`) and forgets to import. */
const FORGOTTEN_MODULES = ['pytest', 'math', 're', 'itertools', 'collections', 'functools', 'random'];

/**
 * A Python test file that uses one of the modules above without binding its name (an import, an
 * assignment, a parameter or loop variable of that name) gets the import, after any `from
 * __future__` line: a NameError would otherwise fail every test that uses it.
 */
export function importForgottenModules(content: string): string {
  // Code only: a module's name inside a string or a comment is no use of it.
  const code = pythonCodeOnly(content);
  const missing = FORGOTTEN_MODULES.filter((m) => {
    if (!new RegExp(`(^|[^\\w.])${m}\\.\\w`, 'm').test(code)) return false;
    const bound = new RegExp(
      `^\\s*(import\\s+([\\w.]+(\\s+as\\s+\\w+)?\\s*,\\s*)*${m}\\b|from\\s+\\S+\\s+import\\s+.*\\b${m}\\b|${m}\\s*=[^=])|\\bas\\s+${m}\\b|\\bfor\\s+${m}\\b|[(,]\\s*${m}\\s*[,)=:]|\\bdef\\s+${m}\\b`,
      'm',
    );
    return !bound.test(code);
  });
  if (missing.length === 0) return content;
  const lines = content.split('\n');
  let at = 0;
  lines.forEach((line, i) => {
    if (/^from\s+__future__\s+import\b/.test(line)) at = i + 1;
  });
  lines.splice(at, 0, ...missing.map((m) => `import ${m}`));
  return lines.join('\n');
}

/** An answer's files as saved: fences inside contents removed, a cut-off last file trimmed, looping asserts dropped. */
function cleanFiles(answer: CodeAnswer, truncated: boolean): CodeAnswer['files'] {
  return answer.files.map((file, i) => {
    let content = cleanFileContent(file.content);
    const path = normalisePath(file.path);
    const pythonTest = isTestPath(path) && path.endsWith('.py');
    // A cut-off test file shows it even when the endpoint did not say so (a repaired answer, a proxy).
    if ((truncated && i === answer.files.length - 1) || (pythonTest && pythonLooksCutOff(content))) {
      content = (pythonTest ? trimTruncatedPythonTests(content) : undefined) ?? trimTruncatedFile(content);
    }
    if (isTestPath(path)) content = dropRepeatedAsserts(content);
    return { path, content };
  });
}

const usageOf = (result: ModelCallResult<unknown>): ModelCallUsage => ({
  ...result.usage,
  costUsd: result.costUsd,
  cached: result.cached,
  pricing: result.pricing,
});

export interface GenerateCodeInput {
  task: string;
  description: string;
  language: string;
  /** The user's files, if any. */
  files?: FileSetRef;
  context?: string;
  requirements?: string[];
  memoryContext?: string;
  /** Add the task's own examples as a test file, when the task states any: the loop checks each draft with them. */
  withExamples?: boolean;
  /**
   * Another draft of new code (2, 3…): a fresh answer to the same task, sampled wider than the first,
   * told which of the task's examples the last draft got wrong. It never sees that draft's code.
   */
  draft?: { attempt: number; failure?: string };
  /**
   * The job's own test files, added to the answer's files without being shown to the model: a
   * cross-check draft is run against them (only test files are taken from it).
   */
  tests?: FileSetRef;
}

export interface GenerateCodeResult {
  /** The generated files merged over the user's files. */
  files: FileSetRef;
  /** Paths the model wrote. */
  written: string[];
  explanation: string;
  usage: ModelCallUsage;
  /** With `withExamples`: the examples test file added, when the task states examples. */
  examplesPath?: string;
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
  const layout = layoutFor(input.description, input.language, existing);
  const messages = generatePrompt({
    task: input.task,
    description: input.description,
    language: input.language,
    files: existing,
    context: input.context,
    requirements: input.requirements,
    memoryContext: input.memoryContext,
    layout,
    budgetTokens: promptBudget(STEP_MAX_TOKENS.generate),
    ...(input.draft?.failure ? { lastDraftFailure: input.draft.failure } : {}),
  });
  // A later draft samples wider: at the first draft's temperature a small model writes the same code again.
  // Its own seed keeps two drafts at the capped temperature apart (and out of each other's cache entry).
  const later = input.draft && input.draft.attempt > 1 ? input.draft.attempt : undefined;
  const temperature = later ? Math.min(1, config().LLM_TEMPERATURE + 0.3 * (later - 1)) : undefined;
  const ask = (prompt: ChatMessage[]) =>
    callModel({
      purpose: 'generate',
      schemaName: 'code_answer',
      schema: codeAnswerSchema,
      reader: codeAnswerReader([layout.modulePath]),
      output: 'text',
      maxTokens: STEP_MAX_TOKENS.generate,
      messages: prompt,
      ...(temperature === undefined ? {} : { temperature }),
      ...(later === undefined ? {} : { seed: later }),
    });
  const read = (answer: ModelCallResult<CodeAnswer>) => {
    let files = cleanFiles(answer.value, answer.truncated).map((f) =>
      isTestPath(f.path) ? f : { ...f, content: repairSourceFile(f.path, f.content, input.language, layout.names) },
    );
    // Tests are the next step's job, written against the task; a generate answer's own tests are dropped.
    if (input.task === 'generate' && files.some((f) => !isTestPath(f.path)))
      files = files.filter((f) => !isTestPath(f.path));
    return files;
  };
  const stubsIn = (files: { path: string; content: string }[]) =>
    stubbedNames(
      Object.fromEntries(
        Object.entries({ ...existing, ...Object.fromEntries(files.map((f) => [f.path, f.content])) }).filter(
          ([p]) => !isTestPath(p),
        ),
      ),
      layout.names,
    );
  const result = await ask(messages);
  let files = read(result);
  let explanation = result.value.explanation;
  const usage = usageOf(result);
  // A named function given back as its stub (HumanEval/53's `add` on the local 1.5B model, every time)
  // is asked for once more, with the answer as the model's own turn and the stub named.
  // Only for new code: a user's stub that a refactor or document job leaves alone is theirs to keep.
  const stubs = input.task === 'generate' && files.length > 0 ? stubsIn(files) : [];
  const followUp = stubs.length > 0 ? stubFollowUp(messages, files, stubs, input.language) : undefined;
  // Only when the conversation still leaves room for a whole answer; else the analysis names the stub.
  if (followUp && estimateTokens(followUp) + 1_024 <= config().LLM_CONTEXT_TOKENS) {
    heartbeat({ step: 'generate', stubs: stubs.map((s) => s.name) });
    const again = await ask(followUp).catch(unreadableAsNone);
    if (again) {
      addUsage(usage, again);
      const second = read(again);
      if (second.length > 0 && stubsIn(second).length < stubs.length) {
        files = second;
        explanation = again.value.explanation;
      }
    }
  }
  // A cross-check draft goes with the job's own tests, which the model never saw.
  const jobTests = Object.fromEntries(
    Object.entries(input.tests ? await store.getFiles(input.tests) : {}).filter(
      ([p]) => isTestPath(p) && !isExamplesPath(p),
    ),
  );
  const base = { ...existing, ...jobTests };
  // The examples import the API from where this answer put it, not from where the prompt suggested.
  const answered = { ...existing, ...Object.fromEntries(files.map((f) => [f.path, f.content])) };
  const examples =
    input.withExamples && files.length > 0
      ? examplesFor(input, layoutFor(input.description, input.language, answered), answered, jobTests)
      : undefined;
  if (examples) {
    const result = await toCodeResult(base, [...files, examples], explanation, usage);
    return { ...result, written: result.written.filter((p) => p !== examples.path), examplesPath: examples.path };
  }
  return toCodeResult(base, files, explanation, usage);
}

async function toCodeResult(
  base: Record<string, string>,
  written: { path: string; content: string }[],
  explanation: string,
  usage: ModelCallUsage,
): Promise<GenerateCodeResult> {
  const merged = { ...base };
  for (const file of written) merged[file.path] = file.content;
  const files = await artifactStore().putFiles(merged);
  return { files, written: written.map((f) => f.path), explanation, usage };
}

function normalisePath(p: string): string {
  return modelPath(p);
}

function addUsage(
  total: ModelCallUsage,
  result: { usage: Omit<ModelCallUsage, 'costUsd' | 'cached'>; costUsd: number; cached: boolean; pricing: Pricing },
) {
  total.pricing = result.pricing;
  total.promptTokens += result.usage.promptTokens;
  total.completionTokens += result.usage.completionTokens;
  total.totalTokens += result.usage.totalTokens;
  if (!result.cached) total.costUsd += result.costUsd;
  total.cached = total.cached && result.cached;
}

/** What one rewrite may cost before it is made, at the configured model's price (0 for a local one). */
function estimateRewrite(messages: unknown) {
  const cfg = config();
  const price = priceOf(cfg, cfg.OPENAI_BASE_URL ?? 'https://api.openai.com/v1', cfg.OPENAI_MODEL);
  return estimateCall(messages, {
    LLM_MAX_TOKENS: Math.min(STEP_MAX_TOKENS.rewrite, cfg.LLM_MAX_TOKENS),
    LLM_PRICE_INPUT_PER_MTOK: price.inputPerMTok,
    LLM_PRICE_OUTPUT_PER_MTOK: price.outputPerMTok,
  });
}

/** Whether a test file's text defines a test (pytest's `def test_…`, node's `test(`/`it(`). */
export function hasTests(content: string): boolean {
  return /^\s*(?:async\s+)?def test_|^\s*class Test|\b(?:test|it)\s*\(/m.test(content);
}

/** Whether a finding shows a failure: a call with its arguments, a comparison, or a value it returns. */
export function showsFailure(text: string): boolean {
  return /[\w\]]\([^)]*\)|==|!=|->|\breturns?\b[^.]*(\d|'|")|\braises?\b|error\b|exception\b|\bcrash|\binstead of\b|\bbut the task\b/i.test(
    text,
  );
}

/** Test files by naming convention: pytest's and node/jest's. */
export const isTestFile = isTestPath;

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
  const layout = layoutFor(input.description, input.language, existing);
  const examples = examplesFor(input, layout, existing);
  const testTokens = examples ? STEP_MAX_TOKENS.testsBesideExamples : STEP_MAX_TOKENS.tests;
  let result: ModelCallResult<CodeAnswer>;
  try {
    result = await callModel({
      purpose: input.error ? 'reproduce' : 'write-tests',
      schemaName: 'code_answer',
      schema: codeAnswerSchema,
      reader: codeAnswerReader([layout.testPath]),
      output: 'text',
      maxTokens: testTokens,
      messages: writeTestsPrompt({
        ...input,
        // The examples file is named, not shown: a small model copies its helpers into its own tests.
        files: Object.fromEntries(Object.entries(existing).filter(([p]) => !isExamplesPath(p))),
        layout,
        ...(examples ? { examplesPath: examples.path } : {}),
        budgetTokens: promptBudget(testTokens),
      }),
    });
  } catch (err) {
    // No usable tests is a finding of the loop (a job without tests is never green), not a failed job.
    if (err instanceof ApplicationFailure && err.type === 'ModelOutputInvalid') {
      const explanation = `No usable tests from the model: ${err.message}`;
      if (examples)
        return toCodeResult(existing, [examples], `${explanation}; the task's examples are tested`, zeroUsage());
      return { files: input.files, written: [], explanation, usage: zeroUsage() };
    }
    throw err;
  }
  const answered = cleanFiles(result.value, result.truncated);
  // Only test files are kept: this step never changes the code under test. A test written under the
  // module's own name (or any other non-test name) is saved under the test file name asked for.
  const tests = answered.filter((f) => isTestPath(f.path));
  const misnamed = answered.find(
    (f) => !isTestPath(f.path) && /^\s*(def test_|test\(|it\(|describe\()/m.test(f.content),
  );
  if (tests.length === 0 && misnamed) tests.push({ path: layout.testPath, content: misnamed.content });
  const kept = tests
    .filter((f) => f.content.trim() !== '' && !isExamplesPath(f.path))
    .map((f) => ({ ...f, content: repairTestFile(f.content, input.language, layout, existing) }));
  // Written again beside the new tests: jest runs them all when the model's tests are written for it.
  if (examples)
    kept.push(examplesFor(input, layout, existing, Object.fromEntries(kept.map((f) => [f.path, f.content])))!);
  return toCodeResult(existing, kept, result.value.explanation, usageOf(result));
}

/**
 * The task's own examples as a test file (Python, TypeScript or JavaScript, when the task states
 * examples of the API it names and the code does not come with the user's tests): written by the
 * service, not the model, and kept as the task wrote them whatever a later round does. `newTests`
 * are the tests written beside it, which decide whether jest or node's runner runs it.
 */
function examplesFor(
  input: { description: string; language: string; error?: string },
  layout: Layout,
  files: Record<string, string>,
  newTests: Record<string, string> = {},
): { path: string; content: string } | undefined {
  const syntax = exampleSyntaxOf(input.language);
  const importLine = layout.importLine;
  if (!syntax || input.error || !importLine || (syntax === 'python' && !importLine.startsWith('from ')))
    return undefined;
  if (Object.keys(files).some((p) => isTestPath(p) && !isExamplesPath(p))) return undefined;
  const examples = taskExamples(input.description, layout.names, undefined, syntax);
  if (examples.length === 0) return undefined;
  const path = examplesPathFor(layout.testPath);
  if (syntax === 'python') return { path, content: examplesTestFile(examples, importLine) };
  const content = nodeExamplesTestFile(examples, importLine, {
    stem: layout.testPath.replace(/^.*\//, '').replace(/\.(test|spec)\.[^.]+$/, ''),
    typescript: input.language === 'typescript',
    jest: declaresJest({ ...files, ...newTests }).jest,
  });
  return { path, content };
}

function zeroUsage(): ModelCallUsage {
  return { promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, cached: false };
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
  /** The failing tests, names and messages, when some fail. */
  failures?: string;
  /** True when the job's tests ran and all passed: a blocking finding must then show a call the code gets wrong. */
  testsGreen?: boolean;
}

export interface ReviewCodeResult {
  findings: ReviewFinding[];
  blocking: number;
  /** When tests failed: who the review found wrong, judged against the task (null: not said). */
  failingTests?: 'code' | 'tests' | 'both' | null;
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
  if (input.failures && verdictFromExamples(files, input.failures) === 'tests') {
    // Every example the task gives passes and only the job's own tests fail: they are fixed first
    // (dropped without the model where they can be), and the code is reviewed in the next round. A
    // review now reads the failures' traces (a long prompt, minutes on a small local model) and tends
    // to pin a test file's syntax error on the code, which sends right code to be rewritten.
    return {
      findings: [],
      blocking: 0,
      failingTests: 'tests',
      summary:
        "Every example the task gives passes; only the job's own tests fail, so they are fixed first and the code is reviewed after.",
      usage: zeroUsage(),
    };
  }
  const result = await callModel({
    purpose: 'review',
    schemaName: 'review_answer',
    schema: reviewAnswerSchema,
    reader: reviewAnswerReader,
    maxTokens: STEP_MAX_TOKENS.review,
    messages: reviewPrompt({
      ...input,
      // The service wrote the examples file from the task, which the review reads already.
      files: Object.fromEntries(Object.entries(files).filter(([p]) => !isExamplesPath(p))),
      names: namedApis(input.description),
      budgetTokens: promptBudget(STEP_MAX_TOKENS.review),
    }),
  });
  // A blocking finding must point at something: one about a file the job does not have (and is not
  // asked to create) is an opinion, kept as major so it cannot hold the job in a loop by itself.
  // Where the tests pass, a blocking finding must show how the code fails (a call it gets wrong):
  // a small model otherwise restates the task as a "bug" and sends right code round the loop.
  const findings = result.value.findings.map((f) =>
    f.severity === 'blocking' &&
    ((f.file && !(normalisePath(f.file) in files) && isTestPath(normalisePath(f.file))) ||
      (input.testsGreen && !showsFailure(`${f.message} ${f.suggestion ?? ''}`)))
      ? { ...f, severity: 'major' as const }
      : { ...f, file: normaliseModelPath(f.file) ?? '' },
  );
  return {
    findings,
    blocking: findings.filter((f) => f.severity === 'blocking').length,
    failingTests: input.failures ? (verdictFromExamples(files, input.failures) ?? result.value.failingTests) : null,
    summary: result.value.summary,
    usage: usageOf(result),
  };
}

/**
 * Where the task's own examples are tested, they decide who is wrong: the code when an example fails,
 * the job's own tests when every example passes and only they fail. Undefined without examples.
 */
function verdictFromExamples(files: Record<string, string>, failures: string): 'code' | 'tests' | undefined {
  if (!Object.keys(files).some(isExamplesPath)) return undefined;
  const failing = failingTestNames(failures);
  if (failing.length === 0) return undefined;
  return failing.some(isExampleFailure) ? 'code' : 'tests';
}

/**
 * A job-written test file (Python, TypeScript, JavaScript), fixed without the model where the task's
 * examples all pass: the failing tests are dropped (a small model's rewrite of a wrong test is as
 * often wrong again), and a file that did not even load goes. Undefined when that cannot be done and
 * the model rewrites it.
 */
function prunedTestFile(
  target: string,
  files: Record<string, string>,
  input: RefactorCodeInput,
): { content: string; explanation: string } | undefined {
  const syntax = exampleSyntaxOf(input.language);
  if (!syntax || isExamplesPath(target) || !Object.keys(files).some(isExamplesPath)) return undefined;
  const failing = failingTestNames(input.failures);
  // A job-written test file that does not even load is no evidence either way: the examples test the task.
  // pytest names it by module, node and jest by path.
  const stem = target.replace(/^.*\//, '').replace(/\.py$/, '');
  const didNotLoad = (n: string) =>
    syntax === 'python' ? n === stem || n.endsWith(`.${stem}`) : n === target || n.endsWith(`/${target}`);
  if (failing.some(didNotLoad)) {
    return {
      content: '',
      explanation: `${target} did not load; the task's own examples test the code, so it is dropped.`,
    };
  }
  if (failing.length === 0 || failing.some(isExampleFailure)) return undefined;
  const pruned =
    syntax === 'python'
      ? withoutFailingTests(target, files[target] ?? '', failing)
      : withoutFailingNodeTests(files[target] ?? '', failing);
  if (pruned === undefined || pruned === files[target]) return undefined;
  return {
    content: hasTests(pruned) ? pruned : '',
    explanation: `Dropped the tests of ${target} that the code fails although it does every example the task gives.`,
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
  /** The refactor round (1, 2…): a later round says the last rewrite did not fix it, and is a new request. */
  attempt?: number;
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
    // The task's examples are the task's words: no round rewrites them.
    if (progress.done[target] || isExamplesPath(target)) continue;
    const pruned = prunedTestFile(target, files, input);
    if (pruned) {
      files[target] = pruned.content;
      progress.done[target] = (await store.put(pruned.content)).id;
      progress.explanations[target] = pruned.explanation;
      heartbeat(progress);
      continue;
    }
    const messages = refactorFilePrompt({
      ...input,
      path: target,
      files,
      isTest: isTestPath(target),
      names: namedApis(input.description),
      budgetTokens: promptBudget(STEP_MAX_TOKENS.rewrite),
    });
    // One round of N files must not overshoot the job's budget N times over.
    if (input.budget && !fitsBudget(progress.usage, estimateRewrite(messages), input.budget)) {
      budgetStopped = true;
      break;
    }
    const rewrite = (prompt: ChatMessage[], temperature?: number) =>
      callModel({
        purpose: 'refactor',
        schemaName: 'file_rewrite',
        schema: fileRewriteSchema,
        reader: fileRewriteReader,
        output: 'text',
        maxTokens: STEP_MAX_TOKENS.rewrite,
        messages: prompt,
        ...(temperature === undefined ? {} : { temperature }),
        heartbeatDetails: { ...progress },
      });
    // A later attempt samples wider: a real model otherwise gives the same failed rewrite again.
    const result = await rewrite(
      messages,
      input.attempt && input.attempt > 1
        ? Math.min(1, config().LLM_TEMPERATURE + 0.3 * (input.attempt - 1))
        : undefined,
    );
    const read = (answer: ModelCallResult<FileRewrite>): string => {
      let content = cleanFileContent(answer.value.content);
      if (answer.truncated) content = trimTruncatedFile(content);
      // A "fixed" test file with no test left in it (a small model pastes the code there) is no fix.
      if (isTestPath(target) && !hasTests(content) && files[target] !== undefined) content = files[target];
      if (isTestPath(target)) {
        content = dropRepeatedAsserts(content);
        return repairTestFile(content, input.language, layoutFor(input.description, input.language, files), files);
      }
      return repairSourceFile(target, content, input.language, namedApis(input.description));
    };
    let content = read(result);
    let explanation = result.value.explanation;
    addUsage(progress.usage, result);
    // Code given back unchanged while the task's own examples fail is no rewrite (the examples are the
    // task's words: the code is wrong, whatever the review said): the model is shown its answer and
    // the first failing example, and asked once more, sampling wider.
    const failure = firstExampleFailure(input.failures);
    if (!isTestPath(target) && failure && files[target] !== undefined && sameCode(content, files[target])) {
      const followUp = unchangedFollowUp(messages, target, content, input.language, failure);
      const fits =
        estimateTokens(followUp) + 1_024 <= config().LLM_CONTEXT_TOKENS &&
        (!input.budget || fitsBudget(progress.usage, estimateRewrite(followUp), input.budget));
      const again = fits
        ? await rewrite(followUp, Math.min(1, config().LLM_TEMPERATURE + 0.3 * (input.attempt ?? 1))).catch(
            unreadableAsNone,
          )
        : undefined;
      if (again) {
        addUsage(progress.usage, again);
        const second = read(again);
        if (second.trim() && !sameCode(second, files[target])) {
          content = second;
          explanation = again.value.explanation;
        }
      }
    }
    files[target] = content;
    const ref = await store.put(content);
    progress.done[target] = ref.id;
    progress.explanations[target] = explanation;
    heartbeat(progress);
  }
  // A test file emptied by pruning is gone, not an empty module.
  for (const target of input.targets) if (isTestPath(target) && files[target] === '') delete files[target];
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

/** For a second ask: an unreadable answer is none (the first one stands); other failures are thrown. */
function unreadableAsNone(err: unknown): undefined {
  if (err instanceof ApplicationFailure && err.type === 'ModelOutputInvalid') return undefined;
  throw err;
}

/** Two versions of a file that differ at most in trailing whitespace. */
function sameCode(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/[ \t]+$/gm, '').trim();
  return norm(a) === norm(b);
}

/** The first failing task example of a failures text (`- name: message` lines), cut to a few hundred characters. */
function firstExampleFailure(failures: string | undefined): string | undefined {
  const first = failures?.split('\n').find((l) => /^- \S+?: /.test(l) && isExampleFailure(l.slice(2).split(': ')[0]!));
  return first ? first.slice(0, 400) : undefined;
}

function lastHeartbeat<T>(): T | undefined {
  // Outside an activity (unit tests, scripts) there is none.
  const details = activityContext()?.info.heartbeatDetails as T | undefined;
  return details && typeof details === 'object' && 'done' in details ? details : undefined;
}
