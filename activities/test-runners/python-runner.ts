import { REPORT_PLACEHOLDER } from '../sandbox/run-in-sandbox';
import { requirePytest, toolchainMissing } from '../sandbox/toolchains';
import type { RunnerPlan } from './runner-plan';

/**
 * pytest, quiet, without its cache (the workspace is thrown away) and with JUnit XML for the report.
 * A test file that does not load fails as itself while the other files' tests still run: one broken
 * file must not hide what the rest show.
 */
export const PYTEST_COMMAND = [
  'python',
  '-m',
  'pytest',
  '-q',
  '--continue-on-collection-errors',
  '-p',
  'no:cacheprovider',
  '--color=no',
  '-o',
  'junit_family=xunit2',
  `--junitxml=${REPORT_PLACEHOLDER}`,
];

/** Plans a pytest run; fails with ToolchainMissing before starting a sandbox when pytest is absent. */
export async function planPytest(testCommand?: string[]): Promise<RunnerPlan> {
  await requirePytest();
  return {
    runner: 'pytest',
    command: testCommand ?? PYTEST_COMMAND,
    reportFormat: 'junit',
    missingToolchain: (output) =>
      /No module named pytest/.test(output)
        ? toolchainMissing(
            'pytest (inside the sandbox)',
            'Check that .tools/pip holds pytest and that the sandbox binds it.',
          )
        : undefined,
    // pytest's exit code 5: collection found nothing to run.
    noTestsExitCode: 5,
  };
}
