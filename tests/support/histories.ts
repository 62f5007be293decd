import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';

export const HISTORIES_DIR = path.join(__dirname, 'histories');

/**
 * With RECORD_HISTORIES=1, saves a finished workflow's real history for the replay tests:
 * `RECORD_HISTORIES=1 npx jest tests/integration/lifecycle` then commit tests/support/histories/.
 * The latest run unless `runId` names one (e.g. the first run of a chain that continued as new).
 */
export async function maybeRecordHistory(
  client: Client,
  workflowId: string,
  folder: string,
  name: string,
  runId?: string,
): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const dir = path.join(HISTORIES_DIR, folder);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(history, null, 1));
}

/** Every recorded history, as `{ folder, name, history }`. */
export function recordedHistories(): { folder: string; name: string; history: unknown }[] {
  if (!fs.existsSync(HISTORIES_DIR)) return [];
  return fs.readdirSync(HISTORIES_DIR).flatMap((folder) =>
    fs
      .readdirSync(path.join(HISTORIES_DIR, folder))
      .filter((f) => f.endsWith('.json'))
      .map((file) => ({
        folder,
        name: file.replace(/\.json$/, ''),
        history: JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, folder, file), 'utf8')) as unknown,
      })),
  );
}
