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

/**
 * The assertion part of a jest failure: the lines before the stack trace. Jest shows a node:assert
 * failure as `assert(received)` and the values compared, then the assertion's own `Message:`, which
 * is what the test meant to say: that message is the headline.
 */
function headline(body: string): string {
  const own = /^Message:\n((?:[ \t]+\S.*(?:\n|$))+)/m.exec(body);
  const said = own?.[1]!.split('\n').filter((l) => l.trim() && !/^\s+at /.test(l));
  if (said?.length) return `AssertionError: ${said.map((l) => l.trim()).join('\n')}`;
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
      // Jest heads the reason with `● Test suite failed to run`, which says nothing the count does not.
      const message =
        (suite.message ?? '')
          .replace(ANSI, '')
          .replace(/^\s*●\s*Test suite failed to run\s*$/m, '')
          .trim() || 'test suite failed to run';
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
