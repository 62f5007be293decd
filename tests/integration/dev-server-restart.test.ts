import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { projectRoot } from '../../common/config';
import { requireBinary } from '../../temporal/node/binaries';
import { superviseDevServer, type SupervisedDevServer } from '../../temporal/node/dev-server';
import { freePort } from '../support/redis-server';
import type { deployFixWorkflow } from '../workflows/fixtures/deploy-fix-fixed';

/**
 * `npm start` brings the Temporal dev server back when it dies, like a pool, on the same database:
 * a job running when it was killed with kill -9 finishes by itself, on a worker and a client that
 * were never restarted. A real dev server of its own, killed for real.
 */

let server: SupervisedDevServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-dev-server-'));
  const cli = requireBinary('temporal', process.env.TEMPORAL_CLI_PATH, projectRoot);
  server = await superviseDevServer({
    cliPath: cli.path,
    dbFile: path.join(dataDir, 'dev.db'),
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
  });
});

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the supervised Temporal dev server', () => {
  it('comes back after kill -9 on the same database, and a running job finishes by itself', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const connection = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection,
      taskQueue: 'restart-test',
      workflowsPath: path.join(projectRoot, 'tests', 'workflows', 'fixtures', 'deploy-fix-fixed.ts'),
      activities: {
        async countFiles(files: string[]): Promise<number> {
          started = true;
          await released;
          return files.length;
        },
      },
    });
    const running = worker.run();
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    try {
      const handle = await client.workflow.start<typeof deployFixWorkflow>('deployFixWorkflow', {
        workflowId: `restart-${Date.now()}`,
        taskQueue: 'restart-test',
        args: [['a.py', 'b.py']],
      });
      await until('the job to be in its step', () => started);

      const killed = server.current().process;
      killed.kill('SIGKILL');
      await new Promise((r) => killed.once('exit', r));
      await until('the dev server to be back', async () => {
        if (server.restarts() < 1 || server.current().process === killed) return false;
        return client.connection.workflowService.getSystemInfo({}).then(
          () => true,
          () => false,
        );
      });

      release();
      expect(await handle.result()).toBe('2 file(s): a.py, b.py');
      expect(server.restarts()).toBe(1);
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
      await client.connection.close();
    }
  });
});
