import { analyzeCode } from '../../activities/analysis';
import { artifactStore } from '../../activities/artifacts';
import { resetConfig } from '../../common/config';
import { CODACY_TOKEN, startFakeCodacy } from '../support/codacy-server';

/** Real ruff (in the sandbox) and real ESLint; Codacy through its recorded responses. */

const PY = [
  'import os',
  '',
  '',
  'def evaluate(expr):',
  '    if expr == None:',
  '        return 0',
  '    return eval(expr) + undefined_total',
  '',
].join('\n');

const TS = [
  "import fs from 'node:fs';",
  '',
  'export function add(a: any, b: number): number {',
  '  var unused = 1;',
  '  // eslint-disable-next-line',
  '  return eval(`${a} + ${b}`);',
  '}',
  '',
].join('\n');

describe('analyzeCode', () => {
  it('returns ruff findings for Python in the normalised shape, sorted by line', async () => {
    const files = await artifactStore().putFiles({ 'calc.py': PY });
    const result = await analyzeCode({ files, language: 'python' });
    expect(result.tools).toEqual(['ruff']);
    const rules = result.findings.map((f) => `${f.line}:${f.rule}:${f.severity}`);
    expect(rules).toEqual(['1:F401:warning', '5:E711:warning', '7:F821:error', '7:S307:warning']);
    expect(result.findings[0]).toEqual({
      tool: 'ruff',
      rule: 'F401',
      severity: 'warning',
      file: 'calc.py',
      line: 1,
      message: '`os` imported but unused',
      suggestion: 'Remove unused import: `os`',
    });
    expect(result.summary).toBe(
      '4 findings (1 error, 3 warnings) from ruff; first: calc.py:7 F821 Undefined name `undefined_total`',
    );
    const report = await artifactStore().getJson<{ findings: unknown[]; counts: Record<string, number> }>(
      result.report,
    );
    expect(report.counts).toEqual({ error: 1, warning: 3, info: 0 });
  });

  it('adds pydocstyle findings with the docs ruleset', async () => {
    const files = await artifactStore().putFiles({ 'calc.py': PY });
    const result = await analyzeCode({ files, language: 'python', ruleset: 'docs' });
    expect(result.findings.filter((f) => f.rule.startsWith('D')).map((f) => f.rule)).toEqual(['D100', 'D103']);
    expect(result.findings.find((f) => f.rule === 'D103')?.severity).toBe('info');
  });

  it('reports missing type hints with the docs ruleset, and spares pytest files docstrings, annotations and S101', async () => {
    const untyped = 'def area(width, height):\n    return width * height\n';
    const test = 'from shapes import area\n\n\ndef test_area():\n    assert area(2, 3) == 6\n';
    const files = await artifactStore().putFiles({
      'shapes.py': untyped,
      'test_shapes.py': test,
      'pkg/area_test.py': test,
    });
    const docs = await analyzeCode({ files, language: 'python', ruleset: 'docs' });
    expect(docs.findings.map((f) => `${f.file}:${f.line}:${f.rule}`)).toEqual([
      // The docs ruleset also asks for a README naming the documented code.
      'README.md:0:readme/missing',
      'shapes.py:1:ANN001',
      'shapes.py:1:ANN001',
      'shapes.py:1:ANN201',
      'shapes.py:1:D100',
      'shapes.py:1:D103',
    ]);
    const plain = await analyzeCode({ files, language: 'python' });
    expect(plain.findings).toEqual([]);
    expect(plain.summary).toBe('no findings from ruff');
  });

  it('returns ESLint findings for TypeScript and ignores inline eslint-disable comments', async () => {
    const files = await artifactStore().putFiles({ 'src/add.ts': TS });
    const result = await analyzeCode({ files, language: 'typescript' });
    expect(result.tools).toEqual(['eslint']);
    expect(result.findings.map((f) => `${f.line}:${f.rule}:${f.severity}`)).toEqual([
      '1:@typescript-eslint/no-unused-vars:warning',
      '3:@typescript-eslint/no-explicit-any:warning',
      '4:@typescript-eslint/no-unused-vars:warning',
      '4:no-var:warning',
      '6:no-eval:error',
    ]);
    expect(result.findings.every((f) => f.tool === 'eslint' && f.file === 'src/add.ts')).toBe(true);
  });

  it('adds jsdoc/require-jsdoc for exported functions with the docs ruleset', async () => {
    const files = await artifactStore().putFiles({ 'src/ok.js': 'export function twice(x) {\n  return x * 2;\n}\n' });
    const plain = await analyzeCode({ files, language: 'javascript' });
    const docs = await analyzeCode({ files, language: 'javascript', ruleset: 'docs' });
    expect(plain.findings).toEqual([]);
    expect(plain.summary).toBe('no findings from eslint');
    expect(docs.findings).toEqual([
      expect.objectContaining({ tool: 'readme', rule: 'readme/missing', severity: 'error', file: 'README.md' }),
      expect.objectContaining({
        tool: 'eslint',
        rule: 'jsdoc/require-jsdoc',
        severity: 'info',
        file: 'src/ok.js',
        line: 1,
      }),
    ]);
    expect(docs.tools).toEqual(['eslint', 'readme']);
  });

  it('reports a syntax error as an error finding instead of failing', async () => {
    const files = await artifactStore().putFiles({ 'bad.py': 'def broken(:\n    pass\n', 'bad.ts': 'const x = ;\n' });
    const result = await analyzeCode({ files, language: 'python' });
    expect(result.tools).toEqual(['ruff', 'eslint']);
    expect(result.findings.filter((f) => f.severity === 'error').map((f) => `${f.tool}:${f.file}`)).toEqual(
      expect.arrayContaining(['ruff:bad.py', 'eslint:bad.ts']),
    );
  });

  it('merges the Codacy findings it is given, and never calls Codacy itself, even where a token is set', async () => {
    const fake = await startFakeCodacy();
    const saved = { ...process.env };
    Object.assign(process.env, { CODACY_API_TOKEN: CODACY_TOKEN, CODACY_BASE_URL: fake.baseUrl });
    resetConfig();
    try {
      const files = await artifactStore().putFiles({ 'calc.py': PY });
      const codacyFindings = await artifactStore().putJson([
        { tool: 'codacy/Bandit', rule: 'Bandit_B307', severity: 'error', file: 'calc.py', line: 7, message: 'eval' },
      ]);
      const result = await analyzeCode({ files, language: 'python', codacyFindings });
      expect(result.tools).toEqual(['ruff', 'codacy']);
      expect(
        result.findings.filter((f) => f.tool.startsWith('codacy/')).map((f) => `${f.file}:${f.line}:${f.rule}`),
      ).toEqual(['calc.py:7:Bandit_B307']);
      expect((await analyzeCode({ files, language: 'python' })).tools).toEqual(['ruff']);
      expect(fake.requests).toEqual([]);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      resetConfig();
      await fake.close();
    }
  });
});
