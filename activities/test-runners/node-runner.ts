import fs from 'node:fs';
import path from 'node:path';
import { isTestPath } from '../../common/test-files';
import type { FileMap } from '../artifacts';
import { NODE_MODULES_PLACEHOLDER, REPORT_PLACEHOLDER, WORKDIR_PLACEHOLDER } from '../sandbox/run-in-sandbox';
import { toolchainMissing, toolchains } from '../sandbox/toolchains';
import type { RunnerPlan } from './runner-plan';

const TS_FILE = /\.[cm]?tsx?$/;

const SCRIPT_FILE = /\.[cm]?[jt]sx?$/;

/** The job's JavaScript/TypeScript test files, by the lifecycle's one test-file rule (common/test-files.ts). */
export function findNodeTestFiles(files: FileMap): string[] {
  return Object.keys(files)
    .filter((f) => SCRIPT_FILE.test(f) && isTestPath(f))
    .sort();
}

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  jest?: unknown;
}

/** A test file that imports jest's API (`@jest/globals`) is written for jest. */
const IMPORTS_JEST = /\bfrom\s*(['"])@jest\/globals\1|\brequire\(\s*(['"])@jest\/globals\2\s*\)/;

/**
 * Jest is used only when the job's own files declare it (its config, package.json, or a test file
 * importing `@jest/globals`); node's built-in runner otherwise.
 */
export function declaresJest(files: FileMap): { jest: boolean; ownConfig: boolean } {
  const ownConfigFile = Object.keys(files).some((f) => /^jest\.config\.(js|cjs|mjs|json)$/.test(f));
  const testImportsJest = findNodeTestFiles(files).some((f) => IMPORTS_JEST.test(files[f] ?? ''));
  const raw = files['package.json'];
  if (raw === undefined) return { jest: ownConfigFile || testImportsJest, ownConfig: ownConfigFile };
  let pkg: PackageJson;
  try {
    pkg = JSON.parse(raw) as PackageJson;
  } catch {
    return { jest: ownConfigFile || testImportsJest, ownConfig: ownConfigFile };
  }
  const jest =
    ownConfigFile ||
    testImportsJest ||
    pkg.jest !== undefined ||
    'jest' in (pkg.devDependencies ?? {}) ||
    'jest' in (pkg.dependencies ?? {}) ||
    /\bjest\b/.test(pkg.scripts?.test ?? '');
  return { jest, ownConfig: ownConfigFile || pkg.jest !== undefined };
}

function requireModule(nodeModules: string | undefined, rel: string, what: string): void {
  if (!nodeModules || !fs.existsSync(path.join(nodeModules, rel))) {
    throw toolchainMissing(what, 'Run `npm ci` in the project so node_modules holds it.');
  }
}

const missingInSandbox = (output: string) =>
  /Cannot find (package|module) '([^']*)(tsx|jest|@swc\/jest)/.test(output)
    ? toolchainMissing(
        'a node test tool (inside the sandbox)',
        'Check that the project node_modules is bound at /node_modules.',
      )
    : undefined;

/**
 * Plans a TS/JS run: jest (with an @swc/jest transform unless the job brings its own config) when the
 * job declares it, else `node --test` over the discovered test files, loading TypeScript through tsx.
 * Both write a report the parser reads: JUnit XML from node, JSON from jest.
 */
export async function planNodeTests(files: FileMap, testCommand?: string[]): Promise<RunnerPlan> {
  const tc = await toolchains();
  const { jest, ownConfig } = declaresJest(files);
  if (jest && !testCommand) {
    requireModule(tc.nodeModules, 'jest/bin/jest.js', 'jest');
    const config = ownConfig
      ? []
      : [
          '--config',
          JSON.stringify({
            rootDir: WORKDIR_PLACEHOLDER,
            testEnvironment: 'node',
            transform: { '^.+\\.[cm]?[jt]sx?$': [`${NODE_MODULES_PLACEHOLDER}/@swc/jest`, {}] },
          }),
        ];
    if (!ownConfig) requireModule(tc.nodeModules, '@swc/jest', '@swc/jest');
    return {
      runner: 'jest',
      command: [
        'node',
        `${NODE_MODULES_PLACEHOLDER}/jest/bin/jest.js`,
        '--ci',
        '--runInBand',
        '--no-watchman',
        '--json',
        `--outputFile=${REPORT_PLACEHOLDER}`,
        ...config,
      ],
      reportFormat: 'jest-json',
      missingToolchain: missingInSandbox,
    };
  }
  const testFiles = findNodeTestFiles(files);
  const needsTsx = testFiles.some((f) => TS_FILE.test(f)) || Object.keys(files).some((f) => TS_FILE.test(f));
  if (needsTsx) requireModule(tc.nodeModules, 'tsx/dist/loader.mjs', 'tsx (to run TypeScript tests)');
  return {
    runner: testCommand ? 'custom' : 'node-test',
    command: testCommand ?? [
      'node',
      ...(needsTsx ? ['--import', `${NODE_MODULES_PLACEHOLDER}/tsx/dist/loader.mjs`] : []),
      '--test',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=junit',
      `--test-reporter-destination=${REPORT_PLACEHOLDER}`,
      ...testFiles,
    ],
    reportFormat: 'junit',
    missingToolchain: missingInSandbox,
    noTests:
      !testCommand && testFiles.length === 0
        ? 'no test files found (name them *.test.ts, *.spec.js or put them under test/)'
        : undefined,
  };
}
