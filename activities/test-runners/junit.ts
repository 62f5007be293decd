import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { emptyReport, MAX_FAILURES, trimMessage, trimTrace, type TestReport } from './test-report';

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => ['testsuite', 'testcase', 'failure', 'error', 'skipped'].includes(name),
});

/** pytest encodes newlines in attributes as numeric references, which the parser leaves alone. */
function decodeNumericEntities(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#([0-9]+);/g, (_, dec: string) => String.fromCodePoint(parseInt(dec, 10)));
}

function attr(node: XmlNode, name: string): string | undefined {
  const value = node[`@_${name}`];
  return value === undefined ? undefined : decodeNumericEntities(String(value));
}

function text(node: unknown): string {
  if (typeof node === 'string') return decodeNumericEntities(node);
  if (node && typeof node === 'object') return decodeNumericEntities(String((node as XmlNode)['#text'] ?? ''));
  return '';
}

function children(node: XmlNode, name: string): XmlNode[] {
  const value = node[name];
  return Array.isArray(value)
    ? (value.map((v) => (typeof v === 'object' && v !== null ? v : { '#text': v })) as XmlNode[])
    : [];
}

function collectCases(node: XmlNode, out: XmlNode[]): void {
  out.push(...children(node, 'testcase'));
  for (const suite of children(node, 'testsuite')) collectCases(suite, out);
}

function caseName(testcase: XmlNode): string {
  const name = attr(testcase, 'name') ?? '(unnamed)';
  const classname = attr(testcase, 'classname');
  // node's runner puts "test" in classname for every case; it adds nothing. It also escapes a quote
  // in a name twice (`&amp;quot;`), so the test's title reads as written only after a second decode.
  if (classname === 'test') return name.replace(/&quot;/g, '"').replace(/&apos;|&#39;/g, "'");
  return classname ? `${classname}::${name}` : name;
}

/** The attribute message, made specific with pytest's first `E ` line when it is generic ("collection failure"). */
function messageOf(attribute: string | undefined, body: string): string {
  const explanation = /^E\s+(.+)$/m.exec(body)?.[1]?.trim();
  if (!attribute) return explanation ?? body.split('\n')[0] ?? 'failed';
  return explanation && !attribute.includes(explanation) ? `${attribute}: ${explanation}` : attribute;
}

/**
 * Parses JUnit XML as written by pytest (`--junitxml`) and by node's test runner
 * (`--test-reporter=junit`) into a TestReport. Testcases may sit in nested suites or directly
 * under the root; a case with `<failure>` counts as failed, `<error>` as an error, `<skipped>` as skipped.
 * Throws on anything but one well-formed document: two reports on one channel (one of them forged)
 * are no report.
 */
export function parseJUnit(xml: string): TestReport {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`not one well-formed JUnit document: ${valid.err.msg}`);
  const doc = parser.parse(xml) as XmlNode;
  const root = (doc.testsuites ?? doc) as XmlNode;
  const cases: XmlNode[] = [];
  collectCases(typeof root === 'object' ? root : {}, cases);
  const report = emptyReport();
  let seconds = 0;
  for (const testcase of cases) {
    seconds += Number(attr(testcase, 'time') ?? 0) || 0;
    const failure = children(testcase, 'failure')[0];
    const error = children(testcase, 'error')[0];
    const problem = failure ?? error;
    if (problem) {
      if (failure) report.failed += 1;
      else report.errors += 1;
      if (report.failures.length < MAX_FAILURES) {
        const body = text(problem);
        report.failures.push({
          name: caseName(testcase),
          message: trimMessage(messageOf(attr(problem, 'message'), body)),
          trace: trimTrace(body),
        });
      }
    } else if (children(testcase, 'skipped').length > 0) {
      report.skipped += 1;
    } else {
      report.passed += 1;
    }
  }
  report.durationMs = Math.round(seconds * 1000);
  return report;
}
