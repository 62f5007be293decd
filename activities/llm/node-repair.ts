/**
 * Repairs of TypeScript/JavaScript answers from small models, the node counterpart of the Python
 * import fixes in llm.ts. Seen on Qwen2.5-Coder-1.5B: a test file written in jest's style (`describe`,
 * `it`, `expect` as globals) with no import of them nor of the code under test, which node's test
 * runner loads as `ReferenceError: describe is not defined`; and a module whose function is never
 * exported, so no test can reach it. Each repair adds only what is missing and keeps the model's code.
 * Pure functions.
 */

/** node:test's functions a test file calls. */
const NODE_TEST_API = ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach'];

/** What jest's globals add to them (a jest-style file needs `@jest/globals` to run). */
const JEST_API = ['describe', 'it', 'test', 'beforeAll', 'afterAll', 'beforeEach', 'afterEach', 'expect', 'jest'];

/** The file's code without string, template and comment text, so that a name inside them is no use of it. */
function codeOf(content: string): string {
  return content.replace(
    /\/\*[\s\S]*?\*\/|\/\/[^\n]*|`(?:\\[\s\S]|[^`\\])*`|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"/g,
    (m) => (m.startsWith('/') ? ' ' : "''"),
  );
}

const escapeName = (name: string) => name.replace(/\$/g, '\\$');

/** Whether `code` binds `name`: an import, a require, a declaration or a destructuring of it. */
function binds(code: string, name: string): boolean {
  const n = escapeName(name);
  return new RegExp(
    `\\bimport\\s*(?:type\\s+)?\\{[^}]*\\b${n}\\b[^}]*\\}|\\bimport\\s+${n}\\b|\\bimport\\s*\\*\\s*as\\s+${n}\\b|` +
      `\\b(?:const|let|var)\\s+${n}\\b|\\b(?:const|let|var)\\s*\\{[^}]*\\b${n}\\b[^}]*\\}\\s*=|` +
      `\\b(?:function|class)\\s+${n}\\b`,
  ).test(code);
}

/** Whether `code` calls `name` or uses a member of it (`assert.equal`, `expect(`, `jest.fn`). */
function uses(code: string, name: string): boolean {
  return new RegExp(`(^|[^\\w.$])${escapeName(name)}\\s*[.(]`, 'm').test(code);
}

/** Whether the file is written as CommonJS (requires and no import statement). */
function isCommonJs(code: string): boolean {
  return /\brequire\s*\(/.test(code) && !/^\s*import\b/m.test(code);
}

/** The relative specifier (`./chunk`) from a test file to a module, without its extension for TypeScript. */
function specifier(fromPath: string, toPath: string, language: string): string {
  const fromDir = fromPath.includes('/') ? fromPath.slice(0, fromPath.lastIndexOf('/')).split('/') : [];
  const to = toPath.split('/');
  let common = 0;
  while (common < fromDir.length && common < to.length - 1 && fromDir[common] === to[common]) common++;
  const up = fromDir.length - common;
  const rel = [...Array<string>(up).fill('..'), ...to.slice(common)].join('/');
  const withoutExt = language === 'typescript' ? rel.replace(/\.[cm]?tsx?$/, '') : rel;
  return up === 0 ? `./${withoutExt}` : withoutExt;
}

/**
 * The line a test file reaches the task's API with: `import { chunk } from './chunk';` (TypeScript,
 * an ES module), or `const { chunk } = require('./chunk.js');` for a CommonJS module.
 */
export function nodeImportLine(
  names: readonly string[],
  testPath: string,
  modulePath: string,
  language: string,
  moduleContent: string | undefined,
): string | undefined {
  if (names.length === 0) return undefined;
  const from = specifier(testPath, modulePath, language);
  const commonJs =
    language !== 'typescript' &&
    moduleContent !== undefined &&
    /\bmodule\.exports\b|^\s*exports\./m.test(moduleContent);
  return commonJs
    ? `const { ${names.join(', ')} } = require('${from}');`
    : `import { ${names.join(', ')} } from '${from}';`;
}

/** Whether a relative module specifier resolves to one of the job's files, as node and tsx would. */
function resolves(specifierText: string, testPath: string, files: Record<string, string>): boolean {
  const dir = testPath.includes('/') ? testPath.slice(0, testPath.lastIndexOf('/') + 1) : '';
  const parts: string[] = [];
  for (const part of `${dir}${specifierText}`.split('/')) {
    if (part === '.' || part === '') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  const base = parts.join('/');
  const stem = base.replace(/\.[cm]?[jt]sx?$/, '');
  return ['', '.ts', '.tsx', '.js', '.mjs', '.cjs', '/index.ts', '/index.js'].some(
    (ext) => files[base + ext] !== undefined || files[stem + ext] !== undefined,
  );
}

export interface NodeTestLayout {
  names: string[];
  testPath: string;
  importLine?: string;
}

/**
 * A TypeScript/JavaScript test file with what it uses and does not import: the test functions (from
 * `node:test`, or from `@jest/globals` when it is written in jest's style with `expect`), node's
 * `assert`, and the task's API (by the layout's import line, also replacing an import of it from a
 * module that does not exist, like `./solution`). A `vitest` import becomes `@jest/globals`: vitest
 * is not installed, and its API is jest's.
 */
export function fixNodeTestImports(content: string, layout: NodeTestLayout, files: Record<string, string>): string {
  let fixed = content;
  // Imports of the task's API from a module that is not among the job's files.
  if (layout.importLine) {
    const from = /from\s+'([^']+)'|require\('([^']+)'\)/.exec(layout.importLine);
    const target = from?.[1] ?? from?.[2];
    if (target) {
      fixed = fixed.replace(
        /(\bimport\s*\{([^}]*)\}\s*from\s*|\brequire\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\3/g,
        (whole, head: string, imported: string | undefined, quote: string, spec: string) => {
          const names = (imported ?? '').split(',').map((n) => n.trim().split(/\s+as\s+/)[0]!);
          const wanted = imported === undefined || names.some((n) => layout.names.includes(n));
          return wanted && !resolves(spec, layout.testPath, files) ? `${head}${quote}${target}${quote}` : whole;
        },
      );
    }
  }
  if (!/\bvi\b/.test(codeOf(fixed)))
    fixed = fixed.replace(/(from\s*|require\(\s*)(['"])vitest\2/g, '$1$2@jest/globals$2');
  // `expect` is jest's: such a file runs under jest, where node:test's describe and it do not.
  const expects = (text: string) => ['expect', 'jest'].some((n) => uses(text, n) && !binds(text, n));
  if (expects(codeOf(fixed))) fixed = fixed.replace(/(from\s*|require\(\s*)(['"])node:test\2/g, '$1$2@jest/globals$2');

  const code = codeOf(fixed);
  const commonJs = isCommonJs(code);
  const importFrom = (names: string[], module: string) =>
    commonJs
      ? `const { ${names.join(', ')} } = require('${module}');`
      : `import { ${names.join(', ')} } from '${module}';`;
  const added: string[] = [];
  const jestStyle = expects(code) || /(['"])@jest\/globals\1/.test(fixed);
  const api = jestStyle ? JEST_API : NODE_TEST_API;
  const missing = api.filter((n) => uses(code, n) && !binds(code, n));
  if (missing.length) added.push(importFrom(missing, jestStyle ? '@jest/globals' : 'node:test'));
  if (uses(code, 'assert') && !binds(code, 'assert')) {
    added.push(commonJs ? "const assert = require('node:assert/strict');" : "import assert from 'node:assert/strict';");
  }
  if (layout.importLine && layout.names.some((n) => uses(code, n) && !binds(code, n))) {
    const unbound = layout.names.filter((n) => !binds(code, n));
    const line = layout.importLine.replace(/\{[^}]*\}/, `{ ${unbound.join(', ')} }`);
    added.push(
      commonJs && line.startsWith('import ')
        ? line.replace(/^import (\{[^}]*\}) from ('[^']+');$/, 'const $1 = require($2);')
        : line,
    );
  }
  if (added.length === 0) return fixed;
  // After a `'use strict'` directive or a shebang, which must stay first.
  const lead = /^(#![^\n]*\n|(['"])use strict\2;?[^\n]*\n)*/.exec(fixed)?.[0] ?? '';
  return `${lead}${added.join('\n')}\n${fixed.slice(lead.length)}`;
}

/**
 * A TypeScript/JavaScript module that defines the task's API at its top level without exporting it
 * gets `export` on those definitions; a CommonJS module (`module.exports`) is left as it is.
 */
export function exportNamedApis(content: string, names: readonly string[]): string {
  const code = codeOf(content);
  if (names.length === 0 || /\bmodule\.exports\b|^\s*exports\.\w/m.test(code)) return content;
  let fixed = content;
  for (const name of names) {
    const n = escapeName(name);
    const exported = new RegExp(
      `^\\s*export\\s+(?:default\\s+)?(?:declare\\s+)?(?:async\\s+)?(?:function\\*?|const|let|var|class|abstract\\s+class)\\s+${n}\\b|` +
        `^\\s*export\\s*\\{[^}]*\\b${n}\\b[^}]*\\}`,
      'm',
    );
    if (exported.test(code)) continue;
    fixed = fixed.replace(
      new RegExp(
        `^((?:async\\s+)?function\\*?\\s+${n}\\b|(?:const|let|var)\\s+${n}\\b|(?:abstract\\s+)?class\\s+${n}\\b)`,
        'm',
      ),
      'export $1',
    );
  }
  return fixed;
}

/**
 * A test file without the tests whose body is empty (`test('…', () => {\n});`): they pass without
 * checking anything. Seen on the 1.5B model: a JavaScript test file of two real tests and 37 empty
 * copies of the second, which counted as 37 passes.
 */
export function dropEmptyTests(content: string): string {
  const dropped = content.replace(
    /^[ \t]*(?:test|it)(?:\.only)?\(\s*(['"`])(?:\\.|(?!\1)[^\\\n])*\1\s*,\s*(?:async\s*)?(?:\(\s*\)\s*=>|function\s*\(\s*\))\s*\{\s*\}\s*\);?[ \t]*(?:\n|$)/gm,
    '',
  );
  return dropped === content ? content : dropped.replace(/\n{3,}/g, '\n\n');
}
