import type { NativeConnection, Worker } from '@temporalio/worker';
import { config, resetConfig } from '../../common/config';
import { logger } from '../../common/logger';
import type { PoolName } from '../../temporal/task-queues';
import { createPoolWorker } from '../../workers/pools';
import { testWorkerConnection, uniqueTaskQueue } from './temporal';

export interface RunningWorkers {
  prefix: string;
  workers: Worker[];
  stop(): Promise<void>;
}

/**
 * Runs real pool workers in this process, on a task-queue prefix of their own, with the real
 * activities. `env` overrides the environment the activities read (model URL, sandbox driver…).
 * `connection` puts them on another server (e.g. a time-skipping TestWorkflowEnvironment's
 * `nativeConnection`, which its owner closes); by default they connect to the run's dev server.
 */
export async function startWorkers(
  pools: PoolName[],
  env: Record<string, string | undefined> = {},
  { connection: given, taskQueuePrefix }: { connection?: NativeConnection; taskQueuePrefix?: string } = {},
): Promise<RunningWorkers> {
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  resetConfig();
  const prefix = taskQueuePrefix ?? uniqueTaskQueue('t');
  const connection = given ?? (await testWorkerConnection());
  const cfg = config();
  const log = logger('test-worker');
  const workers: Worker[] = [];
  for (const pool of pools)
    workers.push(await createPoolWorker({ pool, connection, cfg, log, taskQueuePrefix: prefix }));
  const running = workers.map((w) => w.run());
  return {
    prefix,
    workers,
    async stop() {
      workers.forEach((w) => {
        if (w.getState() === 'RUNNING') w.shutdown();
      });
      await Promise.allSettled(running);
      if (!given) await connection.close();
    },
  };
}
