/**
 * Which files are tests: the one rule the lifecycle, the test runners and the analyzers share.
 * Workflow-safe (no imports), so the workflow's decisions and the activities' agree.
 *
 * - Python, pytest's default discovery: `test_*.py`, `*_test.py`, and `conftest.py`.
 * - JavaScript/TypeScript, the usual conventions of node --test and jest: `*.test.ts`, `*.spec.mjs`…,
 *   anything under `test/`, `tests/` or `__tests__/`, and `test-*.js` / `test_*.js`; never a
 *   declaration file (`.d.ts`) nor anything under `node_modules/`.
 */
export const PYTHON_TEST_GLOBS = ['test_*.py', '*_test.py', 'conftest.py'];

const PYTHON_TEST = /(^|\/)(test_[^/]*|[^/]*_test|conftest)\.py$/;
const SCRIPT_TEST =
  /(^|\/)(__tests__|tests?)\/.+\.[cm]?[jt]sx?$|\.(test|spec)\.[cm]?[jt]sx?$|(^|\/)test[-_][^/]*\.[cm]?[jt]sx?$/;

export function isTestPath(path: string): boolean {
  if (PYTHON_TEST.test(path)) return true;
  return SCRIPT_TEST.test(path) && !path.endsWith('.d.ts') && !path.split('/').includes('node_modules');
}
