import observed from '../support/fixtures/real-answers/qwen2.5-coder-typescript.json';
import { layoutFor } from '../../activities/llm';
import { dropEmptyTests, exportNamedApis, fixNodeTestImports, nodeImportLine } from '../../activities/llm/node-repair';
import { declaresJest } from '../../activities/test-runners/node-runner';

const TASK =
  'a function chunk<T>(items: T[], size: number): T[][] that splits an array into chunks of the given size; ' +
  'chunk([1,2,3,4,5], 2) returns [[1,2],[3,4],[5]]';
const file = (name: keyof typeof observed.files) => observed.files[name].content;

describe('TypeScript/JavaScript answers of a small model', () => {
  const module = { 'chunk.ts': exportNamedApis(file('module-without-export'), ['chunk']) };
  const layout = layoutFor(TASK, 'typescript', module);

  it('lays out a TypeScript job with the import line its tests start with', () => {
    expect(layout).toMatchObject({
      names: ['chunk'],
      modulePath: 'chunk.ts',
      testPath: 'chunk.test.ts',
      importLine: "import { chunk } from './chunk';",
    });
    expect(layoutFor('a function slugify(text)', 'javascript', {}).importLine).toBe(
      "import { slugify } from './slugify.js';",
    );
  });

  it('imports a CommonJS module with require, and reaches a module in another folder', () => {
    expect(nodeImportLine(['add'], 'calc.test.js', 'calc.js', 'javascript', 'module.exports = { add };')).toBe(
      "const { add } = require('./calc.js');",
    );
    expect(nodeImportLine(['add'], 'test/add.test.ts', 'src/add.ts', 'typescript', undefined)).toBe(
      "import { add } from '../src/add';",
    );
  });

  it('exports the function the real model defined and never exported', () => {
    const fixed = exportNamedApis(file('module-without-export'), ['chunk']);
    expect(fixed.startsWith('export function chunk<T>(items: T[], size: number): T[][] {')).toBe(true);
    expect(fixed.replace(/^export /, '')).toBe(file('module-without-export'));
    expect(exportNamedApis(fixed, ['chunk'])).toBe(fixed);
  });

  it('leaves exported, re-exported and CommonJS definitions alone, and exports consts, classes and async functions', () => {
    const listed = 'function a() {}\nfunction helper() {}\nexport { a };\n';
    expect(exportNamedApis(listed, ['a'])).toBe(listed);
    const cjs = 'function add(a, b) { return a + b; }\nmodule.exports = { add };\n';
    expect(exportNamedApis(cjs, ['add'])).toBe(cjs);
    expect(
      exportNamedApis('const f = (x: number) => x;\nclass Stack {}\nasync function g() {}\n', ['f', 'Stack', 'g']),
    ).toBe('export const f = (x: number) => x;\nexport class Stack {}\nexport async function g() {}\n');
    // A nested function of that name is not the module's API.
    expect(exportNamedApis('function outer() {\n  function f() {}\n}\n', ['f'])).toBe(
      'function outer() {\n  function f() {}\n}\n',
    );
  });

  it("adds node:test's functions and the code under test to the real model's test file, keeping its require of assert", () => {
    const fixed = fixNodeTestImports(file('test-require-assert'), layout, module);
    expect(fixed.split('\n').slice(0, 3)).toEqual([
      "const { describe, it } = require('node:test');",
      "const { chunk } = require('./chunk');",
      "const assert = require('assert/strict');",
    ]);
    expect(fixed.endsWith(file('test-require-assert'))).toBe(true);
  });

  it('adds the same as imports to the variant that imports assert', () => {
    const fixed = fixNodeTestImports(file('test-import-assert'), layout, module);
    expect(fixed.split('\n').slice(0, 3)).toEqual([
      "import { describe, it } from 'node:test';",
      "import { chunk } from './chunk';",
      "import assert from 'assert/strict';",
    ]);
  });

  it('runs a jest-style file (expect) on @jest/globals, which makes the runner jest', () => {
    const jestStyle =
      "describe('chunk', () => {\n  test('splits', () => {\n    expect(chunk([1, 2, 3], 2)).toEqual([[1, 2], [3]]);\n  });\n});\n";
    const fixed = fixNodeTestImports(jestStyle, layout, module);
    expect(fixed).toBe(
      `import { describe, test, expect } from '@jest/globals';\nimport { chunk } from './chunk';\n${jestStyle}`,
    );
    expect(declaresJest({ ...module, 'chunk.test.ts': fixed }).jest).toBe(true);
    expect(declaresJest({ ...module, 'chunk.test.ts': jestStyle }).jest).toBe(false);
    // node:test's names under jest would not run: the module is switched, and vitest's is jest's API.
    const mixed =
      "import { describe, it } from 'node:test';\nimport { chunk } from './chunk';\nit('x', () => expect(chunk([], 1)).toEqual([]));\n";
    expect(fixNodeTestImports(mixed, layout, module)).toBe(
      `import { expect } from '@jest/globals';\n${mixed.replace("'node:test'", "'@jest/globals'")}`,
    );
    const vitest =
      "import { it, expect } from 'vitest';\nimport { chunk } from './chunk';\nit('x', () => expect(chunk([], 1)).toEqual([]));\n";
    expect(fixNodeTestImports(vitest, layout, module)).toBe(vitest.replace("'vitest'", "'@jest/globals'"));
  });

  it('points an import of the API from a module that does not exist at the real one', () => {
    const wrong =
      "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { chunk } from './solution';\ntest('x', () => assert.deepEqual(chunk([1], 1), [[1]]));\n";
    expect(fixNodeTestImports(wrong, layout, module)).toBe(wrong.replace("'./solution'", "'./chunk'"));
    // An import that resolves, and one of something else, stay.
    const helper = { ...module, 'helpers.ts': 'export const h = 1;' };
    const right = wrong
      .replace("'./solution'", "'./chunk.js'")
      .replace('import { chunk }', "import { h } from './helpers';\nimport { chunk }");
    expect(fixNodeTestImports(right, layout, helper)).toBe(right);
  });

  it('changes nothing in a complete test file, and ignores names inside strings and comments', () => {
    const complete =
      "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { chunk } from './chunk';\n\n" +
      "// describe(...) would group them\ntest('it(splits) and expect(x)', () => {\n  assert.deepEqual(chunk([1, 2], 1), [[1], [2]]);\n});\n";
    expect(fixNodeTestImports(complete, layout, module)).toBe(complete);
  });

  it("keeps a 'use strict' directive first", () => {
    const strict =
      "'use strict';\nconst assert = require('node:assert');\ntest('a', () => assert.ok(chunk([1], 1)));\n";
    expect(
      fixNodeTestImports(strict, { ...layout, importLine: "const { chunk } = require('./chunk.js');" }, module),
    ).toBe(
      "'use strict';\nconst { test } = require('node:test');\nconst { chunk } = require('./chunk.js');\nconst assert = require('node:assert');\ntest('a', () => assert.ok(chunk([1], 1)));\n",
    );
  });

  it('drops the empty copies of a test the real model wrote until its tokens ran out, and keeps the tests that check', () => {
    const stored = file('js-empty-tests');
    expect(stored.match(/^test\(/gm)).toHaveLength(39);
    const fixed = dropEmptyTests(stored);
    expect(fixed.match(/^test\(/gm)).toHaveLength(2);
    expect(fixed).toContain('expect(camelCase("hello world")).toBe("helloWorld");');
    expect(fixed).toContain('expect(camelCase("foo-bar_baz")).toBe("fooBarBaz");');
    expect(dropEmptyTests(fixed)).toBe(fixed);
    const kinds = "it('a', async () => {});\ntest(\"b\", function () {\n});\nit('c', () => {\n  assert.ok(1);\n});\n";
    expect(dropEmptyTests(kinds)).toBe("it('c', () => {\n  assert.ok(1);\n});\n");
  });
});
