import { artifactStore } from '../../activities/artifacts';
import { runTests } from '../../activities/sandbox';
import { resetToolchains } from '../../activities/sandbox/toolchains';
import { layoutFor } from '../../activities/llm';
import { exportNamedApis, fixNodeTestImports } from '../../activities/llm/node-repair';
import observed from '../support/fixtures/real-answers/qwen2.5-coder-typescript.json';

/** Real pytest, real node test runner (TypeScript through tsx) and real jest, all under bwrap. */

const PY_CALC = 'def add(a, b):\n    return a + b\n';
const PY_TESTS = [
  'import pytest',
  'from calc import add',
  '',
  'def test_adds():',
  '    assert add(1, 2) == 3',
  '',
  'def test_adds_wrongly():',
  '    assert add(1, 2) == 4, "one plus two should be four"',
  '',
  '@pytest.mark.skip(reason="not yet")',
  'def test_later():',
  '    pass',
].join('\n');

const TS_ADD = 'export function add(a: number, b: number): number {\n  return a + b;\n}\n';
const TS_TESTS = [
  "import { test } from 'node:test';",
  "import assert from 'node:assert/strict';",
  "import { add } from '../src/add';",
  '',
  "test('adds two numbers', () => {",
  '  assert.equal(add(1, 2), 3);',
  '});',
  '',
  "test('adds two numbers wrongly', () => {",
  "  assert.equal(add(1, 2), 4, 'one plus two should be four');",
  '});',
].join('\n');

describe('runTests', () => {
  it('runs a Python job with pytest and reports the failing assertion with its message', async () => {
    const files = await artifactStore().putFiles({ 'calc.py': PY_CALC, 'test_calc.py': PY_TESTS });
    const result = await runTests({ files, language: 'python' });
    expect(result.driver).toBe('bwrap');
    expect(result.runner).toBe('pytest');
    expect(result.report).toMatchObject({ passed: 1, failed: 1, errors: 0, skipped: 1 });
    expect(result.report.failures).toHaveLength(1);
    expect(result.report.failures[0]?.name).toBe('test_calc::test_adds_wrongly');
    expect(result.report.failures[0]?.message).toContain('one plus two should be four');
    expect(result.report.failures[0]?.trace).toContain('assert add(1, 2) == 4');
    expect(result.summary).toMatch(
      /^1 passed, 1 failed, 1 skipped: test_calc::test_adds_wrongly - AssertionError: one plus two/,
    );
    expect(result.violations).toEqual([]);
    expect(await artifactStore().getText(result.stdout)).toContain('1 failed, 1 passed, 1 skipped');
  });

  it('reports an all-green Python job as passing with exit code 0', async () => {
    const files = await artifactStore().putFiles({
      'calc.py': PY_CALC,
      'test_ok.py': 'from calc import add\n\ndef test_adds():\n    assert add(2, 2) == 4\n',
    });
    const result = await runTests({ files, language: 'python' });
    expect(result.exitCode).toBe(0);
    expect(result.report).toMatchObject({ passed: 1, failed: 0, errors: 0, failures: [] });
    expect(result.summary).toBe('1 passed');
  });

  it('counts a Python file that does not import as an error, not as green', async () => {
    const files = await artifactStore().putFiles({
      'test_broken.py': 'import not_a_module\n\ndef test_x():\n    pass\n',
    });
    const result = await runTests({ files, language: 'python' });
    expect(result.report.passed).toBe(0);
    expect(result.report.errors).toBeGreaterThanOrEqual(1);
    expect(result.report.failures[0]?.message).toMatch(/not_a_module/);
  });

  it('runs a TypeScript job with the node test runner through tsx and reports the failing assertion', async () => {
    const files = await artifactStore().putFiles({ 'src/add.ts': TS_ADD, 'test/add.test.ts': TS_TESTS });
    const result = await runTests({ files, language: 'typescript' });
    expect(result.runner).toBe('node-test');
    expect(result.report).toMatchObject({ passed: 1, failed: 1, errors: 0 });
    expect(result.report.failures[0]?.name).toBe('adds two numbers wrongly');
    expect(result.report.failures[0]?.message).toContain('one plus two should be four');
    expect(result.summary).toMatch(/^1 passed, 1 failed: adds two numbers wrongly - one plus two should be four/);
  });

  it('runs jest when the job declares it, with its failure message', async () => {
    const files = await artifactStore().putFiles({
      'package.json': JSON.stringify({ name: 'job', devDependencies: { jest: '*' }, scripts: { test: 'jest' } }),
      'src/add.ts': TS_ADD,
      'src/add.test.ts':
        "import { add } from './add';\n\ntest('adds', () => {\n  expect(add(1, 2)).toBe(3);\n});\n\ntest('adds wrongly', () => {\n  expect(add(1, 2)).toBe(4);\n});\n",
    });
    const result = await runTests({ files, language: 'typescript' });
    expect(result.runner).toBe('jest');
    expect(result.report).toMatchObject({ passed: 1, failed: 1, errors: 0 });
    expect(result.report.failures[0]?.name).toBe('adds wrongly');
    expect(result.report.failures[0]?.message).toMatch(/Expected: 4[\s\S]*Received: 3/);
  });

  describe("the local model's TypeScript files (tests/support/fixtures/real-answers/qwen2.5-coder-typescript.json)", () => {
    const real = observed.files;
    const layout = layoutFor('a function chunk<T>(items: T[], size: number): T[][]', 'typescript', {
      'chunk.ts': real['module-without-export'].content,
    });

    it('names the error of a test file node cannot load, not just "test failed"', async () => {
      const files = await artifactStore().putFiles({
        'chunk.ts': real['module-without-export'].content,
        'chunk.test.ts': real['test-import-assert'].content,
      });
      const result = await runTests({ files, language: 'typescript' });
      expect(result.runner).toBe('node-test');
      expect(result.report.passed).toBe(0);
      expect(result.report.failures[0]?.message).toBe(
        "ReferenceError: describe is not defined (chunk.test.ts:3: describe('chunk', () => {)",
      );
      expect(result.summary).toContain('ReferenceError: describe is not defined');
    });

    it('runs them once repaired: the export added, the test file given its imports', async () => {
      const module = exportNamedApis(real['module-without-export'].content, layout.names);
      for (const variant of ['test-require-assert', 'test-import-assert'] as const) {
        const test = fixNodeTestImports(real[variant].content, layout, { 'chunk.ts': module });
        const files = await artifactStore().putFiles({ 'chunk.ts': module, 'chunk.test.ts': test });
        const result = await runTests({ files, language: 'typescript' });
        expect(result.runner).toBe('node-test');
        // Four of its five tests hold; the fifth passes assert.throws the very message the code throws,
        // which node refuses as ambiguous: the model's own mistake, left for the review to weigh.
        expect(result.report).toMatchObject({ passed: 4, failed: 1, errors: 0 });
        expect(result.report.failures[0]?.name).toBe('should throw a RangeError when size is not a positive integer');
        expect(result.report.failures[0]?.message).toMatch(/ambiguous/i);
        // The failing call itself, from the line the stack points at.
        expect(result.report.failures[0]?.message).toContain(
          "at chunk.test.ts:7: assert.throws(() => chunk([], 0), 'size must be a positive integer');",
        );
      }
    });

    it('runs a jest-style test file under jest once it imports @jest/globals', async () => {
      const module = exportNamedApis(real['module-without-export'].content, layout.names);
      const jestStyle =
        "describe('chunk', () => {\n  it('splits', () => {\n    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);\n  });\n" +
        "  it('refuses a zero size', () => {\n    expect(() => chunk([1], 0)).toThrow(RangeError);\n  });\n" +
        "  it('is wrong on purpose', () => {\n    expect(chunk([1, 2], 1)).toEqual([[1, 2]]);\n  });\n});\n";
      const files = await artifactStore().putFiles({
        'chunk.ts': module,
        'chunk.test.ts': fixNodeTestImports(jestStyle, layout, { 'chunk.ts': module }),
      });
      const result = await runTests({ files, language: 'typescript' });
      expect(result.runner).toBe('jest');
      expect(result.report).toMatchObject({ passed: 2, failed: 1, errors: 0 });
      expect(result.report.failures[0]?.name).toMatch(/is wrong on purpose/);
      expect(result.report.failures[0]?.message).toContain(
        '\n  at chunk.test.ts:11: expect(chunk([1, 2], 1)).toEqual([[1, 2]]);',
      );
    });
  });

  it('reports a JavaScript job without test files as an error rather than as passing', async () => {
    const files = await artifactStore().putFiles({ 'index.js': 'module.exports = 1;\n' });
    const result = await runTests({ files, language: 'javascript' });
    expect(result.report.errors).toBe(1);
    expect(result.report.passed).toBe(0);
    expect(result.summary).toMatch(/no test files found/);
  });

  it('gives the same report for the same input twice', async () => {
    const files = await artifactStore().putFiles({ 'calc.py': PY_CALC, 'test_calc.py': PY_TESTS });
    const [a, b] = [await runTests({ files, language: 'python' }), await runTests({ files, language: 'python' })];
    const strip = (r: typeof a) => ({ ...r.report, durationMs: 0, failures: r.report.failures.map((f) => f.message) });
    expect(strip(a)).toEqual(strip(b));
    expect(a.summary).toBe(b.summary);
  });

  it('fails with a non-retryable ToolchainMissing naming python when no interpreter is on PATH', async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = '/nonexistent';
    resetToolchains();
    try {
      const files = await artifactStore().putFiles({ 'test_x.py': 'def test_x():\n    pass\n' });
      await expect(runTests({ files, language: 'python' })).rejects.toMatchObject({
        type: 'ToolchainMissing',
        nonRetryable: true,
        message: expect.stringContaining('python3'),
      });
    } finally {
      process.env.PATH = savedPath;
      resetToolchains();
    }
  });
});
