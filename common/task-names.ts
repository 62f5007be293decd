/**
 * The functions and classes a task names, and whether files define them. "Succeeded" means the API
 * the user asked for exists: a model that writes a neat `count_items` where `top_items(xs)` was asked
 * for has not done the job, however green its own tests are.
 *
 * Pure and deterministic (workflow-safe): the workflow reads the names from the description, and the
 * analysis activity checks the files.
 */

/** A definition written out: `def f(`, `function f(` / `function f<T>(`, `class Name:` / `class Name(` / `class Name {`. */
const DEFINITION_IN_TEXT =
  /\b(?:(?:def|function)\s+([A-Za-z_$][\w$]*)\s*(?:<[A-Z][\w$[\],. ]*>)?\(|class\s+([A-Z][\w$]*)\s*(?:<[A-Z][\w$[\],. ]*>\s*)?[:({])/g;
/** `f(` or, in TypeScript, `f<T>(` (type parameters start with a capital, so `a<b(` is no call). */
const CALL_IN_TEXT = /(?<![\w.$])([A-Za-z_$][\w$]*)(?:<[A-Z][\w$[\],. ]*>)?\(/g;
const BACKTICKED = /`([A-Za-z_$][\w$]*)(?:\([^`]*\))?`/g;
const NAMED = /\b(?:function|method|class)\s+(?:called|named)\s+`?([A-Za-z_$][\w$]*)/gi;

/** Words that look like calls in prose or examples but name no API the task asks for. */
const NOT_NAMES = new Set(
  (
    'if for while return print len range list dict set tuple str int float bool sorted reversed map filter zip ' +
    'sum min max abs round any all isinstance type open input super repr hash id iter next enumerate ord chr ' +
    'e.g i.e eg ie etc and or not is in of to a an the it its this that with without e g ' +
    'console log require import export new typeof Array Object String Number Boolean Math JSON Promise Map Set ' +
    'setTimeout parseInt parseFloat Date Error assert expect test it describe def lambda self cls'
  ).split(' '),
);

/**
 * The API a task description names, at most five: definitions written out (`def top_items(`),
 * explicit names ("a function named parse"), backticked identifiers, then identifiers written as calls
 * (`slugify(text)`). Builtins and prose words are ignored. Empty when the task names nothing.
 */
export function namedApis(description: string): string[] {
  const text = description.slice(0, 20_000);
  const definitions = [...text.matchAll(DEFINITION_IN_TEXT)].map((m) => (m[1] ?? m[2])!);
  // A signature written out is the API; calls in its docstring's examples are not more of it.
  const found = definitions.length
    ? definitions
    : [
        ...[...text.matchAll(NAMED)].map((m) => m[1]!),
        ...[...text.matchAll(BACKTICKED)].map((m) => m[1]!),
        ...[...text.matchAll(CALL_IN_TEXT)].map((m) => m[1]!),
      ];
  const names: string[] = [];
  for (const name of found) {
    if (NOT_NAMES.has(name) || name.length < 2 || names.includes(name)) continue;
    names.push(name);
    if (names.length === 5) break;
  }
  return names;
}

/** Whether a file's text defines `name` (a function, class, or a bound function/const/export). */
export function definesName(content: string, name: string, path: string): boolean {
  const n = name.replace(/[$]/g, '\\$');
  if (/\.py$/.test(path)) {
    return new RegExp(`^\\s*(?:async\\s+)?(?:def|class)\\s+${n}\\b|^${n}\\s*=`, 'm').test(content);
  }
  if (/\.[cm]?[jt]sx?$/.test(path)) {
    return new RegExp(
      `\\b(?:function\\s*\\*?\\s*${n}\\b|class\\s+${n}\\b|(?:const|let|var)\\s+${n}\\s*[:=]|export\\s+(?:default\\s+)?(?:async\\s+)?(?:function|class)\\s+${n}\\b|\\b${n}\\s*[:(][^;\\n]*\\{|exports\\.${n}\\s*=)`,
    ).test(content);
  }
  return false;
}

/** The names no file among `files` (path → content) defines. */
export function missingNames(files: Record<string, string>, names: string[]): string[] {
  return names.filter((name) => !Object.entries(files).some(([path, content]) => definesName(content, name, path)));
}

/** A module file name for new code: the first named API in snake case (python) or kebab case, else `main`. */
export function suggestedModulePath(names: string[], language: string): string {
  const base = names[0] ?? 'main';
  if (language === 'python') {
    const snake = base
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/\W+/g, '_')
      .toLowerCase();
    return `${/^\d/.test(snake) ? `m_${snake}` : snake}.py`;
  }
  const kebab = base
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[^\w]+|_/g, '-')
    .toLowerCase();
  return `${kebab}.${language === 'typescript' ? 'ts' : 'js'}`;
}

/** A named API that a file defines only as a stub: where its last definition is. */
export interface StubbedName {
  name: string;
  path: string;
  /** 1-based line of the definition. */
  line: number;
}

/**
 * The names among `names` that the files define, but only as stubs: a Python function whose body is
 * its docstring, `pass`, `...` or `raise NotImplementedError`; a JavaScript/TypeScript function whose
 * body is empty, comments, or a "not implemented" throw. A small model handed a stub often returns it
 * unchanged, and a job must not call that done. A name also defined with a body anywhere is not
 * stubbed; abstract methods and overloads are not stubs. Conservative: what it cannot read is a body.
 */
export function stubbedNames(files: Record<string, string>, names: string[]): StubbedName[] {
  const stubbed: StubbedName[] = [];
  for (const name of names) {
    let implemented = false;
    let stub: StubbedName | undefined;
    for (const [path, content] of Object.entries(files)) {
      const found = /\.pyi?$/.test(path)
        ? pythonDefinition(content, name)
        : /\.[cm]?[jt]sx?$/.test(path)
          ? scriptDefinition(content, name)
          : undefined;
      if (!found) continue;
      if (found.stub) stub ??= { name, path, line: found.line };
      else implemented = true;
    }
    if (stub && !implemented) stubbed.push(stub);
  }
  return stubbed;
}

const PY_STUB_STATEMENT = /^(?:pass|\.\.\.|raise\s+NotImplementedError\b.*)$/;
const PY_DOCSTRING = /^\s*[rRuU]?("""|''')[\s\S]*?\1|^\s*[rRuU]?("|')(?:\\.|(?!\2).)*\2/;

/** The last `def name(` of a Python file (the one that counts) and whether its body is a stub. */
function pythonDefinition(content: string, name: string): { line: number; stub: boolean } | undefined {
  const lines = content.split('\n');
  const def = new RegExp(`^(\\s*)(?:async\\s+)?def\\s+${name.replace(/\$/g, '\\$')}\\s*\\(`);
  let at = -1;
  lines.forEach((l, i) => {
    if (def.test(l)) at = i;
  });
  if (at < 0) return undefined;
  const indent = def.exec(lines[at]!)![1]!.length;
  const decorator = lines
    .slice(0, at)
    .reverse()
    .find((l) => l.trim() !== '');
  if (decorator && /^\s*@(?:\w+\.)*(?:abstractmethod|overload)\b/.test(decorator)) return { line: at + 1, stub: false };
  // The signature ends at the first `:` outside brackets; what follows on that line is a one-line body.
  const rest = lines.slice(at).join('\n');
  let depth = 0;
  let end = -1;
  for (let i = rest.indexOf('('); i < rest.length; i++) {
    const c = rest[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ':' && depth === 0) {
      end = i;
      break;
    }
  }
  if (end < 0) return { line: at + 1, stub: false };
  const afterColon = rest.slice(end + 1);
  const firstLineEnd = afterColon.indexOf('\n');
  const sameLine = (firstLineEnd < 0 ? afterColon : afterColon.slice(0, firstLineEnd)).replace(/#.*$/, '').trim();
  let body: string;
  if (sameLine) body = sameLine;
  else {
    const following = firstLineEnd < 0 ? [] : afterColon.slice(firstLineEnd + 1).split('\n');
    const kept: string[] = [];
    for (const l of following) {
      if (l.trim() !== '' && l.length - l.trimStart().length <= indent) break;
      kept.push(l);
    }
    body = kept.join('\n');
  }
  // Imports inside a stub (HumanEval/115 has `import math` above its docstring) are no body either.
  const statements = body
    .replace(/^\s*(?:import\s+[\w., ]+|from\s+[\w.]+\s+import\s+[\w., ]+)$/gm, '')
    .replace(PY_DOCSTRING, '')
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '');
  return { line: at + 1, stub: statements.every((s) => PY_STUB_STATEMENT.test(s)) };
}

/** A `function name(`, or `const name = (…) => {`, of a script file, and whether its body is a stub. */
function scriptDefinition(content: string, name: string): { line: number; stub: boolean } | undefined {
  const n = name.replace(/\$/g, '\\$');
  const head = new RegExp(
    `\\bfunction\\s*\\*?\\s*${n}\\s*(?:<[^>(]*>)?\\s*\\(|\\b(?:const|let|var)\\s+${n}\\s*(?::[^=]+)?=\\s*(?:async\\s*)?(?:function\\s*)?\\(`,
  ).exec(content);
  if (!head) return undefined;
  const line = content.slice(0, head.index).split('\n').length;
  // The parameters, then the first `{` after them (an object return type reads as a body: conservative).
  let i = head.index + head[0].length;
  for (let depth = 1; i < content.length && depth > 0; i++) {
    if (content[i] === '(') depth++;
    else if (content[i] === ')') depth--;
  }
  const open = content.indexOf('{', i);
  if (open < 0 || /[;]/.test(content.slice(i, open))) return { line, stub: false };
  let close = open + 1;
  for (let depth = 1; close < content.length && depth > 0; close++) {
    if (content[close] === '{') depth++;
    else if (content[close] === '}') depth--;
  }
  const body = content
    .slice(open + 1, close - 1)
    .replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '')
    .trim();
  const stub =
    body === '' ||
    /^throw\s+new\s+Error\s*\(\s*(['"`])[^'"`]*(?:not\s+implemented|todo)[^'"`]*\1\s*\)\s*;?$/i.test(body);
  return { line, stub };
}

/**
 * How many parameters `text` defines `name` with, once per definition: `def f(a, b=(1, 2))` and
 * `function f<T>(a: Map<K, V>, b)` have 2. `self`, `cls` and Python's bare `*` and `/` markers are
 * not parameters. A definition whose parameter list does not close (within 2,000 characters) is skipped.
 */
export function parameterCounts(text: string, name: string): number[] {
  const n = name.replace(/\$/g, '\\$');
  const head = new RegExp(`\\b(?:def|function)\\s+${n}\\s*(?:<[^>(]*>)?\\s*\\(`, 'g');
  const counts: number[] = [];
  for (const m of text.slice(0, 100_000).matchAll(head)) {
    const parts: string[] = [];
    let depth = 0;
    let quote = '';
    let part = '';
    let closed = false;
    for (let i = m.index + m[0].length; i < text.length && i < m.index + 2_000; i++) {
      const c = text[i]!;
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = '';
      } else if (c === '"' || c === "'" || c === '`') quote = c;
      else if ('([{<'.includes(c)) depth++;
      else if (c === ')' && depth === 0) {
        closed = true;
        break;
      } else if (')]}>'.includes(c)) depth--;
      else if (c === ',' && depth === 0) {
        parts.push(part);
        part = '';
        continue;
      }
      part += c;
    }
    if (!closed) continue;
    parts.push(part);
    counts.push(
      parts.map((p) => p.trim()).filter((p) => p !== '' && !/^(?:self|cls|\*|\/)(?:\s*:.*)?$/.test(p)).length,
    );
  }
  return counts;
}

/**
 * The parameter count of each of `names` as `description` defines it (`def triangle_area(a, b, c)`):
 * only names defined there, and with one count.
 */
export function statedSignatures(description: string, names: readonly string[]): Record<string, number> {
  const stated: Record<string, number> = {};
  for (const name of names) {
    const counts = [...new Set(parameterCounts(description, name))];
    if (counts.length === 1) stated[name] = counts[0]!;
  }
  return stated;
}

/**
 * Whether `text` defines one of the `signatures`' functions with another number of parameters: a
 * same-named function of another task. Shown HumanEval/45's `triangle_area(a, h)` (½·a·h), the local
 * 1.5B model copied it into /71's `triangle_area(a, b, c)` (Heron's formula).
 */
export function definesOtherSignature(text: string, signatures: Record<string, number>): boolean {
  return Object.entries(signatures).some(([name, count]) => parameterCounts(text, name).some((c) => c !== count));
}
