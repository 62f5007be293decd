import { isTestPath } from '../../common/test-files';
import { findNodeTestFiles } from '../../activities/test-runners/node-runner';

describe('the one test-file rule', () => {
  it.each([
    'test_slugify.py',
    'pkg/test_slugify.py',
    'slugify_test.py',
    'conftest.py',
    'tests/conftest.py',
    'src/a.test.ts',
    'lib/c.spec.mjs',
    'test/b.ts',
    'tests/helpers.js',
    '__tests__/x.tsx',
    'test_d.js',
    'test-e.cjs',
  ])('%s is a test', (path) => expect(isTestPath(path)).toBe(true));

  it.each([
    'slugify.py',
    'tests/helpers.py',
    'contest.py',
    'testing.py',
    'src/latest.ts',
    'types.d.ts',
    'test/types.d.ts',
    'node_modules/x/y.test.js',
    'README.md',
    'test_notes.txt',
  ])('%s is not a test', (path) => expect(isTestPath(path)).toBe(false));

  it('is the rule the node runner finds its test files by: only scripts, sorted', () => {
    const files = Object.fromEntries(['test_a.py', 'src/z.test.ts', 'src/a.ts', 'test/b.mjs'].map((f) => [f, '']));
    expect(findNodeTestFiles(files)).toEqual(['src/z.test.ts', 'test/b.mjs']);
  });
});
