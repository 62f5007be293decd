const { spawnSync } = require('node:child_process');
const path = require('node:path');

/**
 * The real Qdrant the memory tests run against: the user's own (QDRANT_URL, e.g. in Docker), or the
 * pinned server that scripts/qdrant-binary.mjs finds (QDRANT_BIN, .tools/qdrant, or the archive in
 * ../shared/tools/qdrant, unpacked and sha256-checked), which the global setup starts. The tests that
 * need one are left out only when there is none, and the run says so.
 */
function findQdrantBinary() {
  const res = spawnSync(process.execPath, [path.join(__dirname, 'scripts', 'qdrant-binary.mjs')], {
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(res.stderr.trim());
  return res.stdout.trim() || undefined;
}
const qdrantBinary = findQdrantBinary();
if (qdrantBinary) process.env.QDRANT_BIN = qdrantBinary;
/** Tests against a real Qdrant, the user's or the pinned one. */
const NEEDS_QDRANT = ['memory-qdrant-adapter', 'memory-qdrant-jobs'];
/** Tests that stop and restart a Qdrant of their own: the pinned binary only. */
const NEEDS_QDRANT_BINARY = ['memory-qdrant-outage'];
const leftOut = [
  ...(qdrantBinary || process.env.QDRANT_URL ? [] : NEEDS_QDRANT),
  ...(qdrantBinary ? [] : NEEDS_QDRANT_BINARY),
];
if (leftOut.length > 0) {
  process.stderr.write(
    `jest: no ${qdrantBinary || process.env.QDRANT_URL ? 'Qdrant binary' : 'Qdrant'} here, so ${leftOut.join(', ')} ` +
      'will not run: set QDRANT_URL to your Qdrant, or QDRANT_BIN to the pinned server (README, Memory on Qdrant).\n',
  );
}

/**
 * Two projects: `unit` (no services) and `integration` (a real Temporal dev server, started once per
 * run by tests/support/global-setup.ts, plus real Redis, bubblewrap and Qdrant where a test needs them).
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
      testPathIgnorePatterns: ['/node_modules/', ...leftOut.map((name) => `/${name}\\.test\\.ts$`)],
      testTimeout: 120_000,
    },
  ],
};
