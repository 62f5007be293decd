import type { Client } from '@temporalio/client';
import express, { type Express, type RequestHandler, type Router } from 'express';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { errorMiddleware, HttpError } from './errors';
import { apiMetrics } from './metrics';
import { assistRouter } from './routes/assist';
import { healthRouter } from './routes/health';
import { jobEventsHandler } from './routes/job-events';
import { indexRouter, memoryRouter } from './routes/memory';
import { schedulesRouter } from './routes/schedules';
import { workflowsRouter } from './routes/workflows';
import type { TemporalGateway } from './temporal-gateway';

export interface AppDeps {
  gateway: TemporalGateway;
  cfg: Config;
  log: Logger;
}

/** The Express app. It talks to workflows only through the Temporal client in `gateway`. */
export function createApp(deps: AppDeps): Express {
  const { cfg, log } = deps;
  apiMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: cfg.API_BODY_LIMIT }));
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () =>
      log.debug(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      ),
    );
    next();
  });
  app.use(healthRouter(deps));
  if (cfg.API_TOKEN) {
    app.use('/api', (req, _res, next) => {
      const header = req.get('authorization') ?? '';
      if (header !== `Bearer ${cfg.API_TOKEN}`)
        throw new HttpError(401, 'Unauthorized', 'Send Authorization: Bearer <API_TOKEN>.');
      next();
    });
  }
  app.get('/api/workflows/:id/events', jobEventsHandler(deps));
  app.use('/api/workflows', workflowsRouter(deps));
  app.use('/api/coding', assistRouter(deps));
  app.use('/api/schedules', schedulesRouter(deps));
  app.use(
    '/api/memory',
    withClient(deps.gateway, (client) => memoryRouter({ client, cfg })),
  );
  app.use(
    '/api/index',
    withClient(deps.gateway, (client) => indexRouter({ client, cfg })),
  );
  app.use((req, _res, next) => next(new HttpError(404, 'NotFound', `No route for ${req.method} ${req.path}.`)));
  app.use(errorMiddleware(log));
  return app;
}

/** Mounts a router that needs a connected client, connecting lazily (503 while Temporal is down). */
function withClient(gateway: TemporalGateway, make: (client: Client) => Router): RequestHandler {
  let cached: { client: Client; router: Router } | undefined;
  return async (req, res, next) => {
    const client = await gateway.get();
    if (cached?.client !== client) cached = { client, router: make(client) };
    cached.router(req, res, next);
  };
}
