import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  examplesPathFor,
  examplesTestFile,
  failingTestNames,
  isExampleFailure,
  isExamplesPath,
  nodeExamplesTestFile,
  oneTestPerAssert,
  taskExamples,
  withoutFailingNodeTests,
  withoutFailingTests,
} from '../../common/task-examples';

const PYTEST = path.resolve(__dirname, '../../.tools/pip/bin/pytest');
const TSX_LOADER = path.resolve(__dirname, '../../node_modules/tsx/dist/loader.mjs');

describe('the examples a task states', () => {
  it('reads doctest examples, with continuation lines and multi-line output', () => {
    const description = [
      'def sum_product(numbers):',
      '    """Sum and product of a list.',
      '    >>> sum_product([])',
      '    (0, 1)',
      '    >>> sum_product([1, 2,',
      '    ...              3, 4])',
      '    (10, 24)',
      '    >>> print(sum_product([2]))',
      '    (2, 2)',
      '    """',
    ].join('\n');
    expect(taskExamples(description, ['sum_product'])).toEqual([
      { call: 'sum_product([])', expected: '(0, 1)' },
      { call: 'sum_product([1, 2, 3, 4])', expected: '(10, 24)' },
    ]);
  });

  it('reads prose examples with the arrows tasks use, and skips what is not a literal value', () => {
    const description = [
      'Examples:',
      'x_or_y(7, 34, 12) == 34',
      'check("apple pie") ➞ False',
      "encrypt('hi') returns 'lm'.",
      'compare([1, 2], [1, 3]) -> [0, 1]',
      'fruit("5 apples", 19) -> 19 - 5 = 14',
      'fruit("0 apples and 1 oranges",3) -> 3 - 0 - 1 = 2',
      'fruit("1 apple", 10) -> 10 - 1 = 8',
      'fruit("2 apples", 7) -> 7 - 2',
      'is_power(2, 2) => true',
      'is_power(3, 2) => FALSE.',
      'find_max(["aa", "b"]) == ""aa"',
      'x_or_y(15, 8, 5) == the second value',
      'other(1) == 2',
    ].join('\n');
    const names = ['x_or_y', 'check', 'encrypt', 'compare', 'fruit', 'is_power', 'find_max'];
    expect(taskExamples(description, names)).toEqual([
      { call: 'x_or_y(7, 34, 12)', expected: '34' },
      { call: 'check("apple pie")', expected: 'False' },
      { call: "encrypt('hi')", expected: "'lm'" },
      { call: 'compare([1, 2], [1, 3])', expected: '[0, 1]' },
      // A worked example gives the value its sum comes to; one whose sum is wrong, or has no value, gives none.
      { call: 'fruit("5 apples", 19)', expected: '14' },
      { call: 'fruit("0 apples and 1 oranges",3)', expected: '2' },
      { call: 'is_power(2, 2)', expected: 'True' },
      { call: 'is_power(3, 2)', expected: 'False' },
    ]);
  });

  it('reads a call wrapped in a builtin, a doctest comment and a "# returns" arrow (HumanEval/32, /79)', () => {
    const description = [
      '    >>> round(find_zero([1, 2]), 2) # f(x) = 1 + 2x',
      '    -0.5',
      '    >>> sorted(find_zero([3, "#"]))  # a "#" in a string is no comment',
      '    [3]',
      '',
      '    decimal_to_binary(15)   # returns "db1111db"',
      '    >>> round(find_zero(xs), 2)',
      '    1.0',
      '    >>> print(find_zero([1]))',
      '    None',
      '    >>> round(other([1]), 2)',
      '    1.0',
    ].join('\n');
    expect(taskExamples(description, ['find_zero', 'decimal_to_binary'])).toEqual([
      { call: 'round(find_zero([1, 2]), 2)', expected: '-0.5' },
      { call: 'sorted(find_zero([3, "#"]))', expected: '[3]' },
      { call: 'decimal_to_binary(15)', expected: '"db1111db"' },
    ]);
  });

  it('reads hostile lines without blowing up: deep parentheses, endless sums, calls never closed', () => {
    const deep = `f(1) -> ${'('.repeat(8_000)}1${')'.repeat(8_000)} = 1`;
    const digits = `f(2) -> ${'1 + '.repeat(3_000)}1`;
    const calls = 'f('.repeat(2_000);
    expect(taskExamples(`${deep}\n${digits}\n${calls}\nf(3) -> (1 + 2) * 3 = 9`, ['f'])).toEqual([
      { call: 'f(3)', expected: '9' },
    ]);
  });

  it('reads arguments stated apart from the call, for a function the task defines (HumanEval/68, /78, /129)', () => {
    const pluck = [
      'def pluck(arr):',
      '    """Example 1:',
      '        Input: [4,2,3]',
      '        Output: [2, 1]',
      '        Explanation: 2 has the smallest even value.',
      '    Example 2:',
      '        Input: arr = []',
      '        Output: []',
      '    For arr = [5, 0, 3] the output should be [0, 1].',
      '    """',
    ].join('\n');
    expect(taskExamples(pluck, ['pluck'])).toEqual([
      { call: 'pluck([4,2,3])', expected: '[2, 1]' },
      { call: 'pluck([])', expected: '[]' },
      { call: 'pluck([5, 0, 3])', expected: '[0, 1]' },
    ]);
    // Several parameters: only when the example names each of them, in order.
    const minPath = 'def minPath(grid, k):\n    Input: grid = [ [1,2], [3,4]], k = 3\n    Output: [1, 2, 1]\n';
    expect(taskExamples(minPath, ['minPath'])).toEqual([
      { call: 'minPath([ [1,2], [3,4]], 3)', expected: '[1, 2, 1]' },
    ]);
    const renamed = 'def max_fill(grid, capacity):\n    Input: grid = [[1]], bucket_capacity = 1\n    Output: 1\n';
    expect(taskExamples(renamed, ['max_fill'])).toEqual([]);
    // `1, 2` for one parameter is no call of it; nor is a prose value, or an Output with no Input.
    const loose = [
      'function count(text: string): number {',
      'Input: 1, 2',
      'Output: 3',
      'For text = 1000, the sum of digits will be 1 the output should be "1".',
      'Output: 4',
    ].join('\n');
    expect(taskExamples(loose, ['count'], 12, 'js')).toEqual([]);
    // A parameter with a default, or a function the task does not define, leaves the call unknown.
    expect(taskExamples('def f(a, b=2):\n    Input: a = 1\n    Output: 3\n', ['f'])).toEqual([]);
    expect(taskExamples('Input: [1]\nOutput: 1\n', ['f'])).toEqual([]);
    // A long hostile line costs no more than a short one.
    const hostile = `def f(x):\n${'For x = '.repeat(4_000)}\nFor x = 2 the output should be 4.\n`;
    expect(taskExamples(hostile, ['f'])).toEqual([{ call: 'f(2)', expected: '4' }]);
  });

  it('takes no example when the task names no API, and none twice', () => {
    expect(taskExamples('>>> f(1)\n2', [])).toEqual([]);
    expect(taskExamples('>>> f(1)\n2\n\nf(1) == 2', ['f'])).toHaveLength(1);
  });

  it('writes a pytest file that passes right code and shows the call that wrong code gets wrong', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
    const examples = taskExamples(">>> mean([1, 2])\n1.5\n>>> pair(2)\n(2, 4)\n>>> name()\n'x'", [
      'mean',
      'pair',
      'name',
    ]);
    const testPath = examplesPathFor('test_stats.py');
    expect(testPath).toBe('test_stats_examples.py');
    fs.writeFileSync(path.join(dir, testPath), examplesTestFile(examples, 'from stats import mean, pair, name'));
    const run = () => {
      try {
        return { code: 0, out: execFileSync(PYTEST, ['-q', '-p', 'no:cacheprovider', dir], { encoding: 'utf8' }) };
      } catch (err) {
        const e = err as { status: number; stdout: string };
        return { code: e.status, out: e.stdout };
      }
    };
    fs.writeFileSync(
      path.join(dir, 'stats.py'),
      'def mean(xs):\n    return sum(xs) / len(xs) + 1e-9\n\ndef pair(n):\n    return (n, n * n)\n\ndef name():\n    return "x"\n',
    );
    expect(run()).toMatchObject({ code: 0 });
    // A list is not the tuple the example shows, as `==` says.
    fs.writeFileSync(
      path.join(dir, 'stats.py'),
      'def mean(xs):\n    return 1.5\n\ndef pair(n):\n    return [n, n * n]\n\ndef name():\n    return "x"\n',
    );
    const failed = run();
    expect(failed.code).toBe(1);
    expect(failed.out).toContain("pair(2) returned [2, 4]; the task's example says (2, 4)");
    expect(failed.out).toMatch(/1 failed, 2 passed/);
  });
});

describe("a TypeScript or JavaScript task's examples", () => {
  it('reads them in JavaScript literals, and skips what JavaScript does not read as one', () => {
    const description = [
      "slugify('Hello World') === 'hello-world'",
      'isEven(4) // => true',
      'parse("a=1") -> {a: 1, "b": [null, 2.5]}',
      'isEven(7) returns FALSE.',
      'parse("x") == (1, 2)',
      'isEven(2) == True',
      'parse(x) == 1',
    ].join('\n');
    expect(taskExamples(description, ['slugify', 'isEven', 'parse'], 12, 'js')).toEqual([
      { call: "slugify('Hello World')", expected: "'hello-world'" },
      { call: 'isEven(4)', expected: 'true' },
      { call: 'parse("a=1")', expected: '{a: 1, "b": [null, 2.5]}' },
      { call: 'isEven(7)', expected: 'false' },
      // A boolean in any case is read as one.
      { call: 'isEven(2)', expected: 'true' },
    ]);
    expect(examplesPathFor('src/slug.test.ts')).toBe('src/slug.examples.test.ts');
    expect(examplesPathFor('slug.spec.mjs')).toBe('slug.examples.spec.mjs');
    expect(isExamplesPath('src/slug.examples.test.ts')).toBe(true);
    expect(isExamplesPath('src/slug.test.ts')).toBe(false);
  });

  it("writes a node test file that passes right code and shows the call wrong code gets wrong, in the code's module system", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
    const examples = taskExamples(
      "slugify(' A b ') === 'a-b'\nmean([1, 2]) === 1.5\nparse('a') -> {a: [1]}\nparse('') -> null",
      ['slugify', 'mean', 'parse'],
      12,
      'js',
    );
    const run = (file: string, loader: boolean) => {
      const args = [...(loader ? ['--import', TSX_LOADER] : []), '--test', '--test-reporter=spec', file];
      try {
        return { code: 0, out: execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' }) };
      } catch (err) {
        const e = err as { status: number; stdout: string };
        return { code: e.status, out: e.stdout };
      }
    };
    const write = (name: string, content: string) => fs.writeFileSync(path.join(dir, name), content);
    const options = { stem: 'slug-it', typescript: true, jest: false };
    write(
      'slug.examples.test.ts',
      nodeExamplesTestFile(examples, "import { slugify, mean, parse } from './slug';", options),
    );
    const right =
      "export const slugify = (s: string) => s.trim().toLowerCase().split(/\\s+/).join('-');\n" +
      'export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length + 1e-9;\n' +
      'export const parse = async (s: string) => (s ? { [s]: [1] } : null);\n';
    write('slug.ts', right);
    expect(run('slug.examples.test.ts', true)).toMatchObject({ code: 0 });
    write('slug.ts', right.replace("join('-')", "join('_')").replace('[1]', '[1, 2]'));
    const failed = run('slug.examples.test.ts', true);
    expect(failed.code).toBe(1);
    // Named as a word whatever the module's name, so a failure reads as the task's example.
    expect(failed.out).toContain('test_slug_it_examples::test_example_1');
    expect(isExampleFailure('test_slug_it_examples::test_example_1')).toBe(true);
    expect(failed.out).toContain(`slugify(' A b ') returned "a_b"; the task's example says "a-b"`);
    expect(failed.out).toContain(`parse('a') returned {"a":[1,2]}; the task's example says {"a":[1]}`);
    expect(failed.out).toMatch(/pass 2\b[\s\S]*fail 2\b/);
    // A CommonJS module's examples require it, and run without a loader.
    const cjs = { stem: 'slug', typescript: false, jest: false };
    write(
      'slug.examples.test.js',
      nodeExamplesTestFile(examples, "const { slugify, mean, parse } = require('./slug.cjs');", cjs),
    );
    write('slug.cjs', right.replace(/export const (\w+)/g, 'exports.$1').replace(/: (string|number\[\])/g, ''));
    expect(run('slug.examples.test.js', false)).toMatchObject({ code: 0 });
  });
});

describe('failing tests', () => {
  it('tells the task examples from the job-written tests', () => {
    const failures =
      '- test_f_examples::test_example_2: assert False\n- test_f::test_edge: assert 1 == 2\n  trace\n- tests.test_f_examples: ImportError';
    expect(failingTestNames(failures)).toEqual([
      'test_f_examples::test_example_2',
      'test_f::test_edge',
      'tests.test_f_examples',
    ]);
    expect(failingTestNames(failures).map(isExampleFailure)).toEqual([true, false, true]);
    // TypeScript/JavaScript: an example, and the examples file that failed to load (jest and node
    // name the file), are the task's; the model's own test file is not.
    expect(
      [
        'test_pager_examples::test_example_1',
        '/work/src/pager.examples.test.ts',
        '/work/src/pager.test.ts',
        'pager > pages',
      ].map(isExampleFailure),
    ).toEqual([true, true, false, false]);
  });

  it('splits a test function of several asserts into one test per assert, and leaves the rest alone', () => {
    const content = [
      'import pytest',
      'from area import area',
      '',
      '',
      'def test_area():',
      '    """Two triangles."""',
      '    assert area(3, 4, 5) == 6',
      '    big = area(',
      '        5, 5, 5)',
      '    assert big == pytest.approx(10.83, abs=0.01)',
      '',
      '',
      'def test_one():',
      '    assert area(1, 1, 3) == -1',
      '',
      '',
      '@pytest.mark.parametrize("x", [1, 2])',
      'def test_marked(x):',
      '    assert x',
      '    assert x > 0',
      '',
      '',
      'def test_loop():',
      '    for x in [1, 2]:',
      '        assert area(x, x, x) > 0',
      '    assert True',
      '',
    ].join('\n');
    const split = oneTestPerAssert(content)!;
    expect(split).toContain(
      [
        'def test_area_1():',
        '    """Two triangles."""',
        '    assert area(3, 4, 5) == 6',
        '    big = area(',
        '        5, 5, 5)',
        '',
        '',
        'def test_area_2():',
        '    """Two triangles."""',
        '    big = area(',
        '        5, 5, 5)',
        '    assert big == pytest.approx(10.83, abs=0.01)',
        '',
        '',
        'def test_one():',
      ].join('\n'),
    );
    expect(split).not.toContain('def test_area():');
    // A decorated function, a compound statement and a single assert stay as written.
    expect(split.slice(split.indexOf('def test_one():'))).toBe(content.slice(content.indexOf('def test_one():')));
    expect(oneTestPerAssert('def test_x():\n    assert 1\n')).toBeUndefined();
  });

  it('names each split test anew, never after a test the file already defines', () => {
    const content = [
      'def test_a():',
      '    assert f(1) == 1',
      '    assert f(2) == 2',
      '',
      '',
      'def test_a_1():',
      '    assert f(3) == 3',
      '',
    ].join('\n');
    const names = [...oneTestPerAssert(content)!.matchAll(/^def (\w+)/gm)].map((m) => m[1]);
    expect(names).toEqual(['test_a_1_', 'test_a_2', 'test_a_1']);
  });

  it('drops the failing top-level test functions with their decorators, and nothing else', () => {
    const content = [
      'import pytest',
      'from f import f',
      '',
      '',
      'def test_ok():',
      '    assert f(1) == 1',
      '',
      '',
      '@pytest.mark.parametrize("x", [1, 2])',
      'def test_bad(x):',
      '    assert f(x) == 0',
      '',
      '',
      'def test_also_ok():',
      '    assert f(2) == 2',
      '',
    ].join('\n');
    const pruned = withoutFailingTests('test_f.py', content, [
      'test_f::test_bad[1]',
      'test_f::test_bad[2]',
      'test_g::test_x',
    ]);
    expect(pruned).toContain('def test_ok():');
    expect(pruned).toContain('def test_also_ok():');
    expect(pruned).not.toContain('test_bad');
    expect(pruned).not.toContain('parametrize');
    expect(withoutFailingTests('test_f.py', content, ['test_g::test_x'])).toBe(content);
    // A method, or a failure of the whole file, cannot be dropped this way.
    expect(withoutFailingTests('test_f.py', content, ['test_f::TestF::test_bad'])).toBeUndefined();
    expect(withoutFailingTests('test_f.py', content, ['test_f::test_missing'])).toBeUndefined();
  });

  it('drops the failing test() and it() calls of a TypeScript/JavaScript file, named as node and jest name them', () => {
    const content = [
      "import { test, describe, it } from '@jest/globals';",
      "import { runLengths } from './run-lengths';",
      '',
      "test('counts runs', () => {",
      "  expect(runLengths('aab')).toEqual([2, 1]);",
      '});',
      '',
      'test("returns [1, 1, 1] for \\"aaa\\"", () => {',
      "  expect(runLengths('aaa')).toEqual([1, 1, 1]);",
      '});',
      '',
      "describe('edges', () => {",
      "  it('empty', () => expect(runLengths('')).toEqual([]));",
      "  it('one (wrong)', () => {",
      "    expect(runLengths('a')).toEqual([0]);",
      '  });',
      '});',
      '',
    ].join('\n');
    const failures = '- returns [1, 1, 1] for "aaa": Expected values\n  - 1\n- edges one (wrong): expected [0]';
    const failing = failingTestNames(failures);
    expect(failing).toEqual(['returns [1, 1, 1] for "aaa"', 'edges one (wrong)']);
    const pruned = withoutFailingNodeTests(content, failing)!;
    expect(pruned).toContain("test('counts runs'");
    expect(pruned).toContain("it('empty'");
    expect(pruned).not.toContain('aaa');
    expect(pruned).not.toContain('one (wrong)');
    expect(pruned).toContain(
      "describe('edges', () => {\n  it('empty', () => expect(runLengths('')).toEqual([]));\n});",
    );
    // A failure that names no test of the file, or a test with a template literal, is not pruned.
    expect(withoutFailingNodeTests(content, ['another test'])).toBeUndefined();
    expect(withoutFailingNodeTests("test('t', () => {\n  expect(`a`).toBe('b');\n});\n", ['t'])).toBeUndefined();
  });
});
