import { emptyReport, MAX_FAILURES, trimMessage, trimTrace, type TestReport } from './test-report';

interface JestAssertion {
  fullName?: string;
  title?: string;
  status: string;
  failureMessages?: string[];
  duration?: number | null;
}

interface JestJson {
  testResults?: {
    name?: string;
    status?: string;
    message?: string;
    assertionResults?: JestAssertion[];
    startTime?: number;
    endTime?: number;
  }[];
}

// Jest's failure messages carry ANSI colour codes even with colour off in some reporters.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** The assertion part of a jest failure: the lines before the stack trace. */
function headline(body: string): string {
  const lines = body.split('\n').filter((l) => l.trim());
  const stack = lines.findIndex((l) => /^\s+at /.test(l));
  return lines.slice(0, Math.min(stack === -1 ? 4 : stack, 4)).join('\n') || 'failed';
}

/** Parses `jest --json` output into a TestReport; a suite that failed to load counts as one error. */
export function parseJestJson(json: string): TestReport {
  const doc = JSON.parse(json) as JestJson;
  const report = emptyReport();
  for (const suite of doc.testResults ?? []) {
    if (suite.startTime && suite.endTime) report.durationMs += suite.endTime - suite.startTime;
    const assertions = suite.assertionResults ?? [];
    if (suite.status === 'failed' && assertions.length === 0) {
      report.errors += 1;
      const message = (suite.message ?? 'test suite failed to run').replace(ANSI, '');
      if (report.failures.length < MAX_FAILURES) {
        report.failures.push({
          name: suite.name ?? '(suite)',
          message: trimMessage(message.split('\n').find((l) => l.trim()) ?? message),
          trace: trimTrace(message),
        });
      }
      continue;
    }
    for (const a of assertions) {
      if (a.status === 'passed') report.passed += 1;
      else if (a.status === 'failed') {
        report.failed += 1;
        const body = (a.failureMessages ?? []).join('\n').replace(ANSI, '');
        if (report.failures.length < MAX_FAILURES) {
          report.failures.push({
            name: a.fullName ?? a.title ?? '(test)',
            message: trimMessage(headline(body)),
            trace: trimTrace(body),
          });
        }
      } else report.skipped += 1;
    }
  }
  return report;
}
