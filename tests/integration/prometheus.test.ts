import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import YAML from 'yaml';
import { projectRoot } from '../../common/config';
import type { PoolName } from '../../temporal/task-queues';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import { testApp } from '../support/api';
import { calcScript } from '../support/calc-script';
import { listen } from '../support/cli';
import {
  alertRules,
  dashboardPanels,
  metricNames,
  resolvePanelQuery,
  RULES_FILE,
  TestPrometheus,
  type ScrapeTarget,
} from '../support/prometheus';
import { freePort, TestRedis } from '../support/redis-server';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server';
import { uniqueTaskQueue } from '../support/temporal';

/**
 * The operations artefacts against the real thing: Debian's Prometheus scrapes a running stack (the
 * API and each pool as its own process, as Kubernetes runs them), evaluates the chart's alert rules,
 * and answers every dashboard panel's query.
 */
const POOLS: PoolName[] = ['workflows', 'llm', 'sandbox', 'memory'];

let model: ScriptedModelServer;
let redis: TestRedis;
let prometheus: TestPrometheus;
let api: { url: string; server: http.Server; close: () => Promise<void> };
const pools = new Map<PoolName, { child: ChildProcess; metricsPort: number; sdkPort: number; log: () => string }>();
const prefix = uniqueTaskQueue('prom');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-prometheus-'));

function startPool(pool: PoolName, metricsPort: number, sdkPort: number): ChildProcess {
  let log = '';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'workers', 'main.ts')], {
    cwd: projectRoot,
    env: {
      ...process.env,
      WORKER_POOLS: pool,
      WORKER_METRICS_PORT: String(metricsPort),
      WORKER_SDK_METRICS_PORT: String(sdkPort),
      TEMPORAL_TASK_QUEUE_PREFIX: prefix,
      OPENAI_BASE_URL: model.url,
      OPENAI_API_KEY: 'test-key',
      LLM_PRICE_INPUT_PER_MTOK: '3',
      LLM_PRICE_OUTPUT_PER_MTOK: '15',
      REDIS_URL: redis.url,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-10_000)));
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-10_000)));
  pools.set(pool, { child, metricsPort, sdkPort, log: () => log });
  return child;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The chart's rule file for this run. Same groups, names and expressions; only each `for` is cut to 1s,
 * so the alert fires within seconds of its condition rather than minutes (promtool's unit tests hold
 * the real `for` durations).
 */
function rulesForTheRun(): string {
  const doc = YAML.parse(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: { for?: string }[] }[] };
  for (const rule of doc.groups.flatMap((g) => g.rules)) if (rule.for) rule.for = '1s';
  const file = path.join(dir, 'rules.yaml');
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}

beforeAll(async () => {
  model = await startScriptedModelServer();
  model.setScript(calcScript());
  redis = await TestRedis.start();
  const targets: ScrapeTarget[] = [];
  for (const pool of POOLS) {
    const [metricsPort, sdkPort] = [await freePort(), await freePort()];
    startPool(pool, metricsPort, sdkPort);
    const labels = { sophia_component: `${pool}-worker`, sophia_pool: pool };
    targets.push({ url: `http://127.0.0.1:${metricsPort}/metrics`, labels: { ...labels, endpoint: 'metrics' } });
    targets.push({ url: `http://127.0.0.1:${sdkPort}/metrics`, labels: { ...labels, endpoint: 'sdk-metrics' } });
  }
  const { app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: prefix });
  const served = await listen(app);
  api = { ...served, close: () => gateway.close() };
  targets.push({ url: `${api.url}/metrics`, labels: { sophia_component: 'api', endpoint: 'http' } });
  prometheus = await TestPrometheus.start({ dir: path.join(dir, 'prometheus'), targets, rulesFile: rulesForTheRun() });
  // Every pool is up when Prometheus scrapes all of its targets, and Temporal sees each one polling.
  await until(
    'every target up',
    async () => {
      const seen = await prometheus.targets();
      return seen.length === targets.length && seen.every((t) => t.health === 'up') ? true : undefined;
    },
    120_000,
  ).catch((err: unknown) => {
    const logs = [...pools].map(([p, { log }]) => `--- ${p}\n${log()}`).join('\n');
    throw new Error(`${String(err)}\n${logs}`);
  });
}, 180_000);

afterAll(async () => {
  for (const { child } of pools.values()) if (child.exitCode === null) child.kill('SIGKILL');
  await prometheus?.stop();
  await new Promise<void>((resolve) => (api?.server ? api.server.close(() => resolve()) : resolve()));
  await api?.close();
  await redis?.stop();
  await model?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a real Prometheus scraping the running stack', () => {
  /** Runs one generate job through the API to its end, then waits until Prometheus has scraped its end. */
  async function runJob(nth: number): Promise<CodingJobResult> {
    model.setScript(calcScript());
    const started = await request(api.url)
      .post('/api/workflows')
      .send({ task: 'generate', language: 'python', description: `an add(a, b) function, job ${nth} ${Date.now()}` })
      .expect(202);
    const res = await request(api.url).get(`/api/workflows/${started.body.workflowId}/result?wait=120000`).expect(200);
    const done = res.body.result as CodingJobResult;
    expect(done.outcome).toBe('succeeded');
    // The workflow pool counted the job as it ended, and Prometheus scraped it.
    const finished = await until(`job ${nth} in Prometheus`, async () => {
      const v = await prometheus.query(
        'sum by (outcome, task) (sophia_jobs_finished_total{workflow="codingLifecycleWorkflow", sophia_pool="workflows"})',
      );
      return v[0]?.value[1] === String(nth) ? v : undefined;
    });
    expect(finished).toEqual([
      { metric: { outcome: 'succeeded', task: 'generate' }, value: [expect.any(Number), String(nth)] },
    ]);
    return done;
  }

  it('sees jobs run through every pool: their outcome, tokens and sandbox runs', async () => {
    // The first job makes every series; the second moves them, so rates and quantiles have data.
    const results = [await runJob(1), await runJob(2)];
    const billed = results.reduce((sum, r) => sum + r.usage.totalTokens, 0);
    // The llm pool's next scrape may come after the workflow pool's: wait for the tokens to add up.
    const tokens = await until(
      "the jobs' tokens in Prometheus",
      async () => {
        const v = await prometheus.query('sum(sophia_llm_tokens_total{sophia_pool="llm"})');
        return Number(v[0]?.value[1]) === billed ? Number(v[0]?.value[1]) : undefined;
      },
      15_000,
    );
    expect(tokens).toBeGreaterThan(0);
    // Each job's first test run fails (calc's bug), so the sandbox pool counted failing runs.
    const failedRuns = await prometheus.query('sum(sophia_sandbox_runs_total{outcome="exit-nonzero"})');
    expect(Number(failedRuns[0]?.value[1])).toBeGreaterThanOrEqual(2);
  }, 240_000);

  it('answers every dashboard panel query with data', async () => {
    const panels = dashboardPanels();
    expect(panels.length).toBeGreaterThanOrEqual(12);
    // One more scrape of every target after the job, so every series has its latest value.
    const after = Date.now() / 1000;
    for (;;) {
      const scraped = await prometheus.query('min(timestamp(up))');
      if (Number(scraped[0]?.value[1]) > after) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const empty: string[] = [];
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const series = await prometheus.query(resolvePanelQuery(target.expr));
        // Data, as Grafana draws it: a series with a number (a quantile of no new observations is NaN).
        if (!series.some((x) => Number.isFinite(Number(x.value[1])))) empty.push(`${panel.title}: ${target.expr}`);
      }
    }
    expect(empty).toEqual([]);
  }, 60_000);

  it('has a series of every metric an alert or a dashboard panel names', async () => {
    const named = new Set([
      ...alertRules().flatMap((r) => metricNames(r.expr)),
      ...dashboardPanels().flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr))),
    ]);
    expect(named.size).toBeGreaterThanOrEqual(15);
    const exported = new Set(await prometheus.names());
    expect([...named].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('fires SophiaPoolDown for the llm pool once its process is killed, and only for it', async () => {
    expect((await prometheus.alerts()).filter((a) => a.labels.alertname === 'SophiaPoolDown')).toEqual([]);
    const llm = pools.get('llm')!.child;
    const exited = new Promise((resolve) => llm.once('exit', resolve));
    llm.kill('SIGKILL');
    await exited;
    const firing = await until('SophiaPoolDown firing', async () => {
      const alerts = (await prometheus.alerts()).filter(
        (a) => a.labels.alertname === 'SophiaPoolDown' && a.state === 'firing',
      );
      return alerts.length > 0 ? alerts : undefined;
    });
    expect(firing.map((a) => a.labels)).toEqual([
      expect.objectContaining({ alertname: 'SophiaPoolDown', sophia_pool: 'llm', severity: 'critical' }),
    ]);
  }, 120_000);
});
