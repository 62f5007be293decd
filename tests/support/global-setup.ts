import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../workers/job-metrics';
import { WORKFLOW_TRACING_INTERCEPTORS } from '../../common/tracing';
import { startLocalTemporal } from './local-temporal';
import { TestQdrant } from './qdrant-server';

/**
 * Starts one real Temporal dev server for the whole run (never a mock), with the project's search
 * attributes, and — unless QDRANT_URL names the user's own — the pinned real Qdrant server when this
 * machine has it (jest.config.js found it); hands their addresses to the test files through the environment.
 */
export default async function globalSetup(): Promise<void> {
  const env = await startLocalTemporal();
  (globalThis as { __temporalEnv?: TestWorkflowEnvironment }).__temporalEnv = env;
  process.env.TEMPORAL_ADDRESS = env.address;
  process.env.TEMPORAL_NAMESPACE = 'default';
  // Every test run gets its own data directory: artifacts and memory never leak between runs.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-test-'));
  process.env.SOPHIA_DATA_DIR = dataDir;
  process.env.LOG_LEVEL ??= 'warn';
  // What the tests index and review lives in temp dirs or is this repository itself.
  process.env.SOPHIA_REPO_ROOTS ??= [fs.realpathSync(os.tmpdir()), path.resolve(__dirname, '../..')].join(',');
  // Bundle the workflows once for the whole run; every test worker loads this bundle.
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    // As scripts/build-workflows.ts builds it: with the workflow tracing interceptors.
    workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_TRACING_INTERCEPTORS],
    logger: quietLogger,
  });
  const bundle = path.join(dataDir, 'workflow-bundle.js');
  fs.writeFileSync(bundle, code);
  process.env.WORKER_WORKFLOW_BUNDLE = bundle;
  process.env.NODE_ENV = 'test';
  if (!process.env.QDRANT_URL && process.env.QDRANT_BIN) {
    const qdrant = await TestQdrant.start({ binary: process.env.QDRANT_BIN, dir: path.join(dataDir, 'qdrant') });
    (globalThis as { __qdrant?: TestQdrant }).__qdrant = qdrant;
    process.env.QDRANT_URL = qdrant.url;
  }
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };
