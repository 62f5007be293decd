/**
 * A check of the scorer itself, with no stack and no model: every selected problem's canonical
 * solution must pass HumanEval's tests in the sandbox, and its bare stub (the prompt, no body) must
 * fail them. `npm run eval -- --check-scorer` runs it; a machine whose sandbox or Python cannot score
 * HumanEval shows here, before hours of jobs.
 */
import { performance } from 'node:perf_hooks';
import { scoreFiles } from './harness';
import { stubPath, type HumanEvalProblem } from './human-eval';

export interface ScorerCheck {
  problems: number;
  /** Problems whose canonical solution did not pass, with the last lines of the run. */
  canonicalFailed: { task_id: string; detail?: string }[];
  /** Problems whose empty stub passed: HumanEval's tests would not tell a wrong answer from a right one. */
  stubPassed: string[];
  /** Mean wall time of one scoring run, ms. */
  meanRunMs: number;
  wallMs: number;
}

export async function checkScorer(
  problems: HumanEvalProblem[],
  options: { concurrency?: number; timeoutMs?: number } = {},
): Promise<ScorerCheck> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 20_000;
  const canonicalFailed: ScorerCheck['canonicalFailed'] = [];
  const stubPassed: string[] = [];
  const durations: number[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    for (let problem = problems[next++]; problem; problem = problems[next++]) {
      const file = stubPath(problem);
      const solved = await scoreFiles(problem, { [file]: problem.prompt + problem.canonical_solution }, timeoutMs);
      const stub = await scoreFiles(problem, { [file]: problem.prompt }, timeoutMs);
      for (const r of [solved, stub]) if (r.score) durations.push(r.score.durationMs);
      if (!solved.passed) canonicalFailed.push({ task_id: problem.task_id, detail: solved.detail });
      if (stub.passed) stubPassed.push(problem.task_id);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, () => worker()));
  const order = (id: string) => problems.findIndex((p) => p.task_id === id);
  canonicalFailed.sort((a, b) => order(a.task_id) - order(b.task_id));
  stubPassed.sort((a, b) => order(a) - order(b));
  return {
    problems: problems.length,
    canonicalFailed,
    stubPassed,
    meanRunMs: durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : 0,
    wallMs: performance.now() - started,
  };
}
