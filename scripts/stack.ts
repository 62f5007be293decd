/**
 * `npm start`: the whole stack on one machine. A Temporal dev server (database under the data
 * directory, Web UI), one process per worker pool, and the API. A pool process or the dev server that
 * dies is restarted, so killing either mid-job shows the job resume. Ctrl-C stops everything cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { config } from '../common/config';
import { logger } from '../common/logger';
import { localModelCommand, localModelPlan, type LocalModelPlan } from '../common/local-model';
import { componentEnv, poolSecretsProblem, type ComponentName } from '../common/pool-secrets';
import { findBinary } from '../temporal/node/binaries';
import { superviseDevServer, type SupervisedDevServer } from '../temporal/node/dev-server';
import { SEARCH_ATTRIBUTE_KEYS } from '../temporal/search-attributes';

interface Component {
  name: string;
  /** A compiled entry point under dist/, run with this Node; or `command` for anything else. */
  script?: string;
  command?: { file: string; args: string[] };
  env: Record<string, string>;
  /** Whose secrets it holds (common/pool-secrets.ts); a component without one gets no secret at all. */
  secrets?: ComponentName;
  child?: ChildProcess;
  restarts: number;
}

async function main(): Promise<void> {
  const cfg = config();
  const log = logger('stack');
  const secretsProblem = poolSecretsProblem(process.env);
  if (secretsProblem) throw new Error(secretsProblem);
  let shuttingDown = false;
  let devServer: SupervisedDevServer | undefined;
  let address = cfg.TEMPORAL_ADDRESS;
  let uiUrl = cfg.TEMPORAL_UI_URL;

  let stopFallback: (() => Promise<void>) | undefined;
  if (cfg.TEMPORAL_DEV_SERVER) {
    const { found, tried } = findBinary('temporal', cfg.TEMPORAL_CLI_PATH, cfg.projectRoot);
    const dbFile = path.join(cfg.dataDir, 'temporal', 'dev.db');
    if (found) {
      const temporalLog = logger('temporal');
      log.info(`starting Temporal dev server (${found.source}: ${found.path})`);
      // Brought back like a pool when it dies, on the same database: running jobs finish by themselves.
      devServer = await superviseDevServer(
        {
          cliPath: found.path,
          dbFile,
          port: cfg.TEMPORAL_DEV_SERVER_PORT,
          uiPort: cfg.TEMPORAL_DEV_UI_PORT,
          namespace: cfg.TEMPORAL_NAMESPACE,
          onLine: (line) => temporalLog.info(line.length > 400 ? `${line.slice(0, 400)}…` : line),
        },
        {
          onExit: (code, signal, delay) =>
            log.warn(`Temporal dev server exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`),
          onRestart: () => log.info('Temporal dev server is back; workers and the API reconnect by themselves'),
          onError: (err) => log.error(`Temporal dev server did not start again: ${String(err)}; trying again`),
        },
      );
      address = devServer.address;
      uiUrl = devServer.uiUrl;
    } else {
      // Last resort: the SDK downloads the CLI itself (needs internet access).
      log.warn(`no Temporal CLI found (${tried.join('; ')}); trying the SDK's own download`);
      try {
        const { TestWorkflowEnvironment } = await import('@temporalio/testing');
        fs.mkdirSync(path.dirname(dbFile), { recursive: true });
        const env = await TestWorkflowEnvironment.createLocal({
          server: {
            executable: { type: 'cached-download' },
            dbFilename: dbFile,
            port: cfg.TEMPORAL_DEV_SERVER_PORT,
            ui: true,
            uiPort: cfg.TEMPORAL_DEV_UI_PORT,
            namespace: cfg.TEMPORAL_NAMESPACE,
            searchAttributes: SEARCH_ATTRIBUTE_KEYS,
          },
        });
        address = env.address;
        uiUrl = `http://localhost:${cfg.TEMPORAL_DEV_UI_PORT}`;
        stopFallback = () => env.teardown();
      } catch (err) {
        throw new Error(
          `No Temporal CLI found. Tried:\n${[...tried, `the SDK's download (${err instanceof Error ? err.message : String(err)})`].map((t) => `  - ${t}`).join('\n')}\n` +
            'Run `node scripts/bootstrap.mjs tools`, install the Temporal CLI, or set TEMPORAL_DEV_SERVER=false with TEMPORAL_ADDRESS.',
        );
      }
    }
  }

  const dist = path.join(cfg.projectRoot, 'dist');
  const local = localModelPlan(cfg);
  const common = { TEMPORAL_ADDRESS: address, TEMPORAL_UI_URL: uiUrl, ...local?.env };
  const components: Component[] = [];
  if (local?.verified) {
    const command = localModelCommand(local, cfg.projectRoot, cfg.SOPHIA_LOCAL_MODEL_CONTEXT);
    components.push({
      name: 'model',
      command: { file: command.file, args: command.args },
      env: command.env,
      restarts: 0,
    });
  } else if (local) {
    log.error(
      `the local model ${local.name} is not installed (or failed its sha256 check): run \`node scripts/bootstrap.mjs model ${local.size}\`, ` +
        'or set OPENAI_BASE_URL / OPENAI_API_KEY to use another model. Jobs fail with ModelUnavailable until then.',
    );
  }
  components.push(
    {
      name: 'worker:workflows',
      script: 'workers/workflow-worker.js',
      secrets: 'workflows',
      env: { WORKER_METRICS_PORT: '9464', WORKER_SDK_METRICS_PORT: '9474' },
      restarts: 0,
    },
    {
      name: 'worker:llm',
      script: 'workers/llm-worker.js',
      secrets: 'llm',
      env: { WORKER_METRICS_PORT: '9465', WORKER_SDK_METRICS_PORT: '9475' },
      restarts: 0,
    },
    {
      name: 'worker:sandbox',
      script: 'workers/sandbox-worker.js',
      secrets: 'sandbox',
      env: { WORKER_METRICS_PORT: '9466', WORKER_SDK_METRICS_PORT: '9476' },
      restarts: 0,
    },
    {
      name: 'worker:memory',
      script: 'workers/memory-worker.js',
      secrets: 'memory',
      env: { WORKER_METRICS_PORT: '9467', WORKER_SDK_METRICS_PORT: '9477' },
      restarts: 0,
    },
    { name: 'api', script: 'api/main.js', env: {}, secrets: 'api', restarts: 0 },
  );

  const launch = (component: Component) => {
    const [file, args] = component.command
      ? [component.command.file, component.command.args]
      : [process.execPath, [path.join(dist, component.script ?? '')]];
    const child = spawn(file, args, {
      env: componentEnv(component.secrets, process.env, { ...common, ...component.env }),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    component.child = child;
    child.once('exit', (code, signal) => {
      if (shuttingDown) return;
      component.restarts += 1;
      const delay = Math.min(30_000, 1_000 * 2 ** Math.min(component.restarts - 1, 5));
      log.warn(`${component.name} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
      setTimeout(() => !shuttingDown && launch(component), delay);
    });
  };
  components.forEach(launch);

  log.info(
    [
      'Sophia Code is starting:',
      `  API        http://localhost:${cfg.API_PORT}  (health: /health, readiness: /ready, metrics: /metrics)`,
      `  Web UI     ${uiUrl}`,
      `  Temporal   ${address} namespace ${cfg.TEMPORAL_NAMESPACE}`,
      `  Model      ${modelLine(cfg, local)}`,
      '  Stop with Ctrl-C.',
    ].join('\n'),
  );

  async function shutdown(code: number): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info('stopping: API and workers first, then Temporal');
    await Promise.all(
      components.map(
        (c) =>
          new Promise<void>((resolve) => {
            const child = c.child;
            if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), cfg.WORKER_SHUTDOWN_GRACE_MS + 5_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    await devServer?.stop();
    await stopFallback?.();
    log.info('stopped');
    process.exit(code);
  }
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
}

function modelLine(cfg: ReturnType<typeof config>, local: LocalModelPlan | undefined): string {
  if (local?.verified) return `${local.name} (local, SOPHIA_LOCAL_MODEL=${local.size}) at ${local.baseURL}`;
  if (local) return `NOT AVAILABLE: run \`node scripts/bootstrap.mjs model ${local.size}\` (or set OPENAI_BASE_URL)`;
  if (cfg.OPENAI_BASE_URL || cfg.OPENAI_API_KEY)
    return `${cfg.OPENAI_MODEL} at ${cfg.OPENAI_BASE_URL ?? 'api.openai.com'}`;
  return 'NOT CONFIGURED (SOPHIA_LOCAL_MODEL=off): set OPENAI_BASE_URL or OPENAI_API_KEY';
}

main().catch((err: unknown) => {
  logger('stack').fatal(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
