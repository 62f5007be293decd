import type { Server } from 'node:http';
import { config } from '../common/config';
import { logger } from '../common/logger';
import { installTracing, shutdownTracing } from '../common/tracing';
import { ensureSearchAttributes } from '../temporal/node/connection';
import { createApp, serveUpgrades } from './app';
import { assertSafeBind } from './auth';
import { TemporalGateway } from './temporal-gateway';

/** The API process: serves until SIGINT/SIGTERM, then stops taking requests and closes Temporal. */
async function main(): Promise<void> {
  const cfg = config();
  const log = logger('api');
  // Before anything listens: no keys on a non-loopback address stops the start, saying what to set.
  assertSafeBind(cfg);
  if (cfg.API_TOKEN)
    log.warn('API_TOKEN is deprecated: it is one admin key of tenant local; use API_KEYS or API_KEYS_FILE');
  if (installTracing('sophia-api')) log.info(`traces go to ${cfg.OTEL_EXPORTER_OTLP_ENDPOINT} over OTLP`);
  const gateway = new TemporalGateway(cfg, logger('api:temporal'));
  gateway
    .get()
    .then((client) => ensureSearchAttributes(client, cfg.TEMPORAL_NAMESPACE))
    .then((outcome) => log.info(`connected to Temporal at ${cfg.TEMPORAL_ADDRESS}; search attributes ${outcome}`))
    .catch((err: unknown) =>
      log.warn({ err: String(err) }, 'Temporal not reachable yet; /ready answers 503 until it is'),
    );

  const app = createApp({ gateway, cfg, log });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(cfg.API_PORT, cfg.API_HOST, () => resolve(s));
  });
  serveUpgrades(server, app);
  log.info(`listening on http://${cfg.API_HOST}:${cfg.API_PORT}`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal}: draining`);
      server.close(() => resolve());
      server.closeIdleConnections();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await gateway.close();
  await shutdownTracing();
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    logger('api').fatal({ err: err instanceof Error ? err.message : String(err) }, 'api failed');
    process.exit(1);
  });
