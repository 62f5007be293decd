import type http from 'node:http';
import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import type { TemporalGateway } from '../../api/temporal-gateway';
import { resetTokenBus } from '../../common/job-tokens';
import { testApp } from './api';
import { listen } from './cli';
import { startScriptedModelServer, type ScriptedModelServer } from './scripted-model-server';
import { testClient } from './temporal';
import { startWorkers, type RunningWorkers } from './workers';

/** Everything a job needs in a test file, once its `beforeAll` has run. */
export interface JobStack {
  /** The scripted OpenAI-compatible server the LLM pool talks to. */
  readonly model: ScriptedModelServer;
  /** Every pool, on a task-queue prefix of this file's own. */
  readonly workers: RunningWorkers;
  /** The real API app, on that prefix. */
  readonly app: Express;
  readonly gateway: TemporalGateway;
  /** A client of the run's Temporal server, for reading histories. */
  readonly client: Client;
  /** The API's base URL, with `listen: true`. */
  readonly url: string;
}

/**
 * The whole job stack of a test file — the scripted model, real pool workers, the real API app (on a
 * port with `listen`), a Temporal client — started in `beforeAll` and stopped in `afterAll`. Only the
 * model is scripted. `env` reaches the workers' config (e.g. SANDBOX_STAGING_DIR).
 */
export function useJobStack(options: { env?: Record<string, string>; listen?: boolean } = {}): JobStack {
  const parts: { -readonly [K in keyof JobStack]?: JobStack[K] } & { server?: http.Server } = {};
  beforeAll(async () => {
    parts.model = await startScriptedModelServer();
    parts.workers = await startWorkers(['workflows', 'llm', 'sandbox', 'memory'], {
      OPENAI_BASE_URL: parts.model.url,
      OPENAI_API_KEY: 'test-key',
      ...options.env,
    });
    ({ app: parts.app, gateway: parts.gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: parts.workers.prefix }));
    parts.client = await testClient();
    if (options.listen) ({ url: parts.url, server: parts.server } = await listen(parts.app));
  });
  afterAll(async () => {
    if (parts.server) await new Promise<void>((resolve) => parts.server!.close(() => resolve()));
    await parts.gateway?.close();
    await parts.workers?.stop();
    await parts.model?.close();
    await parts.client?.connection.close();
    await resetTokenBus();
  });
  const get = <K extends keyof JobStack>(key: K): JobStack[K] => {
    const value = parts[key];
    if (value === undefined) throw new Error(`the job stack has no ${key} yet (use it inside a test, after beforeAll)`);
    return value as JobStack[K];
  };
  return {
    get model() {
      return get('model');
    },
    get workers() {
      return get('workers');
    },
    get app() {
      return get('app');
    },
    get gateway() {
      return get('gateway');
    },
    get client() {
      return get('client');
    },
    get url() {
      return get('url');
    },
  };
}
