/**
 * Which rules run. `docs` adds ruff's pydocstyle and ESLint's jsdoc rules; `deploy` makes what the
 * deploy prompt asks of a Dockerfile and Kubernetes manifests (resources, probes, a non-root user, a
 * HEALTHCHECK) blocking errors instead of warnings. Deploy artefacts are checked under every ruleset.
 */
export type Ruleset = 'default' | 'docs' | 'deploy';

/** How bad a finding is, across every analyzer. */
export type Severity = 'error' | 'warning' | 'info';

/** One analyzer finding in the shape shared by ruff, ESLint and Codacy. */
export interface Finding {
  /** `ruff`, `eslint`, or `codacy/<tool>` for what Codacy ran. */
  tool: string;
  rule: string;
  severity: Severity;
  /** Path relative to the job's root, with forward slashes. */
  file: string;
  /** 1-based; 0 when the finding is about the whole file. */
  line: number;
  message: string;
  /** What to change, when the analyzer says (a fix title, a suggestion). */
  suggestion?: string;
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Sorted by file, line, severity and rule, without exact duplicates: stable input gives a stable report. */
export function normaliseFindings(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const f of findings) {
    const key = JSON.stringify([f.tool, f.rule, f.file, f.line, f.message]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...f, file: f.file.replace(/\\/g, '/').replace(/^\.?\//, ''), line: Math.max(0, Math.trunc(f.line)) });
  }
  return out.sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      a.tool.localeCompare(b.tool) ||
      a.rule.localeCompare(b.rule),
  );
}

/** "3 findings (1 error, 2 warnings) from ruff, eslint; first: a.py:3 F401 `os` imported but unused". */
export function summarizeFindings(findings: Finding[], tools: string[]): string {
  const from = tools.length ? ` from ${tools.join(', ')}` : '';
  if (findings.length === 0) return `no findings${from}`;
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  const parts = (
    [
      ['error', count('error')],
      ['warning', count('warning')],
      ['info', count('info')],
    ] as const
  )
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}${n === 1 || s === 'info' ? '' : 's'}`);
  const worst = [...findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity])[0];
  const first = worst ? `; first: ${worst.file}:${worst.line} ${worst.rule} ${worst.message}` : '';
  return `${findings.length} finding${findings.length === 1 ? '' : 's'} (${parts.join(', ')})${from}${first}`.slice(
    0,
    400,
  );
}
