import type { Express } from 'express';
import { createApp } from '../../api/app';
import { TemporalGateway } from '../../api/temporal-gateway';
import { config, type Config } from '../../common/config';
import { logger } from '../../common/logger';

/** The real Express app on the run's real Temporal server, with config overrides. */
export function testApp(overrides: Partial<Config> = {}): { app: Express; gateway: TemporalGateway; cfg: Config } {
  const cfg = { ...config(), ...overrides };
  const log = logger('api-test');
  const gateway = new TemporalGateway(cfg, log);
  return { app: createApp({ gateway, cfg, log }), gateway, cfg };
}
