import type { ApplicationFailure } from '@temporalio/common';

/** How one test runner is invoked in the sandbox and how its results are read back. */
export interface RunnerPlan {
  runner: 'pytest' | 'node-test' | 'jest' | 'custom';
  command: string[];
  /** What the command writes to the `{report}` path. */
  reportFormat: 'junit' | 'jest-json';
  /** Recognises output that means the toolchain itself is missing inside the sandbox. */
  missingToolchain?: (output: string) => ApplicationFailure | undefined;
  /** The runner's exit code for "no tests found", if it has one. */
  noTestsExitCode?: number;
  /** Set when there is nothing to run at all; the runner is not started. */
  noTests?: string;
}
