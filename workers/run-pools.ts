import http from 'node:http';
import { type Worker } from '@temporalio/worker';
import { register } from 'prom-client';
import { config } from '../common/config';
import { logger } from '../common/logger';
import { installTracing, shutdownTracing } from '../common/tracing';
import { connectClient, connectWorker, ensureSearchAttributes } from '../temporal/node/connection';
import { installSdkRuntime } from '../temporal/node/runtime';
import { POOL_NAMES, type PoolName } from '../temporal/task-queues';
import { createPoolWorker } from './pools';

export function parsePools(value: string): PoolName[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(POOL_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(`WORKER_POOLS must list pools from ${POOL_NAMES.join(', ')}; got "${value}"`);
  }
  return names as PoolName[];
}

/**
 * Runs the given pools in this process until SIGINT/SIGTERM, then drains them (the SDK stops
 * polling, lets running tasks finish within WORKER_SHUTDOWN_GRACE_MS, and closes).
 */
export async function runPools(pools: PoolName[]): Promise<void> {
  const cfg = config();
  const log = logger(`worker:${pools.join('+')}`);
  installSdkRuntime(cfg);
  if (installTracing('sophia-worker')) log.info(`traces go to ${cfg.OTEL_EXPORTER_OTLP_ENDPOINT} over OTLP`);
  const connection = await connectWorker(cfg);
  const metrics = cfg.WORKER_METRICS_PORT ? serveMetrics(cfg.WORKER_METRICS_PORT) : undefined;
  try {
    if (pools.includes('workflows')) {
      const client = await connectClient(cfg);
      try {
        const outcome = await ensureSearchAttributes(client, cfg.TEMPORAL_NAMESPACE);
        log.info({ namespace: cfg.TEMPORAL_NAMESPACE }, `search attributes ${outcome}`);
      } catch (err) {
        log.warn({ err: String(err) }, 'could not register search attributes; register them on the cluster');
      } finally {
        await client.connection.close();
      }
    }
    const workers: Worker[] = [];
    for (const pool of pools) workers.push(await createPoolWorker({ pool, connection, cfg, log }));
    await Promise.all(workers.map((w) => w.run()));
    log.info('workers stopped');
  } finally {
    metrics?.close();
    await connection.close();
    await shutdownTracing();
  }
}

function serveMetrics(port: number): http.Server {
  return http
    .createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      register
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': register.contentType }).end(body))
        .catch((err: unknown) => res.writeHead(500).end(String(err)));
    })
    .listen(port);
}

/** Entry-point wrapper: log, exit 1 on failure. */
export function main(pools: PoolName[] | (() => PoolName[])): void {
  const log = logger('worker');
  Promise.resolve()
    .then(() => runPools(typeof pools === 'function' ? pools() : pools))
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      log.fatal({ err: err instanceof Error ? err.message : String(err) }, 'worker failed');
      process.exit(1);
    });
}
