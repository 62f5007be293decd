import fs from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestQdrant } from './qdrant-server';

export default async function globalTeardown(): Promise<void> {
  const env = (globalThis as { __temporalEnv?: TestWorkflowEnvironment }).__temporalEnv;
  await env?.teardown();
  await (globalThis as { __qdrant?: TestQdrant }).__qdrant?.stop();
  const dataDir = process.env.SOPHIA_DATA_DIR;
  if (dataDir?.includes('sophia-test-')) fs.rmSync(dataDir, { recursive: true, force: true });
}
