/**
 * Static-analysis activities of the sandbox task queue. Only activity functions are exported as
 * values: the sandbox worker registers every export.
 */
import { analyzeCodeFiles, type AnalyzeCodeInput, type AnalyzeCodeResult } from './analysis/analyze-code';

export type { AnalyzeCodeInput, AnalyzeCodeResult } from './analysis/analyze-code';
export type { Finding, Ruleset, Severity } from './analysis/finding';

/**
 * Analyses a job's files: ruff (pinned, run in the bwrap sandbox) over Python files, ESLint (our own
 * config, in memory, inline `eslint-disable` ignored) over JS/TS files, hadolint (pinned) over
 * Dockerfiles, the Kubernetes JSON schemas of ANALYSIS_KUBERNETES_VERSION (strict, in process) over
 * Kubernetes manifests, plus the Codacy findings `fetchCodacyFindings` stored (`codacyFindings`).
 * Findings come back in one normalised, sorted shape, with the full report in the artifact store.
 * This pool never calls Codacy: it runs generated code and holds no Codacy token.
 *
 * Idempotent: the same files, ruleset and Codacy findings give the same findings. Timeouts: local
 * analysis takes well under a few seconds; it heartbeats between analyzers. Failures:
 * `ToolchainMissing` (no ruff, hadolint or Kubernetes schemas), `SandboxUnavailable`, `InvalidInput`.
 */
export async function analyzeCode(input: AnalyzeCodeInput): Promise<AnalyzeCodeResult> {
  return analyzeCodeFiles(input);
}
