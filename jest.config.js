/**
 * Two projects: `unit` (no services) and `integration` (a real Temporal dev server, started once per
 * run by tests/support/global-setup.ts, plus real Redis and bubblewrap where a test needs them).
 * @type {import('jest').Config}
 */
const transform = { '^.+\\.tsx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] };

module.exports = {
  testTimeout: 120_000,
  globalSetup: '<rootDir>/tests/support/global-setup.ts',
  globalTeardown: '<rootDir>/tests/support/global-teardown.ts',
  projects: [
    {
      displayName: 'unit',
      transform,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/tests/unit/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      transform,
      testEnvironment: 'node',
      testMatch: [
        '<rootDir>/tests/integration/**/*.test.ts',
        '<rootDir>/tests/workflows/**/*.test.ts',
        '<rootDir>/tests/replay/**/*.test.ts',
        '<rootDir>/tests/api/**/*.test.ts',
      ],
      testTimeout: 120_000,
    },
  ],
};
