import type { ChatMessage } from './model-client';

const ANSWER_FORMAT =
  'Answer with one JSON object: {"files": [{"path": "relative/path", "content": "full file content"}], "explanation": "what you did and why"}. ' +
  'Always give whole files, never diffs or ellipses.';

const TEST_STYLE: Record<string, string> = {
  python:
    'pytest: files named test_*.py beside the code, plain assert statements, importing the module under test by its file name',
  typescript:
    "node's test runner: files named *.test.ts using node:test and node:assert/strict, importing the code under test with a relative path",
  javascript:
    "node's test runner: files named *.test.js using node:test and node:assert/strict, with require/import of the code under test by a relative path",
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

export interface GeneratePromptInput {
  task: string;
  description: string;
  language: string;
  files: Record<string, string>;
  context?: string;
  requirements?: string[];
  memoryContext?: string;
}

export function filesBlock(files: Record<string, string>, title = 'Existing files'): string {
  const entries = Object.entries(files);
  if (entries.length === 0) return '';
  return (
    `\n\n${title}:\n` +
    entries.map(([p, content]) => `--- ${p}\n${content}${content.endsWith('\n') ? '' : '\n'}`).join('')
  );
}

function extras(input: { requirements?: string[]; context?: string; memoryContext?: string }): string {
  const requirements = input.requirements?.length
    ? '\n\nRequirements:\n' + input.requirements.map((r) => `- ${r}`).join('\n')
    : '';
  const context = input.context ? `\n\nContext from the user:\n${input.context}` : '';
  const memory = input.memoryContext ? `\n\nRelevant memory from earlier work:\n${input.memoryContext}` : '';
  return `${requirements}${context}${memory}`;
}

/** The prompt for the first generation step of a task. */
export function generatePrompt(input: GeneratePromptInput): ChatMessage[] {
  return [
    {
      role: 'system',
      content:
        `You are Sophia Code, a senior ${input.language} engineer. ${TASK_INSTRUCTIONS[input.task] ?? TASK_INSTRUCTIONS.generate} ` +
        ANSWER_FORMAT,
    },
    {
      role: 'user',
      content: `Task (${input.task}): ${input.description}${extras(input)}${filesBlock(input.files)}`,
    },
  ];
}

export interface WriteTestsPromptInput extends GeneratePromptInput {
  /** DEBUG: the error to reproduce. */
  error?: string;
}

/** Asks for tests of the code; for DEBUG, a test that reproduces the error first. */
export function writeTestsPrompt(input: WriteTestsPromptInput): ChatMessage[] {
  const goal = input.error
    ? `Write a test that reproduces this error (it must fail on the current code, and pass once the bug is fixed). Do not fix the code.\n\nError:\n${input.error}`
    : 'Write thorough unit tests for the code: the main behaviour, edge cases and error cases.';
  return [
    {
      role: 'system',
      content: `You are Sophia Code, a senior ${input.language} test engineer. You write tests only, never the code under test. Use ${TEST_STYLE[input.language] ?? TEST_STYLE.python}. ${ANSWER_FORMAT}`,
    },
    {
      role: 'user',
      content: `${goal}\n\nTask (${input.task}): ${input.description}${extras(input)}${filesBlock(input.files, 'Code under test')}`,
    },
  ];
}

export interface ReviewPromptInput {
  description: string;
  language: string;
  files: Record<string, string>;
  analysis: string;
  tests: string;
}

/** Asks for a code review with severities; static analysis and test results are given as evidence. */
export function reviewPrompt(input: ReviewPromptInput): ChatMessage[] {
  return [
    {
      role: 'system',
      content:
        `You are Sophia Code, a strict senior ${input.language} code reviewer. Review the code against the task. ` +
        'Mark a finding "blocking" only for a bug, a security hole or a missed requirement; style is "minor". ' +
        'Answer with one JSON object: {"findings": [{"severity": "blocking"|"major"|"minor", "file": "path", "line": number|null, "message": "...", "suggestion": "..."|null}], "summary": "one paragraph"}.',
    },
    {
      role: 'user',
      content: `Task: ${input.description}\n\nTest results: ${input.tests}\n\nStatic analysis:\n${input.analysis || '(no findings)'}${filesBlock(input.files, 'Code')}`,
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
}

/** Asks for one whole file, rewritten to fix the failures and findings. */
export function refactorFilePrompt(input: RefactorFilePromptInput): ChatMessage[] {
  const feedback = input.feedback ? `\n\nReviewer feedback:\n${input.feedback}` : '';
  const memory = input.memoryContext ? `\n\nFixes that worked before:\n${input.memoryContext}` : '';
  const reported = input.error ? `\n\nThe error the user reported:\n${input.error.slice(0, 6_000)}` : '';
  return [
    {
      role: 'system',
      content:
        `You are Sophia Code, a senior ${input.language} engineer fixing code. Rewrite the one file you are asked for so the tests pass and the findings are resolved. ` +
        'Answer with one JSON object: {"content": "the whole new file", "explanation": "what you changed and why"}.',
    },
    {
      role: 'user',
      content:
        `Rewrite the file ${input.path}.\n\nTask: ${input.description}\n\nFailing tests:\n${input.failures || '(none)'}\n\nReview findings:\n${input.findings || '(none)'}${reported}${feedback}${memory}` +
        filesBlock(input.files, 'Project files'),
    },
  ];
}
