import { mentionsAny } from '../../activities/memory';

describe('whether a memory uses a name the task gives', () => {
  test('matches whole identifiers only', () => {
    expect(mentionsAny('def fib(n):\n    return fib(n - 1) + fib(n - 2)', ['fib'])).toBe(true);
    expect(mentionsAny('def fib4(n):\n    return fib4(n - 1)', ['fib'])).toBe(false);
    expect(mentionsAny('def triples_sum_to_zero(l):', ['pairs_sum_to_zero'])).toBe(false);
    expect(mentionsAny('x = my_fib(3); fib_cache = {}', ['fib'])).toBe(false);
    expect(mentionsAny('from calc import add\nassert add(1, 2) == 3', ['sub', 'add'])).toBe(true);
  });

  test('takes TypeScript names with a dollar sign literally', () => {
    expect(mentionsAny('export const $el = (s: string) => s;', ['$el'])).toBe(true);
    expect(mentionsAny('export const el = 1; const a$el = 2;', ['$el'])).toBe(false);
  });
});
