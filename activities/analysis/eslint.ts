import js from '@eslint/js';
import { ESLint, type Linter } from 'eslint';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import type { FileMap } from '../artifacts';
import type { Finding, Ruleset, Severity } from './finding';

const LINTED = /\.(c|m)?(j|t)sx?$/;
const TS = /\.(c|m)?tsx?$/;

/** Rules that are hygiene rather than bugs: reported, but they should not block a review alone. */
const WARNING_RULES = new Set([
  'no-unused-vars',
  '@typescript-eslint/no-unused-vars',
  'prefer-const',
  'no-var',
  'eqeqeq',
  'no-empty',
  '@typescript-eslint/no-explicit-any',
  '@typescript-eslint/no-empty-function',
]);

async function loadJsdoc(): Promise<ESLint.Plugin> {
  const mod = (await import('eslint-plugin-jsdoc')) as unknown as { default?: ESLint.Plugin } & ESLint.Plugin;
  return mod.default ?? mod;
}

/**
 * eslint:recommended plus typescript-eslint's recommended set (syntax-only, so no type program is
 * built for generated code), with node globals. `docs` adds jsdoc/require-jsdoc for exported
 * functions and classes.
 */
async function configFor(ruleset: Ruleset): Promise<Linter.Config[]> {
  // The plugin's types are ESM-only although it also ships CommonJS; a dynamic import satisfies both.
  const jsdoc = ruleset === 'docs' ? await loadJsdoc() : undefined;
  const docs: Linter.Config[] = jsdoc
    ? [
        {
          files: ['**/*'],
          plugins: { jsdoc },
          rules: {
            'jsdoc/require-jsdoc': [
              'warn',
              {
                publicOnly: true,
                require: {
                  FunctionDeclaration: true,
                  ClassDeclaration: true,
                  MethodDefinition: true,
                  ArrowFunctionExpression: true,
                },
              },
            ],
          },
        },
      ]
    : [];
  return [
    js.configs.recommended,
    ...(tseslint.configs.recommended as Linter.Config[]).map((c) => ({
      ...c,
      files: ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'],
    })),
    {
      files: ['**/*'],
      languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: { ...globals.node, ...globals.jest } },
      // Generated code reaching for eval is a review blocker; loose equality is worth a note.
      rules: { 'no-eval': 'error', 'no-implied-eval': 'error', 'no-new-func': 'error', eqeqeq: ['warn', 'smart'] },
    },
    { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' } },
    ...docs,
  ];
}

function severityOf(rule: string | null, eslintSeverity: number, fatal: boolean | undefined): Severity {
  if (fatal || rule === null) return 'error';
  if (rule.startsWith('jsdoc/')) return 'info';
  if (WARNING_RULES.has(rule)) return 'warning';
  return eslintSeverity >= 2 ? 'error' : 'warning';
}

/**
 * Lints the JS/TS files in memory with our own config. ESLint parses but never executes the code,
 * and `lintText` reads nothing from disk, so the job's files cannot bring configs, plugins or
 * `eslint-disable` comments (inline config is off) into the analysis.
 */
export async function runEslint(files: FileMap, ruleset: Ruleset): Promise<Finding[]> {
  const eslint = new ESLint({
    // A directory that holds nothing: no config, ignore file or plugin is ever looked up in it.
    cwd: '/nonexistent-sophia-lint-root',
    overrideConfigFile: true,
    overrideConfig: await configFor(ruleset),
    allowInlineConfig: false,
    ignore: false,
  });
  const findings: Finding[] = [];
  const targets = Object.entries(files)
    .filter(([p]) => LINTED.test(p) && !p.endsWith('.d.ts') && !p.split('/').includes('node_modules'))
    .sort(([a], [b]) => a.localeCompare(b));
  for (const [file, text] of targets) {
    const [result] = await eslint.lintText(text, { filePath: `/nonexistent-sophia-lint-root/${file}` });
    for (const m of result?.messages ?? []) {
      findings.push({
        tool: 'eslint',
        rule: m.ruleId ?? (m.fatal ? 'parse-error' : 'eslint'),
        severity: severityOf(m.ruleId, m.severity, m.fatal),
        file,
        line: m.line ?? 0,
        message: m.message,
        ...(m.suggestions?.[0]?.desc
          ? { suggestion: m.suggestions[0].desc }
          : m.fix
            ? { suggestion: 'auto-fixable (eslint --fix)' }
            : {}),
      });
    }
  }
  return findings;
}

/** Whether any file is JS/TS and TypeScript in particular (for choosing the tool list). */
export function hasLintableFiles(files: FileMap): { any: boolean; typescript: boolean } {
  const paths = Object.keys(files).filter((p) => LINTED.test(p));
  return { any: paths.length > 0, typescript: paths.some((p) => TS.test(p)) };
}
