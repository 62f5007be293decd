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
