import { projectFor, requestIdFor } from '../../bench/eval/harness';
import {
  EvalDataError,
  jobRequestFor,
  loadProblems,
  scoringFiles,
  selectProblems,
  solutionFile,
} from '../../bench/eval/human-eval';
import { formatSummary, summarise, type EvalRecord } from '../../bench/eval/report';
import { startJobSchema } from '../../api/validation';

const all = loadProblems();
const ids = (ps: { task_id: string }[]) => ps.map((p) => p.task_id);

describe("HumanEval's problems and a run's slice of them", () => {
  it('loads all 164 problems in task order', () => {
    expect(all).toHaveLength(164);
    expect(ids(all.slice(0, 3))).toEqual(['HumanEval/0', 'HumanEval/1', 'HumanEval/2']);
    expect(all[163]!.task_id).toBe('HumanEval/163');
  });

  it('picks problems by number or id, then every k-th, then the first N, in the data order', () => {
    expect(ids(selectProblems(all, { limit: 2 }))).toEqual(['HumanEval/0', 'HumanEval/1']);
    expect(ids(selectProblems(all, { problems: ['7', 'HumanEval/3'] }))).toEqual(['HumanEval/3', 'HumanEval/7']);
    expect(ids(selectProblems(all, { stride: 50 }))).toEqual([
      'HumanEval/0',
      'HumanEval/50',
      'HumanEval/100',
      'HumanEval/150',
    ]);
    expect(ids(selectProblems(all, { stride: 2, limit: 3 }))).toEqual(['HumanEval/0', 'HumanEval/2', 'HumanEval/4']);
  });

  it('rejects a problem that does not exist, naming it', () => {
    expect(() => selectProblems(all, { problems: ['3', '400'] })).toThrow(EvalDataError);
    expect(() => selectProblems(all, { problems: ['400'] })).toThrow(/HumanEval\/400/);
  });
});

describe('a problem as a job, and the file that is scored', () => {
  const p = all[0]!;

  it('sends the prompt verbatim as the description and as the stub to complete, never the tests', () => {
    const job = jobRequestFor(p);
    expect(job.files).toEqual({ 'has_close_elements.py': p.prompt });
    expect(job.description).toContain(p.prompt.trim());
    expect(JSON.stringify(job)).not.toContain('def check(');
  });

  it('scores the file the job changed over the untouched stub, and never a test file', () => {
    const solved = p.prompt + p.canonical_solution;
    expect(solutionFile(p, { 'has_close_elements.py': p.prompt, 'solution.py': solved })).toBe('solution.py');
    expect(solutionFile(p, { 'has_close_elements.py': solved, 'other.py': solved })).toBe('has_close_elements.py');
    expect(solutionFile(p, { 'test_close.py': solved, 'tests/helpers.py': solved })).toBeUndefined();
    expect(solutionFile(p, { 'has_close_elements.py': 'def something_else():\n    pass\n' })).toBeUndefined();
  });

  it("builds the check program beside the solution: the file, HumanEval's test, then check(entry point)", () => {
    const { files, program } = scoringFiles(
      p,
      { 'pkg/impl.py': 'CODE', 'pkg/test_impl.py': 'T', 'README.md': 'R' },
      'pkg/impl.py',
    );
    expect(program).toBe('pkg/__sophia_humaneval_check__.py');
    expect(files[program]).toBe(`CODE\n\n${p.test}\n\ncheck(has_close_elements)\n`);
    expect(Object.keys(files).sort()).toEqual(['README.md', 'pkg/__sophia_humaneval_check__.py', 'pkg/impl.py']);
  });
});

describe("a run's job ids", () => {
  it('are the same for the same run, model, arm and problem, and valid for the API', () => {
    const id = requestIdFor('humaneval', 'qwen2.5-coder-1.5b-instruct', 'loop', 'HumanEval/12');
    expect(id).toBe('eval-humaneval-qwen2.5-coder-1.5b-instruct-loop-he12');
    expect(requestIdFor('humaneval', 'qwen2.5-coder-1.5b-instruct', 'single-shot', 'HumanEval/12')).not.toBe(id);
    const long = 'Some/Very Long Model Name With Spaces And Slashes-q4_k_m.gguf-'.repeat(3);
    const longId = requestIdFor('r'.repeat(40), long, 'single-shot', 'HumanEval/163');
    expect(longId).not.toBe(requestIdFor('r'.repeat(40), long + 'x', 'single-shot', 'HumanEval/163'));
    const body = {
      task: 'generate',
      description: 'x',
      requestId: longId,
      project: projectFor('r'.repeat(40), long, 'single-shot'),
    };
    expect(startJobSchema.safeParse(body).success).toBe(true);
  });
});

describe('the summary of a run', () => {
  const record = (arm: 'single-shot' | 'loop', task_id: string, passed: boolean, extra: Partial<EvalRecord> = {}) =>
    ({
      run: 'r',
      model: 'm',
      arm,
      task_id,
      entry_point: 'f',
      requestId: 'x',
      workflowId: 'job-x',
      reattached: false,
      outcome: arm === 'loop' ? 'succeeded' : 'unverified',
      passed,
      score: null,
      refactorRounds: 0,
      usage: { promptTokens: 100, completionTokens: 10, totalTokens: 110, costUsd: 0, cachedCalls: 0 },
      wallSeconds: 2,
      scoredAt: '2026-11-30T00:00:00Z',
      ...extra,
    }) satisfies EvalRecord;

  it('gives pass@1 per arm, the problems the loop fixed and broke, and what is not scored yet', () => {
    const records = [
      record('single-shot', 'HumanEval/0', true),
      record('single-shot', 'HumanEval/1', false),
      record('single-shot', 'HumanEval/2', false),
      record('loop', 'HumanEval/0', false, { refactorRounds: 3, wallSeconds: 10 }),
      record('loop', 'HumanEval/1', true, { refactorRounds: 1 }),
      record('loop', 'HumanEval/2', true, { refactorRounds: 2 }),
      record('loop', 'HumanEval/9', true), // not selected
      record('single-shot', 'HumanEval/0', false, { model: 'other' }), // another model
    ];
    const s = summarise({
      run: 'r',
      model: 'm',
      arms: ['single-shot', 'loop'],
      problems: ['HumanEval/0', 'HumanEval/1', 'HumanEval/2', 'HumanEval/3'],
      records,
    });
    expect(s.arms.map((a) => [a.arm, a.scored, a.passed])).toEqual([
      ['single-shot', 3, 1],
      ['loop', 3, 2],
    ]);
    expect(s.arms[1]!.meanRefactorRounds).toBe(2);
    expect(s.arms[1]!.meanWallSeconds).toBeCloseTo(14 / 3);
    expect(s).toMatchObject({ paired: 3, fixedByLoop: ['HumanEval/1', 'HumanEval/2'], brokenByLoop: ['HumanEval/0'] });
    expect(s.deltaPoints).toBeCloseTo(100 / 3);
    expect(s.unscored).toBe(2);
    const text = formatSummary(s);
    expect(text).toContain('| loop | 3 | 66.7 % (2) | 2.00 | 100 / 10 | 4.7 |');
    expect(text).toContain('+33.3 points of pass@1 on 3 paired problems (target ≥ +10 on ≥ 80: not met)');
  });
});
