import { parseJestJson } from '../../activities/test-runners/jest-json';
import { parseJUnit } from '../../activities/test-runners/junit';
import { declaresJest, findNodeTestFiles } from '../../activities/test-runners/node-runner';
import { finalReport } from '../../activities/test-runners/run-tests';
import type { RunnerPlan } from '../../activities/test-runners/runner-plan';
import { summarizeReport } from '../../activities/test-runners/test-report';
import type { SandboxExecution } from '../../activities/sandbox/run-in-sandbox';

const PYTEST_XML = `<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4" time="0.031"><testcase classname="test_calc" name="test_ok" time="0.001" /><testcase classname="test_calc" name="test_bad" time="0.010"><failure message="AssertionError: math is broken&#10;assert (1 + 2) == 4">def test_bad():
&gt;       assert 1 + 2 == 4, "math is broken"
E       AssertionError: math is broken

test_calc.py:5: AssertionError</failure></testcase><testcase classname="test_calc" name="test_skip" time="0.000"><skipped type="pytest.skip" message="later">skipped</skipped></testcase><testcase classname="" name="test_broken" time="0.000"><error message="collection failure">ImportError while importing test module
E   ModuleNotFoundError: No module named 'nope'</error></testcase></testsuite></testsuites>`;

const NODE_XML = `<?xml version="1.0" encoding="utf-8"?>
<testsuites>
	<testsuite name="math" time="0.004" disabled="0" errors="0" tests="2" failures="1" skipped="0" hostname="sandbox">
		<testcase name="adds" time="0.000648" classname="test"/>
		<testcase name="breaks &amp;quot;aaa&amp;quot; &amp; &lt;b>" time="0.001689" classname="test" failure="Expected values to be strictly equal:3 !== 4">
			<failure type="testCodeFailure" message="Expected values to be strictly equal:3 !== 4">
[Error [ERR_TEST_FAILURE]: Expected values to be strictly equal:
    at TestContext.&lt;anonymous> (/work/add.test.ts:5:31)
    at Test.runInAsyncScope (node:async_hooks:206:9)
    at Test.run (node:internal/test_runner/test:796:25)
			</failure>
		</testcase>
	</testsuite>
	<testcase name="top level" time="0.1" classname="test"><skipped type="skipped" message="todo"/></testcase>
	<!-- tests 3 -->
</testsuites>`;

describe('the JUnit parser', () => {
  it('reads pytest XML into passed, failed, errors and skipped with decoded messages and traces', () => {
    const report = parseJUnit(PYTEST_XML);
    expect(report).toMatchObject({ passed: 1, failed: 1, errors: 1, skipped: 1, durationMs: 11 });
    expect(report.failures[0]).toMatchObject({
      name: 'test_calc::test_bad',
      message: 'AssertionError: math is broken\nassert (1 + 2) == 4',
    });
    expect(report.failures[0]?.trace).toContain('test_calc.py:5: AssertionError');
    expect(report.failures[1]?.message).toBe("collection failure: ModuleNotFoundError: No module named 'nope'");
  });

  it("reads node's nested suites and top-level cases, dropping runner-internal stack frames", () => {
    const report = parseJUnit(NODE_XML);
    expect(report).toMatchObject({ passed: 1, failed: 1, errors: 0, skipped: 1 });
    // As the test's title reads in its source: node escapes a quote in it twice.
    expect(report.failures[0]?.name).toBe('breaks "aaa" & <b>');
    expect(report.failures[0]?.trace).toContain('/work/add.test.ts:5:31');
    expect(report.failures[0]?.trace).not.toContain('node:internal');
    expect(report.failures[0]?.trace).not.toContain('node:async_hooks');
  });

  it('throws on text that is not XML at all, so callers can fall back to the exit code', () => {
    expect(() => parseJUnit('<testsuites><testcase name="x"')).toThrow();
  });
});

describe('the jest JSON parser', () => {
  it('reads assertion results and a suite that failed to load', () => {
    const report = parseJestJson(
      JSON.stringify({
        testResults: [
          {
            name: '/work/a.test.ts',
            status: 'failed',
            startTime: 1000,
            endTime: 1250,
            assertionResults: [
              { fullName: 'adds', status: 'passed' },
              {
                fullName: 'adds wrongly',
                status: 'failed',
                failureMessages: [
                  'Error: \u001b[2mexpect(\u001b[22mreceived).toBe(expected)\n\nExpected: 4\nReceived: 3\n    at Object.<anonymous> (/work/a.test.ts:8:21)',
                ],
              },
              { fullName: 'later', status: 'pending' },
            ],
          },
          {
            name: '/work/b.test.ts',
            status: 'failed',
            message:
              "  \u001b[1m● \u001b[22mTest suite failed to run\n\n    Cannot find module './missing' from 'b.test.ts'",
            assertionResults: [],
          },
        ],
      }),
    );
    expect(report).toMatchObject({ passed: 1, failed: 1, errors: 1, skipped: 1, durationMs: 250 });
    expect(report.failures[0]).toMatchObject({
      name: 'adds wrongly',
      message: 'Error: expect(received).toBe(expected)\nExpected: 4\nReceived: 3',
    });
    // The reason, not jest's `● Test suite failed to run` header.
    expect(report.failures[1]).toMatchObject({
      name: '/work/b.test.ts',
      message: "Cannot find module './missing' from 'b.test.ts'",
    });
  });

  it("heads a node:assert failure with the assertion's own message, as jest prints it", () => {
    const report = parseJestJson(
      JSON.stringify({
        testResults: [
          {
            name: '/work/a.examples.test.js',
            status: 'failed',
            assertionResults: [
              {
                fullName: 'test_a_examples::test_example_1',
                status: 'failed',
                failureMessages: [
                  "assert(received)\n\nExpected value to be equal to:\n  true\nReceived:\n  false\n\nMessage:\n  f(1) returned 2; the task's example says 3\n    at Object.ok (/work/a.examples.test.js:4:10)",
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(report.failures[0]!.message).toBe("AssertionError: f(1) returned 2; the task's example says 3");
  });
});

describe('the final report of a run', () => {
  const GREEN = `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite><testcase classname="t" name="ok"/></testsuite></testsuites>`;
  const plan: RunnerPlan = { runner: 'pytest', command: [], reportFormat: 'junit', noTestsExitCode: 5 };
  const run = (exitCode: number, report?: string): SandboxExecution =>
    ({
      driver: 'bwrap',
      exitCode,
      signal: null,
      timedOut: false,
      outputTruncated: false,
      violations: [],
      stdout: Buffer.from(''),
      stderr: Buffer.from(''),
      report: report === undefined ? undefined : Buffer.from(report),
      durationMs: 5,
      cgroup: 'v1',
    }) as unknown as SandboxExecution;

  it('trusts a report only when the exit status agrees with it', () => {
    expect(finalReport(plan, run(0, GREEN))).toMatchObject({ passed: 1, failed: 0, errors: 0 });
    expect(finalReport(plan, run(0, PYTEST_XML)).failures[0]?.message).toMatch(
      /exited 0 but its report counts 2 failing: the exit status and the report disagree/,
    );
    const green = finalReport(plan, run(1, GREEN));
    expect(green.errors).toBe(1);
    expect(green.failures[0]?.message).toMatch(/exited with code 1 but its report has no failures/);
  });

  it('takes two documents on the report channel for no report at all', () => {
    const twice = finalReport(plan, run(0, `${GREEN}${GREEN}`));
    expect(twice).toMatchObject({ passed: 0, errors: 1 });
    expect(twice.failures[0]?.message).toMatch(/without one readable report/);
    expect(() => parseJUnit(`${GREEN}${GREEN}`)).toThrow(/not one well-formed JUnit document/);
  });
});

describe('the summary line', () => {
  it('names the counts and the first failure', () => {
    const summary = summarizeReport({
      passed: 3,
      failed: 1,
      errors: 0,
      skipped: 0,
      durationMs: 5,
      failures: [{ name: 'test_add', message: 'assert 3 == 4\nmore detail' }],
    });
    expect(summary).toBe('3 passed, 1 failed: test_add - assert 3 == 4');
  });
});

describe('node test discovery', () => {
  it('finds test files by convention and ignores declarations and node_modules', () => {
    const files = Object.fromEntries(
      [
        'src/a.ts',
        'src/a.test.ts',
        'test/b.ts',
        'lib/c.spec.mjs',
        'types.d.ts',
        'node_modules/x/y.test.js',
        'test_d.js',
      ].map((f) => [f, '']),
    );
    expect(findNodeTestFiles(files)).toEqual(['lib/c.spec.mjs', 'src/a.test.ts', 'test/b.ts', 'test_d.js']);
  });

  it('uses jest only when the job declares it', () => {
    expect(declaresJest({ 'a.test.ts': '' }).jest).toBe(false);
    expect(declaresJest({ 'package.json': '{"devDependencies":{"jest":"^30"}}' })).toEqual({
      jest: true,
      ownConfig: false,
    });
    expect(declaresJest({ 'package.json': '{"jest":{"testEnvironment":"node"}}' })).toEqual({
      jest: true,
      ownConfig: true,
    });
    expect(declaresJest({ 'jest.config.js': 'module.exports = {}' })).toEqual({ jest: true, ownConfig: true });
    expect(declaresJest({ 'package.json': 'not json' }).jest).toBe(false);
  });
});
