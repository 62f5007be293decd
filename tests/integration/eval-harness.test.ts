import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EvalStoppedError, readRecords, runEval } from '../../bench/eval/harness';
import { loadProblems, selectProblems, type HumanEvalProblem } from '../../bench/eval/human-eval';
import type { EvalSummary } from '../../bench/eval/report';
import { checkScorer } from '../../bench/eval/scorer-check';
import { deadUrl, runTsx } from '../support/cli';
import { useJobStack } from '../support/job-stack';
import type { RecordedChatRequest, ScriptedReply } from '../support/scripted-model-server';

/**
 * The outcome benchmark end to end: real HumanEval problems as jobs through the real API, real
 * workers and Temporal, each job's files scored against HumanEval's tests in the real sandbox. Only
 * the model is scripted, per problem:
 * - HumanEval/0: the canonical solution; the job's own test passes. Both arms pass.
 * - HumanEval/2: a wrong body first; the job's test fails and the fix is the canonical body. Single-shot
 *   fails, the loop passes: fixed by the loop.
 * - HumanEval/83: the canonical solution, but the job's own test is wrong, and the "fix" bends the code
 *   to it (a prompt with no examples, so nothing the task states overrules the wrong test). Single-shot passes; the loop's job succeeds by its own tests yet fails HumanEval's: broken
 *   by the loop — the score never trusts the job's outcome.
 * - HumanEval/3: the job a run is interrupted in the middle of, and a rerun reattaches to.
 */
const stack = useJobStack({ listen: true, env: { OPENAI_MODEL: 'scripted-model' } });
const all = loadProblems();
const problem = (n: number): HumanEvalProblem => selectProblems(all, { problems: [String(n)] })[0]!;
const canonical = (p: HumanEvalProblem) => p.prompt + p.canonical_solution;
const [A, B, C, D, E] = [problem(0), problem(2), problem(83), problem(3), problem(5)];

/** What the scripted model answers for a problem, by step. */
const answers: Record<string, { generate: string; tests: string; fix?: string }> = {
  [A.entry_point]: {
    generate: canonical(A),
    tests: `from ${A.entry_point} import ${A.entry_point}\n\n\ndef test_close():\n    assert ${A.entry_point}([1.0, 2.8, 3.0], 0.3)\n`,
  },
  [B.entry_point]: {
    generate: B.prompt + '    return number\n',
    tests: `from ${B.entry_point} import ${B.entry_point}\n\n\ndef test_decimals():\n    assert ${B.entry_point}(3.5) == 0.5\n`,
    fix: canonical(B),
  },
  [C.entry_point]: {
    generate: canonical(C),
    tests: `from ${C.entry_point} import ${C.entry_point}\n\n\ndef test_two_digits():\n    assert ${C.entry_point}(2) == 19\n`,
    fix: C.prompt + '    return 19\n',
  },
  [D.entry_point]: {
    generate: canonical(D),
    tests: `from ${D.entry_point} import ${D.entry_point}\n\n\ndef test_below():\n    assert ${D.entry_point}([1, -2])\n`,
  },
  [E.entry_point]: {
    generate: canonical(E),
    tests: `from ${E.entry_point} import ${E.entry_point}\n\n\ndef test_sep():\n    assert ${E.entry_point}([1, 2], 0) == [1, 0, 2]\n`,
  },
};

/** The entry point of the job a request belongs to: the first one the request's text names as its task. */
const entryPointOf = (r: RecordedChatRequest) => /Implement the Python function `(\w+)`/.exec(r.user)?.[1];
const isGenerate = (r: RecordedChatRequest) => !/test engineer|code reviewer|fixing code/.test(r.system);

let onTestsRequested: ((entryPoint: string) => void) | undefined;
/** The endpoint rejects the key for this problem's requests, as a misconfigured model would. */
let unauthorizedFor: string | undefined;

function respond(r: RecordedChatRequest): ScriptedReply | undefined {
  const ep = entryPointOf(r);
  const answer = ep === undefined ? undefined : answers[ep];
  if (!answer) return undefined;
  if (ep === unauthorizedFor) return { fault: 'unauthorized' };
  if (/code reviewer/.test(r.system)) return { content: { findings: [], summary: 'Looks right.' } };
  if (/test engineer/.test(r.system)) {
    onTestsRequested?.(ep!);
    return { content: { files: [{ path: `test_${ep}.py`, content: answer.tests }], explanation: 'tests' } };
  }
  if (/fixing code/.test(r.system)) {
    // Only the solution file is ever asked for; anything else finds no reply and fails the job loudly.
    if (!answer.fix || !r.user.startsWith(`Rewrite the file ${ep}.py.`)) return undefined;
    return { content: { content: answer.fix, explanation: 'fixed' } };
  }
  return { content: { files: [{ path: `${ep}.py`, content: answer.generate }], explanation: 'first draft' } };
}

const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-eval-'));
const runName = `t${Date.now().toString(36)}`;

beforeAll(() => stack.model.respondWith(respond));
afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

async function jobsOfQuery(query: string, expected: number): Promise<string[]> {
  // Visibility is eventually consistent: poll until the list has caught up.
  let ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    ids = [];
    for await (const wf of stack.client.workflow.list({ query })) ids.push(wf.workflowId);
    if (ids.length >= expected) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return ids.sort();
}

describe('npm run eval: HumanEval through the API, single-shot against the loop', () => {
  let first: Awaited<ReturnType<typeof runEval>>;
  const options = () => ({
    apiUrl: stack.url,
    run: runName,
    model: 'scripted',
    arms: ['single-shot', 'loop'] as const,
    problems: [A, B, C],
    outDir,
    concurrency: 2,
  });

  it('scores each job against HumanEval tests it never saw, and reports pass@1, fixed and broken problems', async () => {
    first = await runEval(options());
    expect(first.model).toBe('scripted-model');
    expect(first.started).toHaveLength(6);
    expect(first.reattached).toEqual([]);
    expect(first.pending).toEqual([]);

    const records = readRecords(first.paths.results);
    // Each record names the code that served its job, as the API reports it.
    const served = (await (await fetch(`${stack.url}/ready`)).json()) as { commit?: string };
    expect(served.commit).toMatch(/^[0-9a-f]{7}$/);
    expect(records.map((r) => r.commit)).toEqual(records.map(() => served.commit));
    const passed = (arm: string) =>
      Object.fromEntries(records.filter((r) => r.arm === arm).map((r) => [r.task_id, r.passed]));
    expect(passed('single-shot')).toEqual({ 'HumanEval/0': true, 'HumanEval/2': false, 'HumanEval/83': true });
    expect(passed('loop')).toEqual({ 'HumanEval/0': true, 'HumanEval/2': true, 'HumanEval/83': false });
    const loopC = records.find((r) => r.arm === 'loop' && r.task_id === 'HumanEval/83')!;
    // The job believed it succeeded (its own wrong test passed); HumanEval's check says otherwise.
    expect(loopC).toMatchObject({ outcome: 'succeeded', refactorRounds: 1, solutionFile: `${C.entry_point}.py` });
    expect(loopC.score).toMatchObject({ timedOut: false, violations: [] });
    expect(loopC.score!.exitCode).not.toBe(0);
    expect(loopC.detail).toContain('AssertionError');
    for (const r of records.filter((r) => r.arm === 'single-shot')) {
      expect(r).toMatchObject({ outcome: 'unverified', refactorRounds: 0 });
    }
    expect(records.every((r) => r.usage.totalTokens > 0 && r.wallSeconds !== null && r.wallSeconds >= 0)).toBe(true);

    const summary = JSON.parse(fs.readFileSync(first.paths.summary, 'utf8')) as EvalSummary;
    expect(summary).toMatchObject({
      model: 'scripted-model',
      paired: 3,
      fixedByLoop: ['HumanEval/2'],
      brokenByLoop: ['HumanEval/83'],
      deltaPoints: 0,
      unscored: 0,
    });
    const arm = (name: string) => summary.arms.find((a) => a.arm === name)!;
    expect(arm('single-shot')).toMatchObject({ scored: 3, passed: 2, meanRefactorRounds: 0 });
    expect(arm('loop')).toMatchObject({ scored: 3, passed: 2, outcomes: { succeeded: 3 } });
    expect(arm('loop').meanRefactorRounds).toBeCloseTo(2 / 3);
    expect(arm('loop').promptTokens).toBeGreaterThan(arm('single-shot').promptTokens);

    const chart = fs.readFileSync(first.paths.chart, 'utf8');
    expect(chart).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(chart.match(/fill="#3a9a4a"><title>/g)).toHaveLength(4);
    expect(chart.match(/fill="#c8453b"><title>/g)).toHaveLength(2);
    expect(chart).toContain('HumanEval/2 fixed by the loop');

    // The job got the problem's prompt verbatim, as its description and as the stub to complete,
    // and never HumanEval's tests.
    const requests = stack.model.chatRequests().filter((r) => entryPointOf(r) === A.entry_point);
    expect(requests.filter(isGenerate)[0]!.user).toContain(A.prompt.trim());
    expect(requests.filter(isGenerate)[0]!.user).toContain(`--- ${A.entry_point}.py\n`);
    for (const r of stack.model.chatRequests()) expect(r.text).not.toContain('def check(candidate)');

    // Both arms' jobs are in the Web UI under the run's projects.
    const ids = await jobsOfQuery(first.query, 6);
    expect(ids).toHaveLength(6);
    expect(ids.every((id) => id.startsWith(`job-local.eval-${runName}-scripted-model-`))).toBe(true);
  }, 240_000);

  it('skips what is already scored when the same run is started again', async () => {
    const before = stack.model.chatRequests().length;
    const again = await runEval(options());
    expect(again.started).toEqual([]);
    expect(again.reattached).toEqual([]);
    expect(stack.model.chatRequests()).toHaveLength(before);
    expect(readRecords(again.paths.results)).toHaveLength(6);
    expect(again.summary.fixedByLoop).toEqual(['HumanEval/2']);
  });

  it('refuses to resume a run with other loop options than it was made with', async () => {
    await expect(runEval({ ...options(), maxIterations: 2 })).rejects.toThrow(
      /was made with the default iterations; resume it with the same, or give this set-up a new --run name/,
    );
  });

  it('reattaches to a job an interrupted run left running, instead of starting it twice', async () => {
    const abort = new AbortController();
    const crash = {
      ...options(),
      run: `${runName}-crash`,
      arms: ['loop'] as const,
      problems: [D],
      signal: abort.signal,
    };
    onTestsRequested = (ep) => {
      if (ep === D.entry_point) abort.abort();
    };
    const interrupted = await runEval(crash);
    onTestsRequested = undefined;
    expect(interrupted.aborted).toBe(true);
    expect(interrupted.started).toHaveLength(1);
    expect(interrupted.pending.map((p) => p.task_id)).toEqual(['HumanEval/3']);
    expect(readRecords(interrupted.paths.results)).toEqual([]);
    expect(interrupted.summary.unscored).toBe(1);

    const resumed = await runEval({ ...crash, signal: undefined });
    expect(resumed.started).toEqual([]);
    expect(resumed.reattached).toEqual(interrupted.started);
    const [record, ...more] = readRecords(resumed.paths.results);
    expect(more).toEqual([]);
    expect(record).toMatchObject({ task_id: 'HumanEval/3', reattached: true, passed: true, outcome: 'succeeded' });
    // One job, and one first generation (later drafts carry a seed of their own): the rerun started nothing new.
    const firstAnswers = stack.model
      .chatRequests()
      .filter((r) => entryPointOf(r) === D.entry_point && isGenerate(r) && r.body.seed === undefined);
    expect(firstAnswers).toHaveLength(1);
    expect(await jobsOfQuery(resumed.query, 1)).toEqual(interrupted.started);
  });

  it('stops unscored when a job fails for a set-up reason, and retries that job from its failed step once fixed', async () => {
    const broken = { ...options(), run: `${runName}-setup`, arms: ['single-shot'] as const, problems: [E] };
    unauthorizedFor = E.entry_point;
    const failing = runEval(broken);
    await expect(failing).rejects.toThrow(EvalStoppedError);
    await expect(failing).rejects.toThrow(/failed with ModelAuth: .*Fix the stack, then run the eval again/);
    unauthorizedFor = undefined;
    const dir = path.join(outDir, `${runName}-setup`, 'scripted-model');
    expect(readRecords(path.join(dir, 'results.jsonl'))).toEqual([]);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'))).toMatchObject({ unscored: 1 });

    const fixed = await runEval(broken);
    expect(fixed.started).toEqual([]);
    expect(fixed.reattached).toHaveLength(1);
    expect(readRecords(fixed.paths.results)).toMatchObject([
      { task_id: 'HumanEval/5', reattached: true, passed: true, outcome: 'unverified' },
    ]);
  });

  it('refuses to run on another model than the one asked for, and says how to serve it', async () => {
    const run = runEval({ ...options(), model: 'qwen2.5-coder-1.5b' });
    await expect(run).rejects.toThrow(EvalStoppedError);
    await expect(run).rejects.toThrow(
      /serves scripted-model, not qwen2\.5-coder-1\.5b.*SOPHIA_LOCAL_MODEL=0\.5b npm start/,
    );
  });

  it('runs as `npm run eval`: a table per arm, where the results are, and the Web UI query', async () => {
    const cli = await runEvalCli([
      ...['--api', stack.url, '--run', `${runName}-cli`, '--problems', '0', '--arms', 'single-shot'],
      ...['--model', 'scripted', '--out', outDir],
    ]);
    expect(cli.stderr).toContain('[eval] [single-shot] HumanEval/0 has_close_elements: PASS (unverified');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('| single-shot | 1 | 100.0 % (1) | 0.00 |');
    expect(cli.stdout).toContain(`SophiaProject IN ('eval-${runName}-cli-scripted-model-single-shot')`);
    expect(cli.stdout).toContain(path.join(outDir, `${runName}-cli`, 'scripted-model', 'summary.json'));
  });

  it('says what to run when no stack answers', async () => {
    const cli = await runEvalCli(['--api', await deadUrl(stack.app), '--limit', '1']);
    expect(cli.code).toBe(12);
    expect(cli.stderr).toContain('is unreachable');
    expect(cli.stderr).toContain('npm start');
  });
});

describe('npm run eval -- --check-scorer: the scorer itself, with no stack', () => {
  it('passes canonical solutions and fails bare stubs in the sandbox, and reports a solution that does not pass', async () => {
    const wrong = { ...B, task_id: 'HumanEval/2-wrong', canonical_solution: '    return number\n' };
    const check = await checkScorer([A, B, wrong]);
    expect(check.problems).toBe(3);
    expect(check.stubPassed).toEqual([]);
    expect(check.canonicalFailed.map((f) => f.task_id)).toEqual(['HumanEval/2-wrong']);
    expect(check.canonicalFailed[0]!.detail).toContain('AssertionError');
  });
});

/** `npm run eval -- args` without the bootstrap: the CLI from its sources, as a child process. */
const runEvalCli = (args: string[]) => runTsx('bench/eval.ts', args);
