import { normaliseFindings, summarizeFindings, type Finding } from '../../activities/analysis/finding';
import { parseRuffJson, ruffSeverity } from '../../activities/analysis/ruff';
import { codacySeverity } from '../../activities/analysis/codacy-client';

const f = (partial: Partial<Finding>): Finding => ({
  tool: 'ruff',
  rule: 'F401',
  severity: 'warning',
  file: 'a.py',
  line: 1,
  message: 'm',
  ...partial,
});

describe('finding normalisation', () => {
  it('sorts by file, line and severity, strips ./ prefixes and drops exact duplicates', () => {
    const out = normaliseFindings([
      f({ file: 'b.py', line: 2 }),
      f({ file: './a.py', line: 9, severity: 'info', rule: 'D100' }),
      f({ file: 'a.py', line: 9, severity: 'error', rule: 'F821' }),
      f({ file: 'b.py', line: 2 }),
    ]);
    expect(out.map((x) => `${x.file}:${x.line}:${x.rule}`)).toEqual(['a.py:9:F821', 'a.py:9:D100', 'b.py:2:F401']);
  });

  it('summarises counts per severity and leads with the worst finding', () => {
    const summary = summarizeFindings(
      [
        f({ line: 1, message: 'unused' }),
        f({ line: 3, severity: 'error', rule: 'F821', message: 'Undefined name `x`' }),
        f({ severity: 'info', rule: 'D100' }),
      ],
      ['ruff', 'eslint'],
    );
    expect(summary).toBe(
      '3 findings (1 error, 1 warning, 1 info) from ruff, eslint; first: a.py:3 F821 Undefined name `x`',
    );
    expect(summarizeFindings([], ['eslint'])).toBe('no findings from eslint');
  });
});

describe('severity mapping', () => {
  it('rates ruff syntax errors and pyflakes undefined names as errors, docs and upgrades as info', () => {
    expect(ruffSeverity(null)).toBe('error');
    expect(ruffSeverity('invalid-syntax')).toBe('error');
    expect(ruffSeverity('F821')).toBe('error');
    expect(ruffSeverity('E999')).toBe('error');
    expect(ruffSeverity('F401')).toBe('warning');
    expect(ruffSeverity('S307')).toBe('warning');
    expect(ruffSeverity('D103')).toBe('info');
    expect(ruffSeverity('UP006')).toBe('info');
  });

  it("maps Codacy's Error/High, Warning and Info levels", () => {
    expect(['Error', 'High', 'Warning', 'Info'].map(codacySeverity)).toEqual(['error', 'error', 'warning', 'info']);
  });

  it('reads ruff JSON paths relative to the sandbox workspace, with the fix title as suggestion', () => {
    const [finding] = parseRuffJson(
      JSON.stringify([
        {
          code: 'F401',
          message: '`os` imported but unused',
          filename: '/work/pkg/a.py',
          location: { row: 3, column: 8 },
          fix: { message: 'Remove unused import: `os`' },
          url: 'https://docs.astral.sh/ruff/rules/unused-import',
        },
      ]),
    );
    expect(finding).toEqual({
      tool: 'ruff',
      rule: 'F401',
      severity: 'warning',
      file: 'pkg/a.py',
      line: 3,
      message: '`os` imported but unused',
      suggestion: 'Remove unused import: `os`',
    });
  });
});
