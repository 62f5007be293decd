import fs from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

export default async function globalTeardown(): Promise<void> {
  const env = (globalThis as { __temporalEnv?: TestWorkflowEnvironment }).__temporalEnv;
  await env?.teardown();
  const dataDir = process.env.SOPHIA_DATA_DIR;
  if (dataDir?.includes('sophia-test-')) fs.rmSync(dataDir, { recursive: true, force: true });
}
