/**
 * Records a workflow's history as JSON for the replay tests:
 *   tsx scripts/record-history.ts <workflowId> <dir> [name]
 * writes `<dir>/<name or workflowId>.json` from the server at TEMPORAL_ADDRESS.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { config } from '../common/config';
import { connectClient } from '../temporal/node/connection';

/** Fetches the history of a workflow run (the latest one unless `runId` is given) and writes it as JSON. */
export async function recordHistory(
  client: Client,
  workflowId: string,
  dir: string,
  options: { name?: string; runId?: string } = {},
): Promise<string> {
  const history = await client.workflow.getHandle(workflowId, options.runId).fetchHistory();
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${(options.name ?? workflowId).replace(/[^\w.-]+/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(history));
  return file;
}

async function main(): Promise<void> {
  const [workflowId, dir, name] = process.argv.slice(2);
  if (!workflowId || !dir) throw new Error('usage: tsx scripts/record-history.ts <workflowId> <dir> [name]');
  const client = await connectClient(config());
  try {
    process.stdout.write(`wrote ${await recordHistory(client, workflowId, dir, { name })}\n`);
  } finally {
    await client.connection.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
