/**
 * The examples a task states, as tests the job runs: `>>> f(2)` followed by `4` in a docstring, or
 * `f(2) == 4`, `f(2) ➞ 4`, `f(2) -> 4`, `f(2) returns 4`, `f(2) => true` and the worked
 * `f(2) -> 2 + 2 = 4` in prose, and, for a function the task defines, arguments stated apart from the
 * call (`Input: [4, 2, 3]` / `Output: [2, 1]`, `For lst = [1, 2] the output should be 5`). They are the user's own words about what the code must do, so they are the one part of a job's tests the model did not invent: they are
 * never rewritten to make a job pass, and when they fail, the code is wrong.
 *
 * Only examples whose call names the task's API and whose arguments and expected value are plain
 * literals of the task's language are taken; anything else (printed output, a prose value, an
 * exception) is left to the model's tests. Pure functions; Python (pytest) and TypeScript/JavaScript
 * (node's test runner, or jest when the job's files use it).
 */

/** Whose literals an example is read in: Python's, or JavaScript's (TypeScript too). */
export type ExampleSyntax = 'python' | 'js';

/** The syntax a job language's examples are read in, or undefined when they are not read. */
export function exampleSyntaxOf(language: string): ExampleSyntax | undefined {
  if (language === 'python') return 'python';
  return language === 'typescript' || language === 'javascript' ? 'js' : undefined;
}

/** One example: the expression to evaluate and the value the task says it gives. */
export interface TaskExample {
  call: string;
  expected: string;
}

/**
 * The file the examples are written to, beside the job's own test file: `test_<stem>_examples.py`
 * beside `test_<stem>.py`, `<stem>.examples.test.ts` beside `<stem>.test.ts`.
 */
export function examplesPathFor(testPath: string): string {
  return /\.py$/.test(testPath)
    ? testPath.replace(/\.py$/, '_examples.py')
    : testPath.replace(/\.(test|spec)\.([cm]?[jt]sx?)$/, '.examples.$1.$2');
}

/** Whether a path is an examples file this module writes. */
export function isExamplesPath(path: string): boolean {
  return /(^|\/)test_[^/]*_examples\.py$/.test(path) || /\.examples\.(test|spec)\.[cm]?[jt]sx?$/.test(path);
}

/**
 * Whether a failing test's name is one of the task's examples (`test_x_examples::test_example_2`),
 * or the examples file itself, which failed to load (`/work/x.examples.test.ts` under jest or node).
 */
export function isExampleFailure(name: string): boolean {
  return /(^|[./])test_\w*_examples(::|\.py|$)/.test(name) || /\.examples\.(test|spec)\.[cm]?[jt]sx?$/.test(name);
}

/** The failing tests' names in a failures text of `- name: message` lines (a name may hold spaces, as node's and jest's do). */
export function failingTestNames(failures: string): string[] {
  return [...failures.matchAll(/^- (\S(?:[^\n]*?\S)?): /gm)].map((m) => m[1]!);
}

/**
 * A TypeScript/JavaScript test file without the `test(…)`/`it(…)` calls whose failure names them
 * (node names a test by its title, jest by its describe titles and its own), or undefined when one
 * of them is not found, or is not safe to cut out (a template literal in it), and the file cannot
 * be pruned that way.
 */
export function withoutFailingNodeTests(content: string, failing: readonly string[]): string | undefined {
  const cuts: [number, number][] = [];
  const found = new Set<string>();
  for (const m of content.matchAll(/(?<![\w.$])(?:test|it)(?:\.only)?\s*\(\s*(['"])/g)) {
    const open = m.index + m[0].lastIndexOf('(');
    const quote = m.index + m[0].length - 1;
    const end = stringEnd(content, quote);
    if (end < 0) continue;
    const title = content.slice(quote + 1, end).replace(/\\(['"\\])/g, '$1');
    const names = failing.filter((n) => n === title || n.endsWith(` ${title}`) || n.endsWith(`> ${title}`));
    if (names.length === 0) continue;
    const close = matchingParen(content, open);
    if (close < 0 || content.slice(m.index, close).includes('`')) return undefined;
    // The whole statement, with its own line(s): from the line's start to the end of the line the call ends on.
    const start = content.lastIndexOf('\n', m.index - 1) + 1;
    if (content.slice(start, m.index).trim()) return undefined;
    const after = /^;?[ \t]*(\r?\n|$)/.exec(content.slice(close + 1));
    if (!after) return undefined;
    cuts.push([start, close + 1 + after[0].length]);
    for (const n of names) found.add(n);
  }
  if (failing.some((n) => !found.has(n))) return undefined;
  let kept = content;
  for (const [from, to] of cuts.reverse()) kept = kept.slice(0, from) + kept.slice(to);
  return kept.replace(/\n{3,}/g, '\n\n');
}

/**
 * A Python test file without the test functions whose failure names it (`test_x::test_y`), or
 * undefined when one of them is not a top-level function of this file (a method, a collection error
 * of the whole file) and the file cannot be pruned that way.
 */
export function withoutFailingTests(path: string, content: string, failing: readonly string[]): string | undefined {
  const stem = path.replace(/^.*\//, '').replace(/\.py$/, '');
  const mine = failing.filter(
    (n) => n === stem || n.endsWith(`.${stem}`) || n.split('::')[0]!.split('.').pop() === stem,
  );
  if (mine.length === 0) return content;
  const functions = new Set<string>();
  for (const name of mine) {
    const parts = name.split('::');
    if (parts.length !== 2) return undefined;
    functions.add(parts[1]!.replace(/\[.*$/, ''));
  }
  const lines = content.split('\n');
  const kept: string[] = [];
  let dropping = false;
  let decorators: string[] = [];
  for (const line of lines) {
    const topLevel = /^\S/.test(line) && !line.startsWith('#');
    if (topLevel) {
      const def = /^(?:async\s+)?def\s+(\w+)\s*\(/.exec(line);
      if (line.startsWith('@')) {
        decorators.push(line);
        continue;
      }
      dropping = def !== null && functions.has(def[1]!);
      if (def && dropping) functions.delete(def[1]!);
      if (!dropping) kept.push(...decorators);
      decorators = [];
    }
    if (!dropping) kept.push(line);
  }
  if (functions.size > 0) return undefined;
  return kept.join('\n').replace(/\n{4,}/g, '\n\n\n');
}

/**
 * A pytest file with each test function of several plain `assert`s split into one test per assert
 * (`test_area` → `test_area_1`, `test_area_2`…, each name new to the file), each keeping every other statement of the body in
 * its place. A small model puts a right and a wrong assert in one function, and pytest stops at the
 * first that fails: split, each is judged on its own. Functions with decorators, compound
 * statements (`for`, `if`, `with`…) or a single assert are left as they are. Undefined when nothing
 * is split.
 */
export function oneTestPerAssert(content: string): string | undefined {
  const lines = content.split('\n');
  // A name the file already defines (`test_area_1` beside `test_area`) gets a `_` more: Python keeps
  // the last definition of a name, and one test would hide the other.
  const taken = new Set([...content.matchAll(/^\s*(?:async\s+)?def\s+(\w+)/gm)].map((m) => m[1]!));
  const out: string[] = [];
  let split = false;
  for (let i = 0; i < lines.length; i++) {
    const def = /^def (test_\w*)(\(.*\):)\s*$/.exec(lines[i]!);
    if (!def || (i > 0 && /^@/.test(lines[i - 1]!))) {
      out.push(lines[i]!);
      continue;
    }
    let end = i + 1;
    while (end < lines.length && (!lines[end]!.trim() || /^\s/.test(lines[end]!))) end++;
    while (end > i + 1 && !lines[end - 1]!.trim()) end--;
    const statements = bodyStatements(lines.slice(i + 1, end));
    const asserts = statements?.filter((s) => /^\s*assert\b/.test(s[0]!)).length ?? 0;
    if (!statements || asserts < 2) {
      out.push(...lines.slice(i, end));
      i = end - 1;
      continue;
    }
    let n = 0;
    for (let k = 0; k < statements.length; k++) {
      if (!/^\s*assert\b/.test(statements[k]![0]!)) continue;
      n++;
      if (n > 1) out.push('', '');
      let name = `${def[1]}_${n}`;
      while (taken.has(name)) name += '_';
      taken.add(name);
      out.push(`def ${name}${def[2]}`);
      for (const [j, s] of statements.entries()) if (j === k || !/^\s*assert\b/.test(s[0]!)) out.push(...s);
    }
    split = true;
    i = end - 1;
  }
  return split ? out.join('\n') : undefined;
}

/** A function body's statements (each with its continuation lines), or undefined when one is compound. */
function bodyStatements(body: readonly string[]): string[][] | undefined {
  const indent = /^(\s+)\S/.exec(body.find((l) => l.trim()) ?? '')?.[1];
  if (!indent) return undefined;
  const statements: string[][] = [];
  for (const line of body) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    if (line.startsWith(indent) && !/^\s/.test(line.slice(indent.length))) {
      const code = line.trim();
      if (/^(for|while|if|elif|else|with|try|except|finally|def|class|async|return|yield|raise|@)\b/.test(code))
        return undefined;
      if (/:\s*(#.*)?$/.test(code) && !/[([{,]\s*$/.test(code)) return undefined;
      statements.push([line]);
    } else if (statements.length && line.startsWith(indent)) statements[statements.length - 1]!.push(line);
    else return undefined;
  }
  return statements;
}

const ARROWS =
  /^\s*(?:(?:#|\/\/)\s*(?:returns?|==>|->|=>)|==>|===|==|➞|→|->|=>|returns|should return|should be|gives)\s*/;

/**
 * The task's examples for calls of `names`, in order, without duplicates (at most `max`), with their
 * calls and values in `syntax`'s literals.
 */
export function taskExamples(
  description: string,
  names: readonly string[],
  max = 12,
  syntax: ExampleSyntax = 'python',
): TaskExample[] {
  if (names.length === 0) return [];
  const examples: TaskExample[] = [];
  const seen = new Set<string>();
  const add = (call: string, expected: string) => {
    const value = cleanValue(expected, syntax);
    if (value === undefined || !isExampleCall(call, names, syntax) || seen.has(call)) return;
    seen.add(call);
    examples.push({ call, expected: value });
  };
  const lines = description.slice(0, 40_000).split('\n');
  const fn = definedParameters(description, names);
  for (let i = 0; i < lines.length && examples.length < max; i++) {
    const line = lines[i]!;
    const stated = fn && statedExample(lines, i, fn);
    if (stated) {
      if (stated.call) add(stated.call, stated.expected);
      i = stated.next;
      continue;
    }
    const doctest = /^\s*>>>\s?(.*)$/.exec(line);
    if (doctest) {
      // The expression, with `...` continuation lines; then the output up to a blank line, the next
      // prompt or the docstring's end.
      let expr = doctest[1]!.trim();
      let j = i + 1;
      while (j < lines.length && /^\s*\.\.\.(\s|$)/.test(lines[j]!))
        expr += ' ' + lines[j++]!.replace(/^\s*\.\.\.\s*/, '');
      expr = withoutComment(expr);
      const out: string[] = [];
      while (j < lines.length && lines[j]!.trim() && !/^\s*>>>/.test(lines[j]!) && !/"""|'''|```/.test(lines[j]!)) {
        out.push(lines[j++]!.trim());
      }
      i = j - 1;
      if (out.length) add(expr, out.join(' '));
      else {
        // `>>> f(2) == 4` or `>>> f(2) ➞ 4` on one line.
        const inline = splitCallAndValue(expr, names);
        if (inline) add(inline.call, inline.expected);
      }
      continue;
    }
    for (const found of callsWithValues(line, names)) add(found.call, found.expected);
  }
  return examples.slice(0, max);
}

/** The longest prose example read. */
const EXAMPLE_CHARS = 2_000;

/**
 * The parameters of the one function of `names` the description defines (`def f(a, b):`, or
 * `function f(a, b)`), for examples that state only the arguments (`Input: [4, 2, 3]`). Undefined
 * when none or several are defined, or a parameter has a default or is variadic: then a call cannot
 * be told from its arguments alone.
 */
function definedParameters(
  description: string,
  names: readonly string[],
): { name: string; params: string[] } | undefined {
  const found: { name: string; params: string[] }[] = [];
  for (const name of names) {
    const m = new RegExp(
      `(?:^|\\n)\\s*(?:def|(?:export\\s+)?(?:async\\s+)?function)\\s+${escape(name)}\\s*\\(([^)]{0,400})\\)`,
    ).exec(description.slice(0, 40_000));
    if (!m) continue;
    const parts = topLevelParts(m[1]!);
    if (parts === undefined) return undefined;
    const params: string[] = [];
    for (const part of parts) {
      const p = /^([A-Za-z_$][\w$]*)\s*(?::[^=]*)?$/.exec(part);
      if (!p) return undefined;
      if (p[1] !== 'self') params.push(p[1]!);
    }
    found.push({ name, params });
  }
  return found.length === 1 && found[0]!.params.length > 0 ? found[0] : undefined;
}

/** `text` split at its top-level commas, each part trimmed (none empty); undefined when unbalanced. */
function topLevelParts(text: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const end = stringEnd(text, i);
      if (end < 0) return undefined;
      i = end;
    } else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c) && --depth < 0) return undefined;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (depth !== 0) return undefined;
  const last = text.slice(start).trim();
  if (last) parts.push(last);
  return parts.every(Boolean) ? parts : undefined;
}

/**
 * The call that arguments stated on their own make: `[4, 2, 3]` for a function of one parameter, or
 * `grid = [[1, 2]], k = 3` naming every parameter in order. Undefined otherwise (`1, 2` for one
 * parameter, or names that are not the function's).
 */
function callFromArguments(fn: { name: string; params: string[] }, text: string): string | undefined {
  const parts = topLevelParts(text.trim());
  if (!parts || parts.length === 0) return undefined;
  const named = parts.map((p) => /^([A-Za-z_$][\w$]*)\s*[=:]\s*([\s\S]+)$/.exec(p));
  if (named.every((m) => m !== null)) {
    if (named.length !== fn.params.length || named.some((m, i) => m![1] !== fn.params[i])) return undefined;
    return `${fn.name}(${named.map((m) => m![2]!.trim()).join(', ')})`;
  }
  return fn.params.length === 1 && parts.length === 1 ? `${fn.name}(${parts[0]})` : undefined;
}

/**
 * Examples that state the arguments and the value apart: `Input: [4,2,3]` then, within the next
 * lines, `Output: [2, 1]`; or `For lst = [1, 2] the output should be 5`. Undefined when `lines[i]`
 * starts neither.
 */
function statedExample(
  lines: readonly string[],
  i: number,
  fn: { name: string; params: string[] },
): { call?: string; expected: string; next: number } | undefined {
  const line = lines[i]!.slice(0, EXAMPLE_CHARS);
  const input = /^\s*Input\s*:\s*(\S.*)$/.exec(line);
  if (input) {
    for (let j = i + 1; j < Math.min(lines.length, i + 4); j++) {
      if (/^\s*Input\s*:/.test(lines[j]!)) break;
      const output = /^\s*Output\s*:\s*(\S.*)$/.exec(lines[j]!.slice(0, EXAMPLE_CHARS));
      if (output) return { call: callFromArguments(fn, input[1]!), expected: valuePrefix(output[1]!), next: j };
    }
    return undefined;
  }
  const prose = /^\s*For\s+(\S.*?)\s+the output should be\s+(\S.*)$/i.exec(line);
  if (prose) return { call: callFromArguments(fn, prose[1]!), expected: valuePrefix(prose[2]!), next: i };
  return undefined;
}

/** `f(2) == 4`-style examples in a line of prose. */
function callsWithValues(line: string, names: readonly string[]): TaskExample[] {
  const found: TaskExample[] = [];
  for (const name of names) {
    const re = new RegExp(`(?<![\\w.])${escape(name)}\\s*\\(`, 'g');
    for (const m of line.matchAll(re)) {
      // An example is a line of prose, not a page: the window bounds the work a hostile line costs.
      const rest = line.slice(m.index, m.index + EXAMPLE_CHARS);
      const split = splitCallAndValue(rest, [name]);
      if (split) found.push(split);
    }
  }
  return found;
}

/** Splits `name(args) <arrow> value…` at the call's closing parenthesis. */
function splitCallAndValue(text: string, names: readonly string[]): TaskExample | undefined {
  const start = /^\s*([A-Za-z_]\w*)\s*\(/.exec(text);
  if (!start || !names.includes(start[1]!)) return undefined;
  const close = matchingParen(text, text.indexOf('('));
  if (close < 0) return undefined;
  const arrow = ARROWS.exec(text.slice(close + 1));
  if (!arrow) return undefined;
  let after = text.slice(close + 1 + arrow[0].length);
  // A worked example, `f(x) -> 19 - 5 - 6 = 8`, gives the value after its sum, when the sum is right.
  // Bounded, so a hostile line costs no more than a short one.
  const worked = /^\s*([^=]{1,120})=(?!=)/.exec(after.slice(0, 160));
  if (worked && /^[-+*/().\d\s]*\d[-+*/().\d\s]*$/.test(worked[1]!)) {
    const sum = arithmetic(worked[1]!);
    const value = Number(valuePrefix(after.slice(worked[0].length)));
    if (sum === undefined || !Number.isFinite(value) || Math.abs(sum - value) > 1e-9) return undefined;
    after = after.slice(worked[0].length);
  }
  const expected = valuePrefix(after);
  // `f(x) -> 19 - 5` is arithmetic with no value, and `== ""abc"` a typo: neither is a value to test.
  const rest = after.trimStart().slice(expected.length);
  if (!/^($|[\s,.;:)\]])/.test(rest) || /^\s*[-+*/=%<>]/.test(rest)) return undefined;
  return { call: text.slice(0, close + 1).trim(), expected };
}

/** The index of the parenthesis that closes the one at `open`, skipping strings; -1 when none. */
function matchingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const end = stringEnd(text, i);
      if (end < 0) return -1;
      i = end;
    } else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c) && --depth === 0) return i;
  }
  return -1;
}

function stringEnd(text: string, start: number): number {
  const quote = text[start]!;
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

/** The literal at the start of `text`: a bracketed or quoted value, or a word up to a space or a comma. */
function valuePrefix(text: string): string {
  const t = text.trimStart();
  const first = t[0];
  if (first === undefined) return '';
  if ('([{'.includes(first)) {
    const end = matchingParen(t, 0);
    return end < 0 ? '' : t.slice(0, end + 1);
  }
  if (first === '"' || first === "'") {
    const end = stringEnd(t, 0);
    return end < 0 ? '' : t.slice(0, end + 1);
  }
  return /^[^\s,;]+/.exec(t)?.[0]?.replace(/\.$/, '') ?? '';
}

/** The expected value as a literal of `syntax`, or undefined when it is not one. */
function cleanValue(text: string, syntax: ExampleSyntax): string | undefined {
  const value = text.trim().replace(/[,;]$/, '');
  // Prose says `=> true`; Python says True, JavaScript true.
  if (/^(true|false)$/i.test(value))
    return syntax === 'python' ? value[0]!.toUpperCase() + value.slice(1).toLowerCase() : value.toLowerCase();
  return value && isLiteral(value, syntax) ? value : undefined;
}

/** The value of a sum of numbers (`+ - * /` and parentheses), or undefined when it is not one. */
function arithmetic(text: string): number | undefined {
  const tokens = text.match(/\d+(?:\.\d+)?|\.\d+|[-+*/()]|\S/g) ?? [];
  let at = 0;
  const primary = (): number | undefined => {
    const t = tokens[at++];
    if (t === '-') {
      const v = primary();
      return v === undefined ? undefined : -v;
    }
    if (t === '(') {
      const v = sum();
      return tokens[at++] === ')' ? v : undefined;
    }
    return t !== undefined && /^[\d.]/.test(t) ? Number(t) : undefined;
  };
  const product = (): number | undefined => {
    let v = primary();
    while (v !== undefined && (tokens[at] === '*' || tokens[at] === '/')) {
      const op = tokens[at++];
      const r = primary();
      v = r === undefined ? undefined : op === '*' ? v * r : v / r;
    }
    return v;
  };
  const sum = (): number | undefined => {
    let v = product();
    while (v !== undefined && (tokens[at] === '+' || tokens[at] === '-')) {
      const op = tokens[at++];
      const r = product();
      v = r === undefined ? undefined : op === '+' ? v + r : v - r;
    }
    return v;
  };
  const value = sum();
  return at === tokens.length ? value : undefined;
}

/** Builtins whose value on a literal call is still a value to test: `round(find_zero([1, 2]), 2)`. */
const WRAPPERS = new Set(['round', 'sorted', 'list', 'tuple', 'set', 'len', 'abs', 'str', 'int', 'float', 'bool']);

/**
 * A literal call of one of `names`, or one wrapped in a builtin above whose other arguments are
 * literals (HumanEval/32's examples are all `round(find_zero([…]), 2)`).
 */
function isExampleCall(call: string, names: readonly string[], syntax: ExampleSyntax): boolean {
  if (isLiteralCall(call, names, syntax)) return true;
  if (syntax !== 'python') return false;
  const t = call.trim();
  const wrapper = /^([A-Za-z_]\w*)\s*\(/.exec(t);
  if (!wrapper || !WRAPPERS.has(wrapper[1]!) || matchingParen(t, t.indexOf('(')) !== t.length - 1) return false;
  const args = t.slice(t.indexOf('(') + 1, -1).trim();
  const inner = /^([A-Za-z_]\w*)\s*\(/.exec(args);
  if (!inner || !names.includes(inner[1]!)) return false;
  const innerEnd = matchingParen(args, args.indexOf('('));
  if (innerEnd < 0 || !isLiteralCall(args.slice(0, innerEnd + 1), names, syntax)) return false;
  const rest = args.slice(innerEnd + 1).trim();
  return rest === '' || (rest.startsWith(',') && isLiteral(rest.slice(1).trim(), syntax));
}

/** An expression without its trailing `# comment` (a `#` inside a string is kept). */
function withoutComment(expr: string): string {
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (c === '"' || c === "'") {
      const end = stringEnd(expr, i);
      if (end < 0) return expr;
      i = end;
    } else if (c === '#') return expr.slice(0, i).trim();
  }
  return expr;
}

/** A call of one of `names` whose arguments are literals (no names, no statements). */
function isLiteralCall(call: string, names: readonly string[], syntax: ExampleSyntax): boolean {
  const m = /^([A-Za-z_]\w*)\s*\(([\s\S]*)\)$/.exec(call.trim());
  if (!m || !names.includes(m[1]!)) return false;
  if (matchingParen(call.trim(), call.trim().indexOf('(')) !== call.trim().length - 1) return false;
  return m[2]!.trim() === '' || isLiteral(m[2]!, syntax);
}

/**
 * Python: numbers, strings, True/False/None and brackets of them (what `ast.literal_eval` reads).
 * JavaScript: numbers, strings, true/false/null/undefined, arrays and objects of them (keys quoted
 * or plain names); no parentheses, which would make `(1, 2)` a comma expression.
 */
function isLiteral(text: string, syntax: ExampleSyntax): boolean {
  let rest = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const end = stringEnd(text, i);
      if (end < 0) return false;
      rest += ' 0 ';
      i = end;
    } else rest += c;
  }
  const words = syntax === 'python' ? /\b(True|False|None)\b/g : /\b(true|false|null|undefined)\b/g;
  let bare = rest.replace(words, ' 0 ').replace(/\b\d+(\.\d*)?([eE][+-]?\d+)?\b|\.\d+\b/g, ' 0 ');
  if (syntax === 'js') bare = bare.replace(/([{,]\s*)[A-Za-z_$][\w$]*(\s*:)/g, '$1 0 $2');
  const allowed = syntax === 'python' ? /^[\s0\-+.,:[\](){}]*$/ : /^[\s0\-+.,:[\]{}]*$/;
  if (!allowed.test(bare) || !bare.trim()) return false;
  let depth = 0;
  for (const c of bare) {
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c) && --depth < 0) return false;
  }
  return depth === 0;
}

function escape(name: string): string {
  return name.replace(/[$]/g, '\\$');
}

/**
 * A pytest file that checks each example: equal values, floats within 1e-6, and a list never equal
 * to a tuple (as `==` says). Its failure message shows the call, what it returned and what the task
 * says.
 */
export function examplesTestFile(examples: readonly TaskExample[], importLine: string): string {
  const tests = examples.map(
    (e, i) =>
      `def test_example_${i + 1}():\n` +
      `    result = ${e.call}\n` +
      `    expected = ${e.expected}\n` +
      `    assert _same(result, expected), f"${pyEscape(e.call)} returned {result!r}; the task's example says {expected!r}"\n`,
  );
  return (
    `"""The task's own examples, as tests. Written by Sophia Code from the task; never rewritten to make a job pass."""\n` +
    `import math\n\n${importLine}\n\n\n` +
    'def _same(a, b):\n' +
    '    if isinstance(a, float) or isinstance(b, float):\n' +
    '        try:\n' +
    '            return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)\n' +
    '        except TypeError:\n' +
    '            return False\n' +
    '    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):\n' +
    '        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))\n' +
    '    return a == b\n\n\n' +
    tests.join('\n\n')
  );
}

/**
 * The same checks as a TypeScript/JavaScript test file, for node's test runner or jest (whose files
 * import `@jest/globals`): equal values, numbers within 1e-6, arrays and plain objects compared
 * deeply. A promise is awaited. Test names read as the pytest file's (`test_<stem>_examples::
 * test_example_1`), so a failure is known for the task's example whatever runs it.
 */
export function nodeExamplesTestFile(
  examples: readonly TaskExample[],
  importLine: string,
  options: { stem: string; typescript: boolean; jest: boolean },
): string {
  const t = (annotation: string) => (options.typescript ? annotation : '');
  // A word, as the pytest file's names are: `run-lengths` is `test_run_lengths_examples`.
  const stem = options.stem.replace(/\W/g, '_');
  const tests = examples.map(
    (e, i) =>
      `test(${JSON.stringify(`test_${stem}_examples::test_example_${i + 1}`)}, async () => {\n` +
      `  const result${t(': unknown')} = await ${e.call};\n` +
      `  const expected${t(': unknown')} = ${e.expected};\n` +
      `  assert.ok(\n` +
      `    same(result, expected),\n` +
      `    ${JSON.stringify(`${e.call} returned `)} + show(result) + "; the task's example says " + show(expected),\n` +
      `  );\n` +
      `});\n`,
  );
  const record = options.typescript ? ' as Record<string, unknown>' : '';
  const runner = options.jest ? '@jest/globals' : 'node:test';
  // In the module system of the line that imports the code: a CommonJS module's tests require.
  const imports = /^const\s/.test(importLine)
    ? `const assert = require('node:assert/strict');\nconst { test } = require('${runner}');\n`
    : `import assert from 'node:assert/strict';\nimport { test } from '${runner}';\n`;
  return (
    `// The task's own examples, as tests. Written by Sophia Code from the task; never rewritten to make a job pass.\n` +
    imports +
    `${importLine}\n\n` +
    `function same(a${t(': unknown')}, b${t(': unknown')})${t(': boolean')} {\n` +
    `  if (typeof a === 'number' && typeof b === 'number')\n` +
    `    return Object.is(a, b) || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));\n` +
    `  if (Array.isArray(a) || Array.isArray(b))\n` +
    `    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));\n` +
    `  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {\n` +
    `    const ka = Object.keys(a);\n` +
    `    return (\n` +
    `      ka.length === Object.keys(b).length &&\n` +
    `      ka.every((k) => same((a${record})[k], (b${record})[k]))\n` +
    `    );\n` +
    `  }\n` +
    `  return Object.is(a, b);\n` +
    `}\n\n` +
    `function show(value${t(': unknown')})${t(': string')} {\n` +
    `  return value === undefined ? 'undefined' : JSON.stringify(value);\n` +
    `}\n\n` +
    tests.join('\n')
  );
}

/** Escapes text for a Python f-string literal in double quotes. */
function pyEscape(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\{/g, '{{').replace(/\}/g, '}}').replace(/\n/g, ' ');
}
