import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { projectRoot } from '../../common/config';
import { freePort } from './redis-server';

export const RULES_FILE = path.join(projectRoot, 'helm', 'sophia-code', 'files', 'prometheus-rules.yaml');
export const DASHBOARD_FILE = path.join(projectRoot, 'helm', 'sophia-code', 'files', 'grafana-dashboard.json');

/** Debian's `prometheus` package puts both on PATH; PROMETHEUS_BIN / PROMTOOL_BIN name others. */
export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? 'prometheus';
export const PROMTOOL_BIN = process.env.PROMTOOL_BIN ?? 'promtool';

export function promtool(args: string[]): { status: number | null; output: string } {
  const res = spawnSync(PROMTOOL_BIN, args, { cwd: projectRoot, encoding: 'utf8' });
  if (res.error) throw new Error(`${PROMTOOL_BIN} did not run (${res.error.message}): apt-get install prometheus`);
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

export interface RuleDef {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(): RuleDef[] {
  const doc = YAML.parse(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: RuleDef[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

export interface DashboardPanel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

export function dashboardPanels(): DashboardPanel[] {
  const doc = JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: DashboardPanel[] };
  return doc.panels.filter((p) => p.type !== 'row');
}

/** A panel query as Grafana would send it, with its interval variables filled in. */
export function resolvePanelQuery(expr: string, window = '5m'): string {
  return expr.replaceAll('$__rate_interval', window).replaceAll('$__interval', window).replaceAll('$__range', window);
}

const FUNCTIONS_AND_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers that are neither a function (followed by
 * `(`), a keyword, a label inside `{…}` or a grouping list, nor part of a string or a duration.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (call || FUNCTIONS_AND_KEYWORDS.has(name!.toLowerCase())) continue;
    // A number's exponent (1e9) or a duration suffix is not a name.
    if (/^\d/.test(name!) || /\d$/.test(stripped.slice(0, m.index))) continue;
    names.add(name!);
  }
  return [...names].sort();
}

export interface ScrapeTarget {
  url: string;
  labels: Record<string, string>;
}

interface Vector {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * A real Prometheus (Debian's package) of the test's own: scrapes the given targets every second,
 * evaluates the given rule file every second, keeps its data in a temp dir, listens on loopback.
 */
export class TestPrometheus {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly log: () => string,
  ) {}

  static async start(options: { dir: string; targets: ScrapeTarget[]; rulesFile: string }): Promise<TestPrometheus> {
    const port = await freePort();
    fs.mkdirSync(options.dir, { recursive: true });
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
      rule_files: [options.rulesFile],
      scrape_configs: options.targets.map((t, i) => {
        const u = new URL(t.url);
        return {
          job_name: `target-${i}`,
          metrics_path: u.pathname,
          static_configs: [{ targets: [u.host], labels: t.labels }],
        };
      }),
    };
    const configFile = path.join(options.dir, 'prometheus.yml');
    fs.writeFileSync(configFile, YAML.stringify(config));
    let log = '';
    const child = spawn(
      PROMETHEUS_BIN,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${path.join(options.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    const prometheus = new TestPrometheus(`http://127.0.0.1:${port}`, child, options.dir, () => log);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${log}`);
      const ready = await fetch(`${prometheus.url}/-/ready`).catch(() => undefined);
      if (ready?.ok) return prometheus;
      if (Date.now() > deadline) throw new Error(`prometheus did not get ready:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  get output(): string {
    return this.log();
  }

  private async api<T>(pathAndQuery: string): Promise<T> {
    const res = await fetch(`${this.url}${pathAndQuery}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${pathAndQuery}: ${body.error ?? res.status}`);
    return body.data;
  }

  /** An instant query's vector (throws on a query Prometheus refuses). */
  async query(expr: string): Promise<Vector[]> {
    const data = await this.api<{ resultType: string; result: Vector[] }>(
      `/api/v1/query?query=${encodeURIComponent(expr)}`,
    );
    return data.resultType === 'vector' ? data.result : [];
  }

  /** Every metric name Prometheus has a series of. */
  async names(): Promise<string[]> {
    return this.api<string[]>('/api/v1/label/__name__/values');
  }

  async targets(): Promise<{ labels: Record<string, string>; health: string; lastError: string }[]> {
    return (
      await this.api<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] }>(
        '/api/v1/targets',
      )
    ).activeTargets;
  }

  async alerts(): Promise<{ labels: Record<string, string>; state: string }[]> {
    return (await this.api<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts')).alerts;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
