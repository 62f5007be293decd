import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import express, { type Express } from 'express';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { Authenticator, requireAdmin } from './auth';
import { errorMiddleware, HttpError } from './errors';
import { guardBody } from './input-guard';
import { apiMetrics } from './metrics';
import { Quotas } from './quotas';
import { assistRouter } from './routes/assist';
import { assistStreamUpgrade } from './routes/assist-stream';
import { docsRouter } from './routes/docs';
import { githubHooksRouter } from './routes/github-hooks';
import { healthRouter } from './routes/health';
import { jobEventsHandler } from './routes/job-events';
import { indexRouter, memoryRouter } from './routes/memory';
import { schedulesRouter } from './routes/schedules';
import { traceRequests } from './tracing';
import { workflowsRouter } from './routes/workflows';
import type { TemporalGateway } from './temporal-gateway';

export interface AppDeps {
  gateway: TemporalGateway;
  cfg: Config;
  log: Logger;
  /** Tests pass one with a JWKS of their own; else built from the config. */
  auth?: Authenticator;
  quotas?: Quotas;
}

/** The Express app. It talks to workflows only through the Temporal client in `gateway`. */
export function createApp(deps: AppDeps): Express {
  const { cfg, log } = deps;
  const auth = deps.auth ?? new Authenticator(cfg);
  const quotas = deps.quotas ?? new Quotas(cfg, deps.gateway);
  const routeDeps = { ...deps, auth, quotas };
  apiMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(traceRequests());
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () =>
      log.debug(
        {
          method: req.method,
          path: req.path.slice(0, 200),
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      ),
    );
    next();
  });
  app.use(healthRouter(routeDeps));
  app.use(docsRouter());
  // GitHub sends no key: its webhook proves itself by the body's signature, over the raw bytes.
  app.use('/api/hooks/github', githubHooksRouter(routeDeps));
  // Who calls comes first: nobody without a key gets a body parsed.
  app.use('/api', auth.middleware());
  app.use(express.json({ limit: cfg.API_BODY_LIMIT }));
  app.use(guardBody());
  app.get('/api/workflows/:id/events', jobEventsHandler(routeDeps));
  app.use('/api/workflows', workflowsRouter(routeDeps));
  app.use('/api/coding', assistRouter(routeDeps));
  app.use('/api/schedules', requireAdmin(), schedulesRouter(routeDeps));
  app.use('/api/memory', memoryRouter({ client: deps.gateway, cfg }));
  app.use('/api/index', requireAdmin(), indexRouter({ client: deps.gateway, cfg }));
  app.use((req, _res, next) =>
    next(new HttpError(404, 'NotFound', `No route for ${req.method} ${req.path.slice(0, 100)}.`)),
  );
  app.use(errorMiddleware(log, cfg));
  upgrades.set(app, assistStreamUpgrade(routeDeps));
  return app;
}

type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
const upgrades = new WeakMap<Express, UpgradeHandler>();

/** Serves the app's WebSocket routes (`/api/coding/assist/stream`) on the server that serves the app. */
export function serveUpgrades(server: Server, app: Express): void {
  const handler = upgrades.get(app);
  if (handler) server.on('upgrade', handler);
}
