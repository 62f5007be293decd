/**
 * Which files are tests, by the naming conventions of the runners the sandbox runs: pytest's
 * (`test_*.py`, `*_test.py`, `conftest.py`) and node's/jest's (`*.test.ts`, `*.spec.js`…).
 * Workflow-safe: the lifecycle and the activities share this one rule.
 */
const TEST_FILE = /(^|\/)(test_[^/]*\.py|[^/]*_test\.py|conftest\.py|[^/]*\.(test|spec)\.[cm]?[jt]sx?)$/;

export function isTestPath(path: string): boolean {
  return TEST_FILE.test(path);
}
