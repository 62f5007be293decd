import type { ChatMessage } from './model-client';

/**
 * The prompts of every model step. Written for small local code models as much as for large hosted
 * ones: the file names to write and the import line to use are spelt out, the answer format says
 * that file content is raw text (no Markdown fences), memory is marked as reference from other jobs,
 * and every prompt fits a token budget (files the step does not change shrink to an outline first).
 */

const CHARS_PER_TOKEN = 3;

const FENCE_LANG: Record<string, string> = { python: 'python', typescript: 'typescript', javascript: 'javascript' };

/**
 * The answer format of code-writing steps: each file as a code block under its path, then a sentence
 * or two. Code is written as code, not as a JSON string (which small models fill with placeholders
 * and fences); the reader still takes a JSON `{files, explanation}` answer.
 */
function codeAnswer(path: string, language: string): string {
  return (
    `Answer with each file as one Markdown code block, the file's path alone on the line before it, like this:\n\n${path}\n` +
    `\`\`\`${FENCE_LANG[language] ?? ''}\n(the complete file)\n\`\`\`\n\nThen one or two sentences on what you did. Always give whole files: no diffs, no ellipses.`
  );
}

const TEST_STYLE: Record<string, string> = {
  python: 'pytest: plain functions named test_*, plain assert statements',
  typescript: "node's test runner: node:test and node:assert/strict",
  javascript: "node's test runner: node:test and node:assert/strict",
};

/** What each task kind asks of the first generation step. */
const TASK_INSTRUCTIONS: Record<string, string> = {
  generate: 'Write the code the task asks for.',
  refactor: 'Refactor the code as asked, keeping its behaviour.',
  document:
    'Add documentation without changing behaviour: a docstring (PEP 257, Google style) or TSDoc comment on every module, public class and public function, ' +
    "in Python type hints on every function's parameters and return value, and a short README.md section explaining how to use the code.",
  deploy:
    'Write deployment artefacts for this code: a Dockerfile (pinned base image, non-root user, HEALTHCHECK) and Kubernetes manifests in k8s/deployment.yaml and k8s/service.yaml (resource requests and limits, probes, labels).',
};

/**
 * Files as a prompt section within `budgetChars`: the `focus` files whole, then the others whole while
 * they fit, then as an outline (their def/class/function lines), then only by name.
 */
export function filesBlock(
  files: Record<string, string>,
  title = 'Existing files',
  budgetChars = Number.POSITIVE_INFINITY,
  focus: string[] = [],
): string {
  const entries = Object.entries(files).sort(
    ([a], [b]) => Number(focus.includes(b)) - Number(focus.includes(a)) || a.localeCompare(b),
  );
  if (entries.length === 0) return '';
  let left = budgetChars;
  const parts: string[] = [];
  for (const [p, content] of entries) {
    const whole = `--- ${p}\n${content}${content.endsWith('\n') ? '' : '\n'}`;
    if (whole.length <= left || focus.includes(p)) {
      parts.push(whole.length <= left || !focus.includes(p) ? whole : cutMiddle(whole, Math.max(left, 2_000)));
    } else {
      const outline = outlineOf(content);
      const shown = `--- ${p} (outline only: ${content.split('\n').length} lines)\n${outline}`;
      parts.push(shown.length <= left ? shown : `--- ${p} (not shown: too long for the context window)\n`);
    }
    left -= parts.at(-1)!.length;
  }
  return `\n\n${title}:\n${parts.join('')}`;
}

function outlineOf(content: string): string {
  const lines = content
    .split('\n')
    .filter((l) =>
      /^\s*(?:(?:async\s+)?def |class |(?:export\s+)?(?:async\s+)?function |export |import |from )/.test(l),
    );
  return lines.length ? `${lines.slice(0, 60).join('\n')}\n` : '(no definitions)\n';
}

function cutMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n… (${text.length - max} characters cut to fit the context window) …\n${text.slice(-half)}`;
}

/** Memory as a clearly-marked reference: other jobs' work, to use only where it fits this task. */
function memoryBlock(memory: string | undefined, title: string, budgetChars: number): string {
  if (!memory || budgetChars < 400) return '';
  const text = memory.length > budgetChars ? `${memory.slice(0, budgetChars)}\n…` : memory;
  return (
    `\n\n${title} (reference only, from OTHER earlier jobs: use an idea from it only if it fits THIS task; ` +
    `never copy its file names, function names or behaviour into this task):\n<reference>\n${text}\n</reference>`
  );
}

function extras(input: { requirements?: string[]; context?: string }): string {
  const requirements = input.requirements?.length
    ? '\n\nRequirements:\n' + input.requirements.map((r) => `- ${r}`).join('\n')
    : '';
  const context = input.context ? `\n\nContext from the user:\n${input.context}` : '';
  return `${requirements}${context}`;
}

/** Where the answer's parts go: the named API, and the file that should hold it. */
export interface Layout {
  /** The functions and classes the task names; they must exist, with these names. */
  names: string[];
  /** The module new code goes in (when the user gave no code file). */
  modulePath: string;
  /** The test file to write, and the import line that reaches the code from it. */
  testPath: string;
  importLine?: string;
}

function apiLine(layout: Layout, language: string): string {
  if (!layout.names.length) return '';
  const them = layout.names.length > 1 ? 'them' : 'it';
  // A test file imports the API by name (the layout's import line): it must be exported.
  const exported =
    language === 'python' ? '' : ` Export ${them} by name (\`export function …\`), for the tests to import.`;
  return ` The task names ${layout.names.map((n) => `\`${n}\``).join(', ')}: define ${them} with exactly ${layout.names.length > 1 ? 'these names' : 'this name'}, as the task describes.${exported}`;
}

export interface GeneratePromptInput {
  task: string;
  description: string;
  language: string;
  files: Record<string, string>;
  context?: string;
  requirements?: string[];
  memoryContext?: string;
  layout: Layout;
  /** Tokens the prompt may use. */
  budgetTokens: number;
  /** For another draft: what the last one got wrong (one of the task's examples), in a line or two. */
  lastDraftFailure?: string;
}

/** The prompt for the first generation step of a task. */
export function generatePrompt(input: GeneratePromptInput): ChatMessage[] {
  const budget = input.budgetTokens * CHARS_PER_TOKEN;
  const where = Object.keys(input.files).length
    ? ' Change or complete the existing files as needed and give each file you change whole.'
    : ` Put the code in \`${input.layout.modulePath}\`.`;
  const lastDraft = input.lastDraftFailure
    ? `\n\nAn earlier draft got this example of the task wrong:\n${input.lastDraftFailure.slice(0, 400)}\n` +
      'Write the code afresh, and work each example of the task through it before you answer.'
    : '';
  const head = `Task (${input.task}): ${input.description}${extras(input)}${lastDraft}`;
  const memory = memoryBlock(input.memoryContext, 'Code from earlier jobs', Math.min(4_000, budget / 5));
  return [
    {
      role: 'system',
      content:
        `You are Sophia Code, a senior ${input.language} engineer. ${TASK_INSTRUCTIONS[input.task] ?? TASK_INSTRUCTIONS.generate}` +
        `${where}${apiLine(input.layout, input.language)} Write only the code, not tests.\n\n${codeAnswer(input.layout.modulePath, input.language)}`,
    },
    {
      role: 'user',
      content: `${head}${filesBlock(input.files, 'Existing files', budget - head.length - memory.length - 1_500)}${memory}`,
    },
  ];
}

/**
 * The turn after an answer that left a named function as its stub (a small model handed a stub often
 * gives it back unchanged): the answer as the model's own turn, then a request for the body.
 */
export function stubFollowUp(
  prompt: ChatMessage[],
  answer: { path: string; content: string }[],
  stubs: { name: string; path: string }[],
  language: string,
): ChatMessage[] {
  const names = stubs.map((s) => `\`${s.name}\``).join(', ');
  const given = answer
    .map(
      (f) =>
        `${f.path}\n\`\`\`${FENCE_LANG[language] ?? ''}\n${f.content}${f.content.endsWith('\n') ? '' : '\n'}\`\`\``,
    )
    .join('\n\n');
  return [
    ...prompt,
    { role: 'assistant', content: given },
    {
      role: 'user',
      content:
        `${names} ${stubs.length > 1 ? 'have' : 'has'} no body yet: only ${stubs.length > 1 ? 'their' : 'its'} docstring or a placeholder. ` +
        `Write the code inside ${stubs.length > 1 ? 'them' : 'it'} that does what the task describes, and give ${stubs
          .map((s) => s.path)
          .filter((p, i, a) => a.indexOf(p) === i)
          .join(', ')} whole again, in the same format.`,
    },
  ];
}

/**
 * The turn after a rewrite that gave a failing file back unchanged (on the eval, 34 of 54 rewrites by
 * the local 1.5B model): the file as the model's own turn, then the first failure and a request for
 * different code.
 */
export function unchangedFollowUp(
  prompt: ChatMessage[],
  path: string,
  content: string,
  language: string,
  failure: string,
): ChatMessage[] {
  return [
    ...prompt,
    {
      role: 'assistant',
      content: `${path}\n\`\`\`${FENCE_LANG[language] ?? ''}\n${content}${content.endsWith('\n') ? '' : '\n'}\`\`\``,
    },
    {
      role: 'user',
      content:
        `That is ${path} unchanged, and it still fails:\n${failure}\n\n` +
        `Find the mistake in the code and change it, so the result is what the task and its examples say. Give ${path} whole again, in the same format.`,
    },
  ];
}

export interface WriteTestsPromptInput extends GeneratePromptInput {
  /** DEBUG: the error to reproduce. */
  error?: string;
  /** Where the service already tests the task's own examples: the model writes other cases. */
  examplesPath?: string;
}

/** Asks for tests of the code; for DEBUG, a test that reproduces the error first. */
export function writeTestsPrompt(input: WriteTestsPromptInput): ChatMessage[] {
  const budget = input.budgetTokens * CHARS_PER_TOKEN;
  const goal = input.error
    ? `Write a test that reproduces this error (it must fail on the current code, and pass once the bug is fixed). Do not fix the code.\n\nError:\n${input.error.slice(0, 6_000)}`
    : 'Write unit tests for the code: the main behaviour the task describes, and its edge cases. ' +
      'Check only what the task states, and work out each expected value by hand from the task, step by step, before you write it. ' +
      (input.examplesPath
        ? `The task's own examples are already tested in \`${input.examplesPath}\`: test other cases the task states (edge cases, other inputs). Keep it short: at most 3 test functions of one or two assertions each.`
        : 'Keep it short: at most 8 test functions, no repeated assertions.');
  const where =
    ` Write the tests in \`${input.layout.testPath}\`` +
    (input.layout.importLine ? `, which starts with \`${input.layout.importLine}\`.` : '.');
  const head = `${goal}\n\nTask (${input.task}): ${input.description}${extras(input)}`;
  return [
    {
      role: 'system',
      content: `You are Sophia Code, a senior ${input.language} test engineer. You write tests only, never the code under test. Use ${TEST_STYLE[input.language] ?? TEST_STYLE.python}.${where}\n\n${codeAnswer(input.layout.testPath, input.language)}`,
    },
    {
      role: 'user',
      content: `${head}${filesBlock(input.files, 'Code under test', budget - head.length - 1_000)}`,
    },
  ];
}

export interface ReviewPromptInput {
  description: string;
  language: string;
  files: Record<string, string>;
  analysis: string;
  tests: string;
  /** The failing tests with their messages, when there are any. */
  failures?: string;
  /** The API the task names. */
  names: string[];
  budgetTokens: number;
}

/**
 * Asks for a review of the code against the task, with static analysis and test results as evidence,
 * and, when tests fail, which side is wrong: the code, or a test that expects the wrong thing.
 */
export function reviewPrompt(input: ReviewPromptInput): ChatMessage[] {
  const budget = input.budgetTokens * CHARS_PER_TOKEN;
  const failing = input.failures
    ? `\n\nFailing tests:\n${input.failures.slice(0, 4_000)}\n\nFor the failing tests, decide from the TASK (not from the tests) who is wrong: ` +
      '"code" when the code does not do what the task asks, "tests" when a test expects something the task does not ask for ' +
      '(a wrong expected value, a wrong import or name), "both" when each has its own error. Put it in "failingTests".'
    : '';
  const head =
    `Task: ${input.description}\n\nTest results: ${input.tests}${failing}\n\nStatic analysis:\n${input.analysis || '(no findings)'}` +
    (input.names.length ? `\n\nThe task names: ${input.names.join(', ')}.` : '');
  return [
    {
      role: 'system',
      content:
        `You are Sophia Code, a strict senior ${input.language} code reviewer. Review the code against the task: does it do exactly what the task asks, ` +
        'with the names the task gives, and return what the task says it returns? ' +
        'Mark a finding "blocking" only for a bug, a security hole or a missed requirement, and show it: name a call the code gets wrong ' +
        '(for example: `f(3)` returns 4, but the task asks for 3). Style, naming and docs are "minor". Do not restate the task as a finding, ' +
        'and do not repeat the static analysis. When the code does what the task asks, answer with no findings. ' +
        'Answer with one JSON object: {"findings": [{"severity": "blocking"|"major"|"minor", "file": "path", "line": number|null, "message": "...", "suggestion": "..."|null}], ' +
        '"failingTests": "code"|"tests"|"both"|null, "summary": "one paragraph"}.',
    },
    {
      role: 'user',
      content: `${head}${filesBlock(input.files, 'Code', budget - head.length - 500)}`,
    },
  ];
}

export interface RefactorFilePromptInput {
  description: string;
  language: string;
  path: string;
  files: Record<string, string>;
  failures: string;
  findings: string;
  feedback?: string;
  memoryContext?: string;
  error?: string;
  /** True when the file is a test the review found wrong: fix the test, not the code. */
  isTest?: boolean;
  names: string[];
  budgetTokens: number;
  /** The refactor round: from the second on, the last rewrite did not fix what is listed. */
  attempt?: number;
}

/** Asks for one whole file, rewritten to fix the failures and findings. */
export function refactorFilePrompt(input: RefactorFilePromptInput): ChatMessage[] {
  const budget = input.budgetTokens * CHARS_PER_TOKEN;
  const feedback = input.feedback ? `\n\nReviewer feedback:\n${input.feedback}` : '';
  const reported = input.error ? `\n\nThe error the user reported:\n${input.error.slice(0, 6_000)}` : '';
  const role = input.isTest
    ? 'The review found this TEST file wrong: make each test check what the task asks, with correct expected values and imports; do not test behaviour the task does not ask for.'
    : `Fix the code so it does what the task asks.${input.names.length ? ` Keep the names ${input.names.join(', ')}.` : ''}`;
  const again =
    input.attempt && input.attempt > 1
      ? `\n\nThis is fix attempt ${input.attempt}: the rewrite before it did not fix what is listed below, so change something else than last time.`
      : '';
  const head =
    `Rewrite the file ${input.path}.${again}\n\nTask: ${input.description}\n\nFailing tests:\n${input.failures || '(none)'}\n\n` +
    `Review findings:\n${input.findings || '(none)'}${reported}${feedback}`;
  const memory = memoryBlock(input.memoryContext, 'Fixes that worked before', Math.min(3_000, budget / 6));
  return [
    {
      role: 'system',
      content:
        `You are Sophia Code, a senior ${input.language} engineer fixing code. Rewrite the one file you are asked for so the tests pass and the findings are resolved. ${role}\n\n` +
        codeAnswer(input.path, input.language),
    },
    {
      role: 'user',
      content:
        head +
        memory +
        filesBlock(input.files, 'Project files', budget - head.length - memory.length - 1_000, [input.path]),
    },
  ];
}
