import { FAILURES, isFailureType } from '../../common/failures';
import type { CodingJobStatus, IterationRecord, Phase } from './definitions';
import { oneLine } from './policy';

/** How a failure message names the step that failed. */
export const STEP_NAMES: Record<Phase, string> = {
  QUEUED: 'Storing the input',
  GENERATE: 'Generating code',
  WRITE_TESTS: 'Writing tests',
  RUN_TESTS: 'Running the tests',
  REVIEW: 'Reviewing',
  REFACTOR: 'Refactoring',
  AWAITING_APPROVAL: 'Waiting for approval',
  DONE: 'Finishing',
  FAILED: 'Finishing',
  CANCELLED: 'Cancelling',
};

/**
 * What the Web UI shows as the job's current details: where it stands, in a few Markdown lines,
 * so nobody has to read the JSON of an activity to know.
 */
export function detailsFor(
  status: CodingJobStatus,
  maxIterations: number,
  iterations: readonly IterationRecord[],
  failedType?: string,
): string {
  const lines = [
    `**${status.phase}** · iteration ${status.iteration} of at most ${maxIterations}${status.run && status.run > 1 ? ` · run ${status.run}` : ''}`,
    status.message,
  ];
  if (status.lastTests) lines.push(`**Last tests:** ${status.lastTests.summary}`);
  const findings = [...iterations].reverse().find((i) => i.findings)?.findings;
  if (findings) {
    lines.push(`**Last review:** ${findings.summary}`);
    for (const f of (findings.items ?? []).filter((i) => i.blocking).slice(0, 5)) {
      lines.push(`- ${f.file}:${f.line} [${f.source}] ${oneLine(f.message, 160)}`);
    }
  }
  lines.push(`**Usage:** ${status.usage.totalTokens} tokens, $${status.usage.costUsd.toFixed(4)}`);
  if (failedType && isFailureType(failedType)) {
    lines.push(
      `**Failure type:** ${failedType}. **What to do:** ${FAILURES[failedType].hint} A retry resumes from this step; finished steps are not redone.`,
    );
  }
  return lines.join('\n\n');
}
