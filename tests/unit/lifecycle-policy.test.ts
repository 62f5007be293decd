import type { FindingSummary } from '../../workflows/coding-job/definitions';
import {
  analysisFindings,
  compareScores,
  generatesFirst,
  generatorTask,
  limitsOf,
  mayFixOwnTests,
  needsTests,
  overBudget,
  recallsMemory,
  refactorTargets,
  reviewFindings,
  rulesetOf,
  scoreOf,
  stalled,
  testsGreen,
  testsRequired,
} from '../../workflows/coding-job/policy';

const blockingAt = (file: string, source = 'ruff'): FindingSummary => ({
  source,
  severity: 'error',
  blocking: true,
  file,
  line: 1,
  message: 'E1: wrong',
});

describe('the lifecycle policy', () => {
  it('takes a job option over the deployment default over the built-in limit', () => {
    expect(limitsOf({}).maxIterations).toBe(4);
    expect(limitsOf({ defaults: { maxIterations: 7 } }).maxIterations).toBe(7);
    expect(limitsOf({ options: { maxIterations: 2 }, defaults: { maxIterations: 7 } }).maxIterations).toBe(2);
    expect(limitsOf({}).approvalDefault).toBe('reject');
  });

  it('writes tests for TEST and DEBUG always, for GENERATE and REFACTOR only when the user brought none', () => {
    const plain = { singleShot: false, userHasTests: false };
    const withTests = { singleShot: false, userHasTests: true };
    expect(needsTests('test', withTests)).toBe(true);
    expect(needsTests('debug', withTests)).toBe(true);
    expect(needsTests('generate', plain)).toBe(true);
    expect(needsTests('generate', withTests)).toBe(false);
    expect(needsTests('refactor', withTests)).toBe(false);
    expect(needsTests('review', plain)).toBe(false);
    expect(needsTests('document', plain)).toBe(false);
    expect(needsTests('generate', { singleShot: true, userHasTests: false })).toBe(false);
  });

  it('holds only code-writing tasks to tests, and only with the real-model loop', () => {
    expect(testsRequired('generate', true)).toBe(true);
    expect(testsRequired('debug', true)).toBe(true);
    expect(testsRequired('review', true)).toBe(false);
    expect(testsRequired('deploy', true)).toBe(false);
    expect(testsRequired('generate', false)).toBe(false);
  });

  it('generates first for GENERATE, DOCUMENT and DEPLOY, and for any task without files', () => {
    expect(generatesFirst('deploy', true)).toBe(true);
    expect(generatesFirst('refactor', true)).toBe(false);
    expect(generatesFirst('refactor', false)).toBe(true);
    expect(generatorTask('document')).toBe('document');
    expect(generatorTask('debug')).toBe('generate');
    expect(recallsMemory('debug', false)).toBe(true);
    expect(recallsMemory('review', false)).toBe(false);
    expect(recallsMemory('generate', true)).toBe(false);
  });

  it('blocks on lint errors, and on docs rules of any severity only for a DOCUMENT job', () => {
    const raw = [
      { tool: 'ruff', severity: 'error', rule: 'F821', file: 'a.py', line: 3, message: 'undefined name' },
      { tool: 'ruff', severity: 'warning', rule: 'D103', file: 'a.py', line: 1, message: 'missing docstring' },
      { tool: 'eslint', severity: 'warning', rule: 'jsdoc/require-jsdoc', file: 'a.ts', line: 1, message: 'no doc' },
    ];
    expect(analysisFindings('generate', raw).map((f) => f.blocking)).toEqual([true, false, false]);
    expect(analysisFindings('document', raw).map((f) => f.blocking)).toEqual([true, true, true]);
    expect(analysisFindings('generate', raw)[0]!.message).toBe('F821: undefined name');
    expect(rulesetOf('document')).toBe('docs');
  });

  it("does not block on a linter's error in a test file of a round whose tests ran green, but for a TEST job", () => {
    const raw = [
      { tool: 'ruff', severity: 'error', rule: 'F841', file: 'test_a.py', line: 4, message: 'unused `result`' },
      { tool: 'ruff', severity: 'error', rule: 'F821', file: 'a.py', line: 3, message: 'undefined name' },
      { tool: 'eslint', severity: 'error', rule: 'no-unused-vars', file: 'src/a.test.ts', line: 2, message: 'x' },
    ];
    expect(analysisFindings('generate', raw, { testsGreen: true }).map((f) => f.blocking)).toEqual([
      false,
      true,
      false,
    ]);
    expect(analysisFindings('generate', raw, { testsGreen: false }).map((f) => f.blocking)).toEqual([true, true, true]);
    expect(analysisFindings('generate', raw).map((f) => f.blocking)).toEqual([true, true, true]);
    // Tests are what a TEST job delivers: their lint still blocks.
    expect(analysisFindings('test', raw, { testsGreen: true }).map((f) => f.blocking)).toEqual([true, true, true]);
    expect(rulesetOf('deploy')).toBe('deploy');
    expect(rulesetOf('generate')).toBe('default');
  });

  it("blocks only on the review's blocking findings, and keeps its suggestion", () => {
    const found = reviewFindings([
      { severity: 'blocking', file: 'a.py', line: null, message: 'off by one', suggestion: 'use <=' },
      { severity: 'minor', file: 'a.py', line: 4, message: 'naming' },
    ]);
    expect(found.map((f) => [f.blocking, f.line])).toEqual([
      [true, 0],
      [false, 4],
    ]);
    expect(found[0]!.message).toBe('off by one (suggestion: use <=)');
  });

  it('counts no tests as green only where the task asks for none', () => {
    expect(testsGreen(undefined, false)).toBe(true);
    expect(testsGreen(undefined, true)).toBe(false);
    expect(testsGreen({ passed: 0, failed: 0, errors: 0, skipped: 2, summary: '' }, false)).toBe(false);
    expect(testsGreen({ passed: 3, failed: 0, errors: 0, skipped: 0, summary: '' }, false)).toBe(true);
    expect(testsGreen({ passed: 3, failed: 0, errors: 1, skipped: 0, summary: '' }, false)).toBe(false);
  });

  it('lets only a GENERATE or REFACTOR job without user tests fix its own tests', () => {
    expect(mayFixOwnTests('generate', false)).toBe(true);
    expect(mayFixOwnTests('generate', true)).toBe(false);
    expect(mayFixOwnTests('debug', false)).toBe(false);
  });

  describe('what a refactor may rewrite', () => {
    const present = ['calc.py', 'test_calc.py', 'Dockerfile', 'deploy.yaml', 'README.md'];
    const base = { present, blocking: [], wrong: null, mayFixOwnTests: true, realLoop: true } as const;

    it('rewrites the code, not the tests, of a GENERATE job by default', () => {
      expect(refactorTargets({ ...base, task: 'generate' })).toEqual(['calc.py']);
    });

    it('rewrites only the tests of a TEST job, and never adds a missing file', () => {
      expect(refactorTargets({ ...base, task: 'test', blocking: [blockingAt('NOTES.md')] })).toEqual(['test_calc.py']);
    });

    it('rewrites the container file and manifests of a DEPLOY job', () => {
      expect(refactorTargets({ ...base, task: 'deploy' })).toEqual(['Dockerfile', 'deploy.yaml']);
    });

    it('adds a file a blocking finding names, present or still missing, but never a missing test file', () => {
      const blocking = [blockingAt('README.md'), blockingAt('docs/usage.md'), blockingAt('test_new.py')];
      expect(refactorTargets({ ...base, task: 'document', blocking })).toEqual([
        'calc.py',
        'README.md',
        'docs/usage.md',
      ]);
    });

    it("rewrites the job's own tests, and only them, when the review says the tests are wrong", () => {
      expect(refactorTargets({ ...base, task: 'generate', wrong: 'tests' })).toEqual(['test_calc.py']);
      expect(refactorTargets({ ...base, task: 'generate', wrong: 'both' })).toEqual(['calc.py', 'test_calc.py']);
    });

    it("never rewrites the user's tests or a DEBUG job's reproducing test", () => {
      const named = [blockingAt('test_calc.py')];
      expect(
        refactorTargets({ ...base, task: 'generate', wrong: 'tests', blocking: named, mayFixOwnTests: false }),
      ).toEqual(['calc.py']);
      expect(refactorTargets({ ...base, task: 'debug', wrong: 'tests', mayFixOwnTests: false })).toEqual(['calc.py']);
    });

    it('ignores the verdict on failing tests before the real-model loop', () => {
      expect(refactorTargets({ ...base, task: 'generate', wrong: 'tests', realLoop: false })).toEqual(['calc.py']);
    });
  });

  it('ranks rounds by green tests, then the named API, then tests passed, then fewer blocking findings', () => {
    const tests = { passed: 2, failed: 1, errors: 0, skipped: 0, summary: '' };
    const red = scoreOf({ testsGreen: false, findings: [], tests, blocking: [blockingAt('a.py')] });
    const green = scoreOf({ testsGreen: true, findings: [], tests: { ...tests, failed: 0 }, blocking: [] });
    const noApi = scoreOf({
      testsGreen: true,
      findings: [blockingAt('a.py', 'task')],
      tests: { ...tests, failed: 0, passed: 9 },
      blocking: [blockingAt('a.py', 'task')],
    });
    expect(compareScores(green, red)).toBeGreaterThan(0);
    expect(compareScores(noApi, green)).toBeLessThan(0);
    expect(compareScores(green, green)).toBe(0);
    expect(compareScores([1, 1, 3, -2], [1, 1, 3, -1])).toBeLessThan(0);
  });

  it("ranks a round that fails one of the task's examples below any that passes them all", () => {
    const passing = { passed: 1, failed: 0, errors: 0, skipped: 0, summary: '' };
    const exampleFails = scoreOf({ exampleFailed: true, testsGreen: true, findings: [], tests: passing, blocking: [] });
    const examplesPass = scoreOf({ exampleFailed: false, testsGreen: false, findings: [], blocking: [] });
    expect(compareScores(examplesPass, exampleFails)).toBeGreaterThan(0);
    // Before the examples patch a score has no examples rank at all.
    expect(scoreOf({ testsGreen: true, findings: [], tests: passing, blocking: [] })).toHaveLength(4);
  });

  it('stops a loop whose last two rewrites did no better than its best round, while iterations are left', () => {
    const at = { green: false, iteration: 3, bestIteration: 1, maxIterations: 5 };
    expect(stalled(at)).toBe(true);
    expect(stalled({ ...at, bestIteration: 2 })).toBe(false);
    expect(stalled({ ...at, green: true })).toBe(false);
    expect(stalled({ ...at, bestIteration: undefined })).toBe(false);
    expect(stalled({ ...at, maxIterations: 3 })).toBe(false);
  });

  it('is over budget at the token or the cost limit, whichever comes first', () => {
    const usage = { promptTokens: 0, completionTokens: 0, totalTokens: 100, costUsd: 0.5, cachedCalls: 0 };
    expect(overBudget(usage, { maxTokens: 101, maxCostUsd: 1 })).toBe(false);
    expect(overBudget(usage, { maxTokens: 100, maxCostUsd: 1 })).toBe(true);
    expect(overBudget(usage, { maxTokens: 1_000, maxCostUsd: 0.5 })).toBe(true);
  });
});
