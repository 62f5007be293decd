/**
 * Changes to the lifecycle that running jobs replay: each is taken only where `patched()` says the
 * history was made by code that knew it (the replay tests over histories recorded before each change
 * prove it). Remove one with `deprecatePatch` once no job from before it can still be running.
 */
export const PATCHES = {
  /** Cancelling a job waits for the sandbox to kill the code and remove its workspace. */
  sandboxCancelWaits: 'sandbox-cancel-waits',
  /** Long loops continue as new between refactor rounds. */
  continueAsNew: 'continue-as-new-between-rounds',
  /**
   * The loop as real models need it: no tests is never green (tests are written again), the API the
   * task names must exist, the review judges failing tests against the task and the refactor fixes
   * the side it found wrong.
   */
  realModelLoop: 'real-model-loop',
  /**
   * The task's own examples rank a round first (a round that fails one is worse than any that passes
   * them all), and a loop whose last rewrites did no better than its best round stops there.
   */
  taskExamples: 'task-examples',
  /** A REVIEW job of a committed revision adds Codacy's findings, fetched on the llm pool. */
  codacyActivity: 'codacy-activity',
  /**
   * A job on a git repository: checked out at one commit first, a commit per accepted round on
   * `sophia/<job-id>`, and the patch, push and pull request at the end (workflows/coding-job/git.ts).
   */
  gitRepository: 'git-repository',
  /**
   * GENERATE writes up to `drafts` drafts of new code, each checked against the task's own examples
   * in the sandbox, and the job goes on with the draft that passes the most.
   */
  exampleDrafts: 'example-drafts',
  /** A linter's finding in a test file blocks nothing in a round whose tests ran green (but for TEST jobs). */
  greenTestLintAdvisory: 'green-test-lint-advisory',
  /**
   * Where the first round's examples all pass but the job's own tests fail, fresh drafts are run
   * against both before the tests are dropped, and one that passes them all replaces the code.
   */
  crossCheckDrafts: 'cross-check-drafts',
  /**
   * Where the first round is all green (examples and job tests), two fresh drafts that pass them too
   * are compared with the code on probes varied from the examples, and one that the answers agree
   * with more than the code replaces it.
   */
  probeDrafts: 'probe-drafts',
} as const;
