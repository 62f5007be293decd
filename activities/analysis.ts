/**
 * Static-analysis activities of the sandbox task queue. Only activity functions are exported as
 * values: the sandbox worker registers every export.
 */
import { analyzeCodeFiles, type AnalyzeCodeInput, type AnalyzeCodeResult } from './analysis/analyze-code';

export type { AnalyzeCodeInput, AnalyzeCodeResult } from './analysis/analyze-code';
export type { Finding, Ruleset, Severity } from './analysis/finding';
export type { CodacyQuery } from './analysis/codacy';

/**
 * Analyses a job's files: ruff (pinned, run in the bwrap sandbox) over Python files, ESLint (our own
 * config, in memory, inline `eslint-disable` ignored) over JS/TS files, hadolint (pinned) over
 * Dockerfiles, the Kubernetes JSON schemas of ANALYSIS_KUBERNETES_VERSION (strict, in process) over
 * Kubernetes manifests, and Codacy's issues for the job's files when CODACY_API_TOKEN,
 * CODACY_PROVIDER, CODACY_ORGANIZATION and CODACY_REPOSITORY are set. Findings come back in one
 * normalised, sorted shape, with the full report in the artifact store.
 *
 * Idempotent: the same files and ruleset give the same findings (Codacy's answer can change as
 * Codacy re-analyses). Timeouts: local analysis takes well under a few seconds; Codacy requests time
 * out after 30 s each with up to 4 attempts, so allow a `startToCloseTimeout` of 3 min and a
 * `heartbeatTimeout` ≥ 60 s. Failures: `ToolchainMissing` (no ruff, hadolint or Kubernetes schemas), `SandboxUnavailable`,
 * `CodacyConfig` (token or coordinates rejected, not retried), `DependencyUnavailable` (Codacy down
 * after retries, retryable), `InvalidInput`.
 */
export async function analyzeCode(input: AnalyzeCodeInput): Promise<AnalyzeCodeResult> {
  return analyzeCodeFiles(input);
}
