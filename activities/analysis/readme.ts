import path from 'node:path';
import { isTestPath } from '../../common/test-files';
import type { FileMap } from '../artifacts';
import type { Finding } from './finding';

const README = /^readme(\.(md|markdown|rst|txt))?$/i;
const CODE = /\.(py|[cm]?[jt]sx?)$/;

/**
 * The README part of the docs ruleset: a DOCUMENT job must leave a top-level README with a heading
 * and a usage section that names the code it documents. ruff and ESLint check docstrings; nothing in
 * them looks at a README, so this does, with findings in the same shape.
 *
 * - `readme/missing` (error): no README at the top of the file set.
 * - `readme/no-heading` (error): no Markdown heading (or reST title) in it.
 * - `readme/no-usage` (error): it names none of the documented modules, nor any of their public
 *   functions or classes — a README that could belong to any project.
 */
export function checkReadme(files: FileMap): Finding[] {
  const code = Object.keys(files).filter((p) => CODE.test(p) && !isTestPath(p));
  if (code.length === 0) return [];
  const readmePath = Object.keys(files).find((p) => README.test(p));
  const finding = (rule: string, message: string, file = readmePath ?? 'README.md'): Finding => ({
    tool: 'readme',
    rule,
    severity: 'error',
    file,
    line: 0,
    message,
  });
  if (!readmePath) {
    return [
      finding('readme/missing', 'There is no README.md: add a short section on what the code does and how to use it.'),
    ];
  }
  const text = files[readmePath] ?? '';
  const findings: Finding[] = [];
  if (!/^#{1,6}\s+\S/m.test(text) && !/^\S.*\n[=\-~^]{3,}\s*$/m.test(text)) {
    findings.push(
      finding('readme/no-heading', 'The README has no heading: start the section with one, e.g. "## Usage".'),
    );
  }
  const names = new Set<string>();
  for (const p of code) {
    names.add(path.basename(p).replace(CODE, ''));
    const source = files[p] ?? '';
    for (const m of source.matchAll(/^(?:async\s+)?(?:def|class)\s+([A-Za-z]\w*)/gm)) names.add(m[1]!);
    for (const m of source.matchAll(
      /^export\s+(?:default\s+)?(?:async\s+)?(?:function\*?|class|const|let|interface|type)\s+([A-Za-z_$][\w$]*)/gm,
    )) {
      names.add(m[1]!);
    }
  }
  const named = [...names].filter((n) => n.length > 1 && new RegExp(`\\b${n.replace(/\$/g, '\\$')}\\b`).test(text));
  if (named.length === 0) {
    findings.push(
      finding(
        'readme/no-usage',
        `The README names none of the code it documents (${[...names].slice(0, 6).join(', ')}): show how to use it.`,
      ),
    );
  }
  return findings;
}
