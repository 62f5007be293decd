import {
  definesName,
  definesOtherSignature,
  missingNames,
  namedApis,
  parameterCounts,
  statedSignatures,
  stubbedNames,
  suggestedModulePath,
} from '../../common/task-names';

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

describe('a named API left as a stub', () => {
  // HumanEval/32 on the local 1.5B model: `find_zero` came back as its docstring alone, beside a
  // written `poly`, and the job's own tests (all on `poly`) passed.
  const findZero =
    'import math\n\n\ndef poly(xs: list, x: float):\n    """\n    Evaluates polynomial with coefficients xs at point x.\n    """\n' +
    '    return sum([coeff * math.pow(x, i) for i, coeff in enumerate(xs)])\n\n\n' +
    'def find_zero(xs: list):\n    """ xs are coefficients of a polynomial.\n    find_zero find x such that poly(x) = 0.\n' +
    '    >>> round(find_zero([1, 2]), 2) # f(x) = 1 + 2x\n    -0.5\n    """\n';

  test('finds a Python function whose body is only its docstring, and where it is', () => {
    expect(stubbedNames({ 'find_zero.py': findZero }, ['poly', 'find_zero'])).toEqual([
      { name: 'find_zero', path: 'find_zero.py', line: 11 },
    ]);
  });

  test('reads pass, ellipsis, NotImplementedError and one-line stubs as stubs', () => {
    const stubs = {
      'a.py': 'def a(x):\n    pass\n',
      'b.py': 'def b(x) -> int: ...\n',
      'c.py':
        "def c(\n    x: dict[str, int] = {},\n) -> list[int]:\n    '''Doc.'''\n    # to do\n    raise NotImplementedError('c')\n",
      'd.py': 'async def d():\n    """Doc."""\n\n    ...\n\nx = 1\n',
    };
    expect(stubbedNames(stubs, ['a', 'b', 'c', 'd']).map((s) => s.name)).toEqual(['a', 'b', 'c', 'd']);
  });

  test('a body, a later real definition, an abstract method or an unreadable signature is no stub', () => {
    const files = {
      'a.py': 'def a(x):\n    """Doc."""\n    return x + 1\n',
      'b.py': 'def b(x):\n    """Doc."""\n\n\ndef b(x):\n    return x\n',
      'c.py': 'class C:\n    @abstractmethod\n    def c(self):\n        ...\n',
      'd.py': 'def d(x) -> int: return x\n',
      'e.py': 'def e(x:\n',
    };
    expect(stubbedNames(files, ['a', 'b', 'c', 'd', 'e'])).toEqual([]);
    // Defined as a stub in one file and with a body in another: implemented.
    expect(stubbedNames({ 'x.py': 'def a(x):\n    pass\n', 'y.py': 'def a(x):\n    return 1\n' }, ['a'])).toEqual([]);
    // Not defined at all is missingNames' business.
    expect(stubbedNames({ 'x.py': 'def other():\n    pass\n' }, ['a'])).toEqual([]);
  });

  test('reads TypeScript and JavaScript stubs', () => {
    const files = {
      'chunk.ts': 'export function chunk<T>(xs: T[], size: number): T[][] {\n  // TODO\n}\n',
      'slug.js': "export const slugify = (text) => {\n  throw new Error('Not implemented');\n};\n",
      'add.ts': 'export function add(a: number, b: number): number {\n  return a + b;\n}\n',
      'sub.ts':
        "export function sub(a: number, b: number): number {\n  if (a < 0) throw new Error('negative');\n  return a - b;\n}\n",
    };
    expect(stubbedNames(files, ['chunk', 'slugify', 'add', 'sub'])).toEqual([
      { name: 'chunk', path: 'chunk.ts', line: 1 },
      { name: 'slugify', path: 'slug.js', line: 1 },
    ]);
  });
});

describe('the signature a task states, and memories that define another', () => {
  test('counts parameters, not commas inside types, defaults or strings', () => {
    expect(parameterCounts('def triangle_area(a, h):\n    return a * h / 2', 'triangle_area')).toEqual([2]);
    expect(
      parameterCounts(
        'def f(pairs: List[Tuple[int, int]], sep: str = ", ", limit=(1, 2), *args, **kwargs) -> Dict[str, int]:',
        'f',
      ),
    ).toEqual([5]);
    expect(parameterCounts('class C:\n    def m(self, x, /, *, y):\n        pass', 'm')).toEqual([2]);
    expect(parameterCounts('def none():\n    pass\ndef none(a,):\n    pass', 'none')).toEqual([0, 1]);
    expect(parameterCounts('export function chunk<T>(xs: Map<string, T>, size: number): T[][] {}', 'chunk')).toEqual([
      2,
    ]);
    // Not a definition of `f`, or one that never closes.
    expect(parameterCounts('f(1, 2)\ndef ff(a):\ndef f(a, b', 'f')).toEqual([]);
  });

  test('a task states a signature only for a name it defines one way', () => {
    const task = 'def triangle_area(a, b, c):\n    """Heron.\n    triangle_area(3, 4, 5) == 6.00\n    """\n';
    expect(statedSignatures(task, ['triangle_area'])).toEqual({ triangle_area: 3 });
    expect(statedSignatures('a slugify(text) function', ['slugify'])).toEqual({});
    expect(statedSignatures('def f(a):\n    pass\ndef f(a, b):\n    pass', ['f'])).toEqual({});
  });

  test("another task's same-named function is another signature; the same task's is not", () => {
    const heron = { triangle_area: 3 };
    const fromTask45 =
      'Task: def triangle_area(a, h):\nFile: triangle_area.py\ndef triangle_area(a, h):\n    return 0.5 * a * h';
    expect(definesOtherSignature(fromTask45, heron)).toBe(true);
    // Parameter names may differ (a model renames them); the count is the signature.
    expect(definesOtherSignature('def triangle_area(x, y, z):\n    s = (x + y + z) / 2', heron)).toBe(false);
    // A memory that only calls the name defines nothing to compare.
    expect(definesOtherSignature('print(triangle_area(3, 4))', heron)).toBe(false);
    expect(definesOtherSignature(fromTask45, {})).toBe(false);
  });
});
