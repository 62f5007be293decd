import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { projectRoot } from '../../common/config';
import {
  alertRules,
  dashboardPanels,
  DASHBOARD_FILE,
  metricNames,
  promtool,
  resolvePanelQuery,
  RULES_FILE,
} from '../support/prometheus';

/**
 * The chart's alerts and dashboard, checked by the tools their users run: promtool (Debian's
 * `prometheus` package) checks the rules and runs their unit tests; helm renders them into the
 * PrometheusRule and the sidecar ConfigMap. tests/integration/prometheus.test.ts runs them against
 * a real Prometheus scraping a running stack.
 */

const CHART = path.join(projectRoot, 'helm', 'sophia-code');
const LOCAL_HELM = path.join(projectRoot, '.tools', 'go', 'bin', 'helm');
const HELM = fs.existsSync(LOCAL_HELM) ? LOCAL_HELM : 'helm';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered Kubernetes objects, asserted field by field
type K8sObject = any;

function helmTemplate(
  sets: string[],
  valuesFile?: string,
): { status: number | null; objects: K8sObject[]; stderr: string } {
  const res = spawnSync(
    HELM,
    [
      'template',
      'sophia',
      CHART,
      '--kube-version',
      '1.34.0',
      ...(valuesFile ? ['--values', path.join(CHART, 'ci', valuesFile)] : []),
      ...sets.flatMap((s) => ['--set', s]),
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const objects =
    res.status === 0
      ? parseAllDocuments(res.stdout)
          .map((d) => d.toJS() as K8sObject)
          .filter((o) => o !== null)
      : [];
  return { status: res.status, objects, stderr: res.stderr };
}

describe('the alert rules', () => {
  it('pass promtool check rules', () => {
    const res = promtool(['check', 'rules', RULES_FILE]);
    expect(res.output).toContain(`SUCCESS: ${alertRules().length} rules found`);
    expect(res.status).toBe(0);
  });

  it("pass their promtool unit tests (each alert fires on its condition, after its 'for', and not on a healthy series)", () => {
    const res = promtool(['test', 'rules', path.join('tests', 'prometheus', 'rules.test.yaml')]);
    expect(res.output).toContain('SUCCESS');
    expect(res.status).toBe(0);
  });

  it('have a promtool unit test that fires every alert', () => {
    const tests = parseYaml(fs.readFileSync(path.join(projectRoot, 'tests', 'prometheus', 'rules.test.yaml'), 'utf8'))
      .tests as { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    const fired = new Set(
      tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
    );
    expect(
      alertRules()
        .map((r) => r.alert)
        .filter((name) => !fired.has(name!)),
    ).toEqual([]);
  });

  it('carry the seed alerts and ours, each with a severity, a summary and a runbook line', () => {
    const rules = alertRules();
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'HighMemoryLatency',
        'CircuitBreakerOpen',
        'LowCacheHitRate',
        'HighCodingRequestFailureRate',
        'SlowCodeGeneration',
        'SophiaPoolDown',
        'SophiaPoolNoPollers',
        'SophiaTaskQueueBacklogOld',
        'SophiaJobFailuresByType',
        'SophiaSandboxViolations',
        'SophiaModelRateLimited',
        'SophiaModelServerErrors',
        'SophiaJobsBudgetExhausted',
      ]),
    );
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(critical|warning|info)$/),
      });
      expect({ alert: rule.alert, summary: rule.annotations?.summary, runbook: rule.annotations?.runbook }).toEqual({
        alert: rule.alert,
        summary: expect.stringMatching(/\S/),
        runbook: expect.stringMatching(/\S{10}/),
      });
    }
  });
});

describe('metricNames', () => {
  it('finds the metrics a PromQL expression reads, not its functions, labels, strings or durations', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, task) (rate(sophia_job_duration_seconds_bucket{outcome="up"}[5m]))) > 1e3',
      ),
    ).toEqual(['sophia_job_duration_seconds_bucket']);
    expect(
      metricNames('sum(rate(a_total[1m])) / scalar(sum(rate(b_total{x=~"c_.*"}[1m]))) and on (pool) up == 0'),
    ).toEqual(['a_total', 'b_total', 'up']);
  });
});

describe('the Grafana dashboard', () => {
  it('has the panels an operator looks for, each with a query', () => {
    const titles = dashboardPanels().map((p) => p.title);
    for (const wanted of [
      /jobs finished by outcome/i,
      /phase durations/i,
      /tokens by purpose/i,
      /cost by purpose/i,
      /backlog per pool/i,
      /pollers per pool/i,
      /sandbox time/i,
      /queue wait/i,
      /memory search latency/i,
      /breaker state/i,
    ])
      expect(titles).toEqual(expect.arrayContaining([expect.stringMatching(wanted)]));
    for (const panel of dashboardPanels()) expect(panel.targets?.length).toBeGreaterThan(0);
  });

  it('has only queries promtool accepts once Grafana fills in its interval', () => {
    // promtool has no query parser of its own: a rule file with each query as a recording rule is checked.
    const rules = dashboardPanels().flatMap((p, i) =>
      (p.targets ?? []).map((t, j) => ({ record: `panel_${i}_${j}`, expr: resolvePanelQuery(t.expr) })),
    );
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dash-')), 'panels.yaml');
    fs.writeFileSync(file, JSON.stringify({ groups: [{ name: 'panels', rules }] }));
    const res = promtool(['check', 'rules', file]);
    expect(res.output).toContain(`SUCCESS: ${rules.length} rules found`);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});

describe('the chart', () => {
  it('ships the alerts as a PrometheusRule only when asked, with the rule file as its spec', () => {
    expect(helmTemplate([]).objects.filter((o) => o.kind === 'PrometheusRule')).toEqual([]);
    const rendered = helmTemplate([], 'production-values.yaml');
    expect(rendered.stderr).toBe('');
    const [rule] = rendered.objects.filter((o) => o.kind === 'PrometheusRule');
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.metadata.labels.release).toBe('prometheus');
    expect(rule.spec).toEqual(parseYaml(fs.readFileSync(RULES_FILE, 'utf8')));
  });

  it('labels every scrape target with the sophia_component and sophia_pool the alerts select on', () => {
    const monitors = helmTemplate([], 'production-values.yaml').objects.filter((o) => o.kind === 'ServiceMonitor');
    expect(monitors.length).toBe(5);
    for (const monitor of monitors) {
      const component = monitor.metadata.labels['app.kubernetes.io/component'] as string;
      for (const endpoint of monitor.spec.endpoints) {
        const set = Object.fromEntries(
          (endpoint.relabelings as { targetLabel: string; replacement: string }[]).map((r) => [
            r.targetLabel,
            r.replacement,
          ]),
        );
        expect(set).toEqual(
          component === 'api'
            ? { sophia_component: 'api' }
            : { sophia_component: component, sophia_pool: component.replace(/-worker$/, '') },
        );
      }
    }
  });

  it('refuses the PrometheusRule without the ServiceMonitors whose labels its alerts read', () => {
    const res = helmTemplate(['prometheusRule.enabled=true']);
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain('prometheusRule.enabled needs serviceMonitor.enabled');
  });

  it("ships the dashboard in a ConfigMap with the Grafana sidecar's label and folder", () => {
    const maps = helmTemplate([], 'production-values.yaml').objects.filter(
      (o) => o.kind === 'ConfigMap' && o.metadata.labels.grafana_dashboard,
    );
    expect(maps).toHaveLength(1);
    expect(maps[0].metadata.labels.grafana_dashboard).toBe('1');
    expect(maps[0].metadata.annotations.grafana_folder).toBe('Sophia Code');
    expect(JSON.parse(maps[0].data['sophia-code.json'])).toEqual(JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')));
    const custom = helmTemplate([
      'grafanaDashboard.enabled=true',
      'grafanaDashboard.sidecarLabel=dashboards',
      'grafanaDashboard.sidecarLabelValue=sophia',
    ]).objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels.dashboards);
    expect(custom.map((m) => m.metadata.labels.dashboards)).toEqual(['sophia']);
  });
});
