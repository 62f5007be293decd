/** One failing (or erroring) test. */
export interface TestFailure {
  name: string;
  message: string;
  /** Trimmed: the last lines of the trace, which is where the assertion is. */
  trace?: string;
}

/** The one shape every runner's results are parsed into. */
export interface TestReport {
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  durationMs: number;
  failures: TestFailure[];
}

export const MAX_FAILURES = 50;
const MAX_TRACE_CHARS = 2_000;
const MAX_MESSAGE_CHARS = 500;

/** Keeps the tail of a trace: where the assertion and the failing line are. */
export function trimTrace(trace: string | undefined): string | undefined {
  const text = trace?.trim();
  if (!text) return undefined;
  // Runner internals say nothing about the user's failure.
  const lines = text.split('\n').filter((l) => !/\(node:(internal|async_hooks)/.test(l));
  const tail = lines.slice(-30).join('\n');
  return tail.length > MAX_TRACE_CHARS ? `…${tail.slice(-MAX_TRACE_CHARS)}` : tail;
}

export function trimMessage(message: string): string {
  const text = message.trim();
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

export function emptyReport(durationMs = 0): TestReport {
  return { passed: 0, failed: 0, errors: 0, skipped: 0, durationMs, failures: [] };
}

/** "3 passed, 1 failed: test_add - assert 3 == 4", the line people read in logs and the Web UI. */
export function summarizeReport(report: TestReport, notes: string[] = []): string {
  const counts = [
    `${report.passed} passed`,
    ...(report.failed ? [`${report.failed} failed`] : []),
    ...(report.errors ? [`${report.errors} errors`] : []),
    ...(report.skipped ? [`${report.skipped} skipped`] : []),
  ].join(', ');
  const first = report.failures[0];
  const firstLine = first ? `: ${first.name} - ${first.message.split('\n')[0] ?? ''}` : '';
  const suffix = notes.length ? ` (${notes.join('; ')})` : '';
  return `${counts}${firstLine}${suffix}`.slice(0, 400);
}
