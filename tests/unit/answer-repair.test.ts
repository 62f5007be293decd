import answersFixture from '../support/fixtures/real-answers/qwen2.5-coder.json';
import {
  cleanFileContent,
  closeTruncatedJson,
  dropRepeatedAsserts,
  extractJson,
  filesFromProse,
  pythonLooksCutOff,
  trimTruncatedFile,
  trimTruncatedPythonTests,
} from '../../activities/llm/answer-repair';
import {
  codeAnswerReader,
  codeAnswerSchema,
  fileRewriteReader,
  fileRewriteSchema,
  reviewAnswerReader,
  reviewAnswerSchema,
} from '../../activities/llm/schemas';
import { parseStructuredOutput } from '../../activities/llm/structured-output';
import {
  fixTestImports,
  hasTests,
  importForgottenModules,
  layoutFor,
  renameShadowingTests,
  showsFailure,
} from '../../activities/llm';

type Answer = { content: string; finishReason: string; source: string };
const answers = answersFixture.answers as Record<string, Answer>;
const real = (name: string): Answer => {
  const answer = answers[name];
  if (!answer) throw new Error(`no recorded answer ${name}`);
  return answer;
};

/** Reads a recorded answer the way generateCode does: text protocol first, JSON accepted. */
function readCode(name: string, fallback = 'slugify.py') {
  const answer = real(name);
  return parseStructuredOutput(answer.content, codeAnswerSchema, {
    finishReason: answer.finishReason,
    reader: codeAnswerReader([fallback]),
    proseFirst: true,
  });
}

describe('reading real model answers', () => {
  it('reads JSON fenced as a whole answer', () => {
    const parsed = readCode('json-fenced-whole-answer');
    expect(parsed).toMatchObject({ ok: true, reading: 'extracted' });
    if (!parsed.ok) return;
    expect(parsed.value.files[0]!.path).toBe('slugify.py');
    expect(parsed.value.files[0]!.content).toContain('def slugify(text):');
  });

  it('names a code block that came without a path after the file the step asked for', () => {
    const parsed = readCode('code-block-without-path');
    expect(parsed).toMatchObject({ ok: true, reading: 'prose' });
    if (!parsed.ok) return;
    expect(parsed.value.files).toHaveLength(1);
    expect(parsed.value.files[0]!.path).toBe('slugify.py');
    expect(parsed.value.files[0]!.content.startsWith('def slugify(text):')).toBe(true);
    expect(parsed.value.files[0]!.content).not.toContain('```');
  });

  it('refuses a placeholder for a file, so the repair round asks for the file', () => {
    const parsed = readCode('placeholder-content');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error).toContain('placeholder');
  });

  it('reads a file whose content the model wrapped in Markdown fences, and the fences come off', () => {
    const parsed = readCode('fences-inside-content');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const content = cleanFileContent(parsed.value.files[0]!.content);
    expect(content.startsWith('import re\n')).toBe(true);
    expect(content).not.toContain('```');
    expect(content).toContain('return text.lower()\n');
  });

  it('reads JSON that prose surrounds', () => {
    const parsed = readCode('prose-then-fenced-json');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.files[0]!.content).toContain("strip('-')");
  });

  it('reads a tool call written as text as the answer it carries', () => {
    const parsed = readCode('tool-call-as-text');
    expect(parsed).toMatchObject({ ok: true });
    if (!parsed.ok) return;
    expect(parsed.value.files.map((f) => f.path)).toEqual(['slugify.py']);
    expect(parsed.value.explanation).toBe('regex');
  });

  it('refuses an empty file list', () => {
    const parsed = readCode('empty-file-list');
    expect(parsed.ok).toBe(false);
  });

  it('closes an answer cut off at max_tokens, keeps the whole tests and drops the cut line and the repeats', () => {
    const parsed = readCode('truncated-repeating-asserts', 'test_slugify.py');
    expect(parsed).toMatchObject({ ok: true, reading: 'truncated' });
    if (!parsed.ok) return;
    const content = dropRepeatedAsserts(trimTruncatedFile(parsed.value.files[0]!.content));
    expect(content.match(/assert slugify\('Hello World'\) == 'hello-world'/g)).toHaveLength(1);
    expect(content).toContain("def test_trim():\n    assert slugify('  a  ') == 'a'\n");
    expect(content).toContain("assert slugify('a b') == 'a-b'\n");
    expect(content).not.toContain('assert slug\n');
    expect(content.endsWith("'a-b'\n")).toBe(true);
  });

  it('sees a test file cut in the middle of a call, and trims it back to statements that parse', () => {
    const parsed = readCode('endless-distinct-asserts', 'test_greatest_common_divisor.py');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const raw = parsed.value.files[0]!.content;
    expect(pythonLooksCutOff(raw)).toBe(true);
    // One test function only: no whole test before it to fall back to, so the cut line goes.
    expect(trimTruncatedPythonTests(raw)).toBeUndefined();
    const trimmed = trimTruncatedFile(raw);
    expect(pythonLooksCutOff(trimmed)).toBe(false);
    expect(trimmed.trimEnd().split('\n').at(-1)).toBe('    assert greatest_common_divisor(121, 121) == 1');
  });

  it('drops a cut-off last test whole, wherever in it the cut fell', () => {
    const file = [
      'from m import f',
      '',
      '',
      'def test_one():',
      '    assert f(1) == 1',
      '',
      '',
      '@pytest.mark.parametrize("a, b", [',
      '    (1, 2),',
      '])',
      'def test_two(a, b):',
      '    assert f(a) == [',
      '        b,',
    ].join('\n');
    expect(pythonLooksCutOff(file)).toBe(true);
    expect(trimTruncatedPythonTests(file)).toBe('from m import f\n\n\ndef test_one():\n    assert f(1) == 1\n');
    expect(pythonLooksCutOff('def f():\n    return "a(b"  # not a bracket (\n')).toBe(false);
    expect(pythonLooksCutOff('x = """open\n')).toBe(true);
  });

  it('reads the text protocol: the path line, the block, and the words after it as the explanation', () => {
    const parsed = readCode('text-protocol-with-path', 'ignored.py');
    expect(parsed).toMatchObject({ ok: true, reading: 'prose' });
    if (!parsed.ok) return;
    expect(parsed.value.files.map((f) => f.path)).toEqual(['test_slugify.py']);
    expect(parsed.value.explanation).toBe('These tests cover lowercasing and trimming.');
  });
});

describe('answer repair, piece by piece', () => {
  it('unwraps a tool call whose arguments are a JSON string', () => {
    expect(extractJson('{"name": "rewrite", "arguments": "{\\"content\\": \\"x = 1\\\\n\\"}"}')).toEqual({
      content: 'x = 1\n',
    });
  });

  it('finds no JSON in plain code', () => {
    expect(extractJson('def f():\n    return 1\n')).toBeUndefined();
  });

  it('closes a truncated object mid-key and mid-string', () => {
    expect(closeTruncatedJson('{"a": "hel')).toEqual({ a: 'hel' });
    expect(closeTruncatedJson('{"a": [1, 2], "b"')).toEqual({ a: [1, 2] });
    expect(closeTruncatedJson('{"a": {"b": [1,')).toEqual({ a: { b: [1] } });
  });

  it('keeps text without fences as it is, and takes the longest block where prose surrounds code', () => {
    expect(cleanFileContent('x = 1\n')).toBe('x = 1\n');
    expect(cleanFileContent('Here:\n```python\nx = 1\ny = 2\n```\nUsage:\n```\nx\n```')).toBe('x = 1\ny = 2\n');
  });

  it('names blocks by the path on the line before them, by a path comment, else by the fallbacks', () => {
    const files = filesFromProse(
      'calc.py\n```python\ndef add(a, b):\n    return a + b\n```\n\n```python\n# test_calc.py\nfrom calc import add\n```\n```\nprint(1)\n```',
      ['main.py'],
    );
    expect(files?.map((f) => f.path)).toEqual(['calc.py', 'test_calc.py', 'main.py']);
  });

  it('maps a rewrite sent as `code` and a review with other severity words onto the schemas', () => {
    const rewrite = parseStructuredOutput('{"code": "x = 2\\n"}', fileRewriteSchema, { reader: fileRewriteReader });
    expect(rewrite).toMatchObject({ ok: true, value: { content: 'x = 2\n', explanation: '' } });
    const review = parseStructuredOutput(
      '{"findings": [{"severity": "Critical", "file": "a.py", "line": "3", "message": "wrong"}], "failingTests": "Tests", "summary": "s"}',
      reviewAnswerSchema,
      { reader: reviewAnswerReader },
    );
    expect(review).toMatchObject({
      ok: true,
      value: {
        findings: [{ severity: 'blocking', file: 'a.py', line: 3, message: 'wrong', suggestion: null }],
        failingTests: 'tests',
      },
    });
  });
});

describe('test files a small model wrote', () => {
  const files = { 'main.py': 'def is_even(n):\n    return n % 2 == 0\n' };
  const layout = layoutFor('an is_even(n) function', 'python', files);

  it('get the import of the code under test when they use it without one (a NameError otherwise)', () => {
    expect(fixTestImports('import pytest\n\n\ndef test_a():\n    assert is_even(2)\n', layout, files)).toBe(
      'from main import is_even\nimport pytest\n\n\ndef test_a():\n    assert is_even(2)\n',
    );
  });

  it('get the modules they use and forgot to import (seen: pytest.raises without import pytest)', () => {
    const written =
      'from main import is_even\n\n\ndef test_odd():\n    with pytest.raises(TypeError):\n        is_even(None)\n';
    expect(fixTestImports(written, layout, files)).toBe(`import pytest\n${written}`);
    expect(importForgottenModules('def test_a():\n    assert math.isclose(f(), 0.1) and re.match("a", "a")\n')).toBe(
      'import math\nimport re\ndef test_a():\n    assert math.isclose(f(), 0.1) and re.match("a", "a")\n',
    );
    expect(importForgottenModules('from __future__ import annotations\nx = math.pi\n')).toBe(
      'from __future__ import annotations\nimport math\nx = math.pi\n',
    );
  });

  it('get a function named after the API, which shadows its import, renamed to a test (HumanEval/55)', () => {
    // The 1.5B model's test file for `fib`, as written: pytest collected nothing, and ruff said F811.
    const written =
      'from fib import fib\ndef fib(n: int):\n    """Return n-th Fibonacci number.\n    >>> fib(10)\n    55\n    """\n' +
      '    assert fib(10) == 55\n    assert fib(1) == 1\n';
    const fibLayout = layoutFor('def fib(n: int):\n    """Return n-th Fibonacci number."""\n', 'python', {
      'fib.py': 'def fib(n):\n    return n\n',
    });
    expect(fixTestImports(written, fibLayout, { 'fib.py': '' })).toBe(
      written.replace('def fib(n: int):', 'def test_fib():'),
    );
    // A name already taken gets a number; the function keeps its place.
    // A default value's pieces are no parameters, and a name no Python function can have is skipped.
    expect(renameShadowingTests('def fib(a=(1, 2)):\n    assert fib(3) == 2\n', ['fib', 'x$y'])).toBe(
      'def test_fib():\n    assert fib(3) == 2\n',
    );
    expect(renameShadowingTests('def test_fib():\n    pass\n\n\ndef fib():\n    assert fib() == 0\n', ['fib'])).toBe(
      'def test_fib():\n    pass\n\n\ndef test_fib_2():\n    assert fib() == 0\n',
    );
  });

  it('leave a same-named function alone where it is a reference implementation, not a test', () => {
    for (const kept of [
      'from fib import fib as fast\n\n\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n',
      'def fib(\n    n: int,\n) -> int:\n    return fib(n - 1)\n',
      'def fib_check():\n    assert fib(1) == 1\n',
      'def fib():\n    return 1\n',
      'def fib(a=(1, 2), *args):\n    assert fib(a) == 1\n',
    ])
      expect(renameShadowingTests(kept, ['fib'])).toBe(kept);
  });

  it('leave a module name alone where the file binds it', () => {
    for (const bound of [
      'import pytest\nx = pytest.approx(1)\n',
      'import os, re\nre.compile("a")\n',
      'import numpy as math\nmath.sqrt(2)\n',
      'from x import (\n    re,\n)\nre.x\n',
      'def test_a(random):\n    random.seed(1)\n',
      'for re in rs:\n    re.x()\n',
      'math = Calc()\nmath.add(1)\n',
      "s = 'use math.pi'\n",
    ]) {
      expect(importForgottenModules(bound)).toBe(bound);
    }
  });

  it('import from the module that exists, not one the model made up', () => {
    expect(fixTestImports('from solution import is_even\n', layout, files)).toBe('from main import is_even\n');
    expect(fixTestImports('from main import is_even\nfrom math import sqrt\n', layout, files)).toBe(
      'from main import is_even\nfrom math import sqrt\n',
    );
  });
});

describe('a blocking review finding where the tests pass', () => {
  it('must show how the code fails, not restate the task', () => {
    expect(
      showsFailure(
        'The function `is_even` should return True when the integer n is even and False when it is odd. Add a check to ensure the input is an integer.',
      ),
    ).toBe(false);
    expect(showsFailure('Missing docstring')).toBe(false);
    expect(showsFailure('top_items([1,1,2], 1) returns [(1, 2)] instead of [1]')).toBe(true);
    expect(showsFailure('returns pairs (item, count) but the task asks for items')).toBe(true);
    expect(showsFailure('It crashes with a ZeroDivisionError on empty input')).toBe(true);
  });
});

describe('a rewritten test file', () => {
  it('counts as tests only when it still defines a test', () => {
    expect(hasTests('from slugify import slugify\n\ndef test_a():\n    assert slugify("A") == "a"\n')).toBe(true);
    expect(hasTests("import { test } from 'node:test';\ntest('adds', () => {});\n")).toBe(true);
    expect(hasTests('from slugify import slugify\nimport re\n\ndef slugify(text):\n    return text\n')).toBe(false);
  });
});
