import { definesName, missingNames, namedApis, suggestedModulePath } from '../../common/task-names';

describe('the API a task names', () => {
  it('reads a call written in prose, skipping builtins and prose words', () => {
    expect(namedApis('a slugify(text) function: lowercase, ASCII only, e.g(this) and len(x) are not names')).toEqual([
      'slugify',
    ]);
  });

  it('takes a written-out signature as the API, not the calls in its docstring or the prose around it', () => {
    const prompt =
      'from typing import List\n\n\ndef below_zero(operations: List[int]) -> bool:\n' +
      '    """ at that point function should return True.\n    >>> below_zero([1, 2, -4, 5])\n    True\n    >>> sum([1])\n    """\n';
    expect(namedApis(prompt)).toEqual(['below_zero']);
  });

  it('reads classes, backticked names and "a function named x"', () => {
    expect(namedApis('class ProfileStore: keeps profiles')).toEqual(['ProfileStore']);
    expect(namedApis('add a `parse_config` helper')).toEqual(['parse_config']);
    expect(namedApis('write a function named top_items that ranks')).toEqual(['top_items']);
  });

  it('reads TypeScript type parameters, and no comparison as a call', () => {
    expect(namedApis('a function chunk<T>(items: T[], size: number): T[][] that splits an array')).toEqual(['chunk']);
    expect(namedApis('export function groupBy<T, K extends string>(xs: T[], key: (x: T) => K) {')).toEqual(['groupBy']);
    expect(namedApis('a class LruCache<K, V> { get(key) … }')).toEqual(['LruCache']);
    expect(namedApis('true when a<b(c) holds')).toEqual([]);
  });

  it('names nothing for a task in plain words, or a parenthesis after a space', () => {
    expect(
      namedApis('Create a user-profile CRUD API: profiles (username, email, bio), validation errors as 422'),
    ).toEqual([]);
  });

  it('finds a definition in Python and TypeScript, and not a mere call or a longer name', () => {
    expect(definesName('import re\n\ndef slugify(text):\n    return text\n', 'slugify', 'slug.py')).toBe(true);
    expect(definesName('print(slugify("a"))\n', 'slugify', 'x.py')).toBe(false);
    expect(definesName('def slugify_all(x):\n    pass\n', 'slugify', 'x.py')).toBe(false);
    expect(definesName('export function paginate(items: T[]) {\n}\n', 'paginate', 'p.ts')).toBe(true);
    expect(definesName('export const paginate = (items) => items;\n', 'paginate', 'p.js')).toBe(true);
    expect(missingNames({ 'a.py': 'def f():\n    pass\n', 'test_a.py': 'def g():\n    pass\n' }, ['f', 'h'])).toEqual([
      'h',
    ]);
  });

  it('suggests a module file after the first name', () => {
    expect(suggestedModulePath(['parseConfig'], 'python')).toBe('parse_config.py');
    expect(suggestedModulePath(['parseConfig'], 'typescript')).toBe('parse-config.ts');
    expect(suggestedModulePath([], 'javascript')).toBe('main.js');
  });
});
