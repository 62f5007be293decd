// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';

const nodeBuiltins = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.data/**',
      '.tools/**',
      'coverage/**',
      'helm/**',
      '**/*.js',
      'tests/support/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['scripts/**/*.mjs', 'eslint.config.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Determinism: workflow code runs in a sandboxed V8 isolate and is replayed from history.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins
              .flatMap((m) => [m, `node:${m}`])
              .map((name) => ({ name, message: 'Workflows must be deterministic: no Node built-ins.' })),
            { name: '@temporalio/activity', message: 'Activities run in workers, not in workflows.' },
            { name: '@temporalio/client', message: 'Use child workflows or activities instead.' },
            { name: '@temporalio/worker', message: 'Workers load workflows, not the reverse.' },
          ],
          patterns: [
            {
              group: ['**/activities/**', '**/activities'],
              allowTypeImports: true,
              message: 'Import activities as types only: `import type * as activities`.',
            },
            {
              group: [
                '**/api/**',
                '**/workers/**',
                '**/common/config',
                '**/common/logger',
                // temporal/node/ holds what only Node can run (connection, dev server, binaries, SDK runtime);
                // the rest of temporal/ (task queues, retry policies, search attributes) is workflow-safe data.
                '**/temporal/node/**',
              ],
              message: 'Not deterministic or not workflow-safe.',
            },
            {
              group: ['ioredis', 'openai', 'express', 'pino', '@qdrant/*', 'prom-client', 'usearch', 'zod'],
              message: 'I/O libraries belong in activities.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'No process.env in workflows: pass config in the input.' },
        { name: 'setInterval', message: 'Use workflow.sleep or condition.' },
        { name: 'fetch', message: 'No I/O in workflows.' },
        { name: 'require', message: 'No dynamic requires in workflows.' },
      ],
    },
  },
);
