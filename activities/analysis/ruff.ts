import { PYTHON_TEST_GLOBS } from '../../common/test-files';
import { executeSandboxed, REPORT_PLACEHOLDER } from '../sandbox/run-in-sandbox';
import { SANDBOX_WORKDIR } from '../sandbox/bwrap-args';
import type { FileMap } from '../artifacts';
import type { Finding, Severity } from './finding';

export type Ruleset = 'default' | 'docs';

/**
 * pyflakes and pycodestyle errors, bugbear, bandit (security) and pyupgrade by default; `docs` adds
 * pydocstyle with the Google convention and flake8-annotations (missing type hints on parameters and
 * returns; ANN401, "no Any", is left out: Any is sometimes the honest type). Explicit, so a job's own
 * pyproject cannot switch rules off.
 */
export const RUFF_RULES: Record<Ruleset, string[]> = {
  default: ['E4', 'E7', 'E9', 'F', 'W', 'B', 'S', 'UP'],
  docs: ['E4', 'E7', 'E9', 'F', 'W', 'B', 'S', 'UP', 'D', 'ANN0', 'ANN2'],
};

/**
 * Rules that do not apply to test files: pytest is built on `assert` (S101), and test functions need
 * neither docstrings nor annotations. Without this a DOCUMENT job that brings its own tests could never
 * finish: the refactor rewrites only the code, never the tests, so their D findings would block forever.
 */
export const RUFF_TEST_FILE_IGNORES = ['S101', 'D', 'ANN'];

function perFileIgnores(): string {
  const codes = RUFF_TEST_FILE_IGNORES.map((c) => `"${c}"`).join(', ');
  return `lint.per-file-ignores = { ${PYTHON_TEST_GLOBS.map((g) => `"${g}" = [${codes}]`).join(', ')} }`;
}

interface RuffDiagnostic {
  code: string | null;
  message: string;
  filename: string;
  location: { row: number; column: number } | null;
  fix: { message: string | null } | null;
  url?: string | null;
}

/** Ruff has no severities of its own; these say how much a finding should block a review. */
export function ruffSeverity(code: string | null): Severity {
  // Syntax errors come as code null (older ruff) or `invalid-syntax`: anything that is not a rule code.
  if (code === null || !/^[A-Z]+[0-9]+$/.test(code)) return 'error';
  if (/^(E9|F8[0-9]{2}|F63|F7|B0(06|08|18|23))/.test(code)) return 'error';
  if (/^(D|UP)/.test(code)) return 'info';
  return 'warning';
}

function relative(file: string): string {
  const prefix = `${SANDBOX_WORKDIR}/`;
  if (file.startsWith(prefix)) return file.slice(prefix.length);
  // The process driver runs in a host staging dir: keep the part after it.
  return file.replace(/^.*\/sophia-sbx-[^/]+\//, '');
}

/** Maps ruff's JSON output to findings. */
export function parseRuffJson(json: string): Finding[] {
  const diagnostics = JSON.parse(json) as RuffDiagnostic[];
  return diagnostics.map((d) => ({
    tool: 'ruff',
    rule: d.code ?? 'syntax-error',
    severity: ruffSeverity(d.code),
    file: relative(d.filename),
    line: d.location?.row ?? 0,
    message: d.message,
    ...(d.fix?.message ? { suggestion: d.fix.message } : d.url ? { suggestion: `See ${d.url}` } : {}),
  }));
}

/** Runs the pinned ruff over the Python files inside the sandbox (ruff never executes the code, but the sandbox costs ~10 ms and keeps the rule simple). */
export async function runRuff(files: FileMap, ruleset: Ruleset, timeoutMs?: number): Promise<Finding[]> {
  const run = await executeSandboxed({
    files,
    language: 'python',
    needs: { pip: true },
    timeoutMs,
    command: [
      'ruff',
      'check',
      '--isolated',
      '--no-cache',
      '--exit-zero',
      '--output-format',
      'json',
      '--output-file',
      REPORT_PLACEHOLDER,
      '--select',
      RUFF_RULES[ruleset].join(','),
      '--config',
      'lint.pydocstyle.convention="google"',
      '--config',
      perFileIgnores(),
      '.',
    ],
  });
  if (!run.report || run.exitCode !== 0) {
    const why = run.violations.length ? run.violations.join(', ') : `exit code ${String(run.exitCode)}`;
    throw new Error(`ruff did not produce a report (${why}): ${run.stderr.subarray(-1000).toString('utf8')}`);
  }
  return parseRuffJson(run.report.toString('utf8'));
}
