import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { checkDockerfiles } from '../../activities/analysis/dockerfile';
import { checkKubernetesManifests } from '../../activities/analysis/kubernetes';
import { toolchains } from '../../activities/sandbox/toolchains';
import { projectRoot } from '../../common/config';
import { COMPONENT_SECRETS, SECRET_KEYS } from '../../common/pool-secrets';

/**
 * The chart, with the real helm (built by scripts/bootstrap.mjs into .tools/go/bin) and the real
 * Kubernetes schemas: lint, render every ci/ scenario, validate the output as analyzeCode would, and
 * assert on the rendered objects.
 */

const CHART = path.join(projectRoot, 'helm', 'sophia-code');
const KUBE_VERSION = '1.34.0';
const SCENARIOS = fs.readdirSync(path.join(CHART, 'ci')).filter((f) => f.endsWith('.yaml'));
const POOLS = ['workflows', 'llm', 'sandbox', 'memory'];

function helmBinary(): string {
  const local = path.join(projectRoot, '.tools', 'go', 'bin', 'helm');
  if (fs.existsSync(local)) return local;
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((d) => path.join(d, 'helm'))
    .find((p) => fs.existsSync(p));
  if (onPath) return onPath;
  throw new Error(
    'helm is not installed: run `node scripts/bootstrap.mjs tools` (builds the pinned helm into .tools/go/bin with Go).',
  );
}

const HELM = helmBinary();

function helm(args: string[]): { status: number; stdout: string; stderr: string } {
  const res = spawnSync(HELM, args, { encoding: 'utf8', cwd: projectRoot, timeout: 60_000 });
  return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

function templateArgs(valuesFiles: string[], sets: string[] = []): string[] {
  return [
    'template',
    'sophia',
    CHART,
    '--namespace',
    'sophia',
    '--kube-version',
    KUBE_VERSION,
    ...valuesFiles.flatMap((f) => ['--values', path.join(CHART, 'ci', f)]),
    ...sets.flatMap((s) => ['--set', s]),
  ];
}

function renderText(valuesFiles: string[], sets: string[] = []): string {
  const res = helm(templateArgs(valuesFiles, sets));
  if (res.status !== 0) throw new Error(`helm template failed: ${res.stderr}`);
  return res.stdout;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered Kubernetes objects, asserted field by field
type K8sObject = any;

function render(valuesFiles: string[], sets: string[] = []): K8sObject[] {
  return parseAllDocuments(renderText(valuesFiles, sets))
    .map((d) => d.toJS() as K8sObject)
    .filter((o) => o !== null);
}

function renderError(sets: string[]): string {
  const res = helm(templateArgs([], sets));
  expect(res.status).not.toBe(0);
  return res.stderr;
}

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const component = (o: K8sObject): string => o.metadata.labels['app.kubernetes.io/component'];

describe('helm chart sophia-code', () => {
  it.each(SCENARIOS)('passes helm lint --strict with ci/%s', (scenario) => {
    const res = helm([
      'lint',
      '--strict',
      '--kube-version',
      KUBE_VERSION,
      CHART,
      '--values',
      path.join(CHART, 'ci', scenario),
    ]);
    expect(`${res.stdout}${res.stderr}`).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(res.status).toBe(0);
  });

  it.each(SCENARIOS)(
    'renders ci/%s into manifests with no error or warning from the Kubernetes validator',
    async (scenario) => {
      const findings = checkKubernetesManifests({ [scenario]: renderText([scenario]) }, await toolchains(), {
        ruleset: 'deploy',
        version: KUBE_VERSION,
      });
      // ServiceMonitors and the PrometheusRule are custom resources: reported as info (no schema), never as a problem.
      expect(findings.filter((f) => f.severity !== 'info')).toEqual([]);
      expect(findings.every((f) => f.rule === 'no-schema')).toBe(true);
    },
  );

  it('renders one Deployment per pool plus the API, each with its component label and a version-free selector', () => {
    const objects = render(['default-values.yaml']);
    const deployments = byKind(objects, 'Deployment');
    expect(deployments.map(component).sort()).toEqual([
      'api',
      'llm-worker',
      'memory-worker',
      'sandbox-worker',
      'workflows-worker',
    ]);
    for (const d of deployments) {
      expect(d.spec.selector.matchLabels).toEqual({
        'app.kubernetes.io/name': 'sophia-code',
        'app.kubernetes.io/instance': 'sophia',
        'app.kubernetes.io/component': component(d),
      });
      expect(d.spec.template.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
      expect(d.spec.template.spec.automountServiceAccountToken).toBe(false);
    }
    const commands = Object.fromEntries(
      deployments.map((d) => [component(d), d.spec.template.spec.containers[0].command]),
    );
    expect(commands).toEqual({
      api: ['node', 'dist/api/main.js'],
      'workflows-worker': ['node', 'dist/workers/workflow-worker.js'],
      'llm-worker': ['node', 'dist/workers/llm-worker.js'],
      'sandbox-worker': ['node', 'dist/workers/sandbox-worker.js'],
      'memory-worker': ['node', 'dist/workers/memory-worker.js'],
    });
    for (const pool of POOLS)
      expect(
        fs.existsSync(path.join(projectRoot, 'workers', `${pool === 'workflows' ? 'workflow' : pool}-worker.ts`)),
      ).toBe(true);
  });

  it('probes the API on /health and /ready, behind a Service on its http port', () => {
    const objects = render(['default-values.yaml']);
    const api = byKind(objects, 'Deployment').find((d) => component(d) === 'api');
    const container = api.spec.template.spec.containers[0];
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8000, protocol: 'TCP' }]);
    const [service] = byKind(objects, 'Service');
    expect(service.spec.selector['app.kubernetes.io/component']).toBe('api');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
  });

  it('gives every autoscaled component an autoscaling/v2 HPA and leaves its replicas to it', () => {
    const objects = render(['default-values.yaml']);
    const hpas = byKind(objects, 'HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.apiVersion)).toEqual(hpas.map(() => 'autoscaling/v2'));
    // memory is off by default: the embedded store is one process's files.
    expect(hpas.map(component).sort()).toEqual(['api', 'llm-worker', 'sandbox-worker', 'workflows-worker']);
    const deployments = byKind(objects, 'Deployment');
    for (const hpa of hpas) {
      const target = deployments.find((d) => d.metadata.name === hpa.spec.scaleTargetRef.name);
      expect(target).toBeDefined();
      expect(target.spec.replicas).toBeUndefined();
    }
    expect(deployments.find((d) => component(d) === 'memory-worker').spec.replicas).toBe(1);
    // CPU only by default; production also scales the llm pool on its own queue's backlog.
    expect(hpas.flatMap((h) => h.spec.metrics.map((m: { type: string }) => m.type))).toEqual(
      hpas.map(() => 'Resource'),
    );
    const production = byKind(render(['production-values.yaml']), 'HorizontalPodAutoscaler');
    const llm = production.find((h) => component(h) === 'llm-worker');
    expect(llm.spec.metrics[1]).toEqual({
      type: 'External',
      external: {
        metric: { name: 'sophia_task_queue_backlog', selector: { matchLabels: { queue: 'sophia-llm' } } },
        target: { type: 'AverageValue', averageValue: '4' },
      },
    });
    expect(production.filter((h) => h.spec.metrics.length > 1).map(component)).toEqual(['llm-worker']);
    const fixed = render(['privileged-sandbox-values.yaml']);
    expect(byKind(fixed, 'HorizontalPodAutoscaler').map(component)).toEqual([]);
    expect(byKind(fixed, 'Deployment').find((d) => component(d) === 'sandbox-worker').spec.replicas).toBe(3);
  });

  it('gives each component that runs several pods a disruption budget on its own pods, and none to a single pod', () => {
    const objects = render(['default-values.yaml']);
    const pdbs = byKind(objects, 'PodDisruptionBudget');
    // memory runs one pod by default: a budget would block every drain.
    expect(pdbs.map(component).sort()).toEqual(['api', 'llm-worker', 'sandbox-worker', 'workflows-worker']);
    const deployments = byKind(objects, 'Deployment');
    for (const pdb of pdbs) {
      expect(pdb.apiVersion).toBe('policy/v1');
      expect(pdb.spec.maxUnavailable).toBe(1);
      const target = deployments.find((d) => component(d) === component(pdb));
      expect(pdb.spec.selector.matchLabels).toEqual(target.spec.selector.matchLabels);
    }
    const production = byKind(render(['production-values.yaml']), 'PodDisruptionBudget');
    expect(production.map(component)).toContain('memory-worker');
    expect(
      byKind(render(['default-values.yaml'], ['podDisruptionBudget.enabled=false']), 'PodDisruptionBudget'),
    ).toEqual([]);
  });

  it('passes secrets only through secretKeyRef, and rolls the pods when the config changes', () => {
    const objects = render(['runtimeclass-sandbox-values.yaml']);
    const text = JSON.stringify(objects.filter((o) => o.kind !== 'Secret'));
    expect(text).not.toContain('sk-test-not-a-real-key');
    expect(text).not.toContain('test-key-not-a-real-key');
    const secret = byKind(objects, 'Secret')[0];
    expect(secret.stringData).toEqual({
      OPENAI_API_KEY: 'sk-test-not-a-real-key',
      API_KEYS: 'ci:admin:test-key-not-a-real-key',
    });
    for (const d of byKind(objects, 'Deployment').filter((x) => ['api', 'llm-worker'].includes(component(x)))) {
      const env = d.spec.template.spec.containers[0].env as { name: string; valueFrom?: unknown }[];
      expect(env.find((e) => e.name === 'OPENAI_API_KEY')).toEqual({
        name: 'OPENAI_API_KEY',
        valueFrom: { secretKeyRef: { name: secret.metadata.name, key: 'OPENAI_API_KEY', optional: true } },
      });
    }
    for (const d of byKind(objects, 'Deployment')) {
      expect(d.spec.template.metadata.annotations['checksum/secret']).toMatch(/^[0-9a-f]{64}$/);
    }
    const checksum = (objs: K8sObject[]) =>
      byKind(objs, 'Deployment')[0].spec.template.metadata.annotations['checksum/config'];
    expect(checksum(render(['default-values.yaml']))).toBe(checksum(render(['default-values.yaml'])));
    expect(checksum(render(['default-values.yaml'], ['config.LOG_LEVEL=debug']))).not.toBe(
      checksum(render(['default-values.yaml'])),
    );
  });

  it('puts the Temporal address, JSON logs and the shared data dir in the ConfigMap, and mounts the shared claim everywhere', () => {
    const objects = render(['production-values.yaml']);
    const [configMap] = byKind(objects, 'ConfigMap');
    expect(configMap.data).toMatchObject({
      TEMPORAL_ADDRESS: 'temporal-frontend.temporal.svc.cluster.local:7233',
      TEMPORAL_DEV_SERVER: 'false',
      LOG_FORMAT: 'json',
      SOPHIA_DATA_DIR: '/data',
      MEMORY_STORE: 'qdrant',
      LLM_RATE_LIMIT_RPM: '600',
      WORKER_WORKFLOW_BUNDLE: '/app/dist/workflow-bundle.js',
    });
    expect(byKind(objects, 'PersistentVolumeClaim')).toEqual([]);
    for (const d of byKind(objects, 'Deployment')) {
      expect(d.spec.template.spec.volumes[0]).toEqual({
        name: 'data',
        persistentVolumeClaim: { claimName: 'sophia-code-data' },
      });
      expect(d.spec.template.spec.containers[0].image).toBe(
        'registry.example.com/sophia-code@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      );
    }
    const monitors = byKind(objects, 'ServiceMonitor');
    expect(monitors.map(component).sort()).toEqual([
      'api',
      'llm-worker',
      'memory-worker',
      'sandbox-worker',
      'workflows-worker',
    ]);
    expect(monitors.every((m) => m.metadata.labels.release === 'prometheus')).toBe(true);
    // Workers expose our metrics and the Temporal SDK's (task slots, schedule-to-start latency).
    for (const m of monitors) {
      expect(m.spec.endpoints.map((e: K8sObject) => e.port)).toEqual(
        component(m) === 'api' ? ['http'] : ['metrics', 'sdk-metrics'],
      );
    }
    for (const d of byKind(objects, 'Deployment').filter((x) => component(x) !== 'api')) {
      const container = d.spec.template.spec.containers[0];
      expect(container.ports.map((p: K8sObject) => `${p.name}:${p.containerPort}`)).toEqual([
        'metrics:9464',
        'sdk-metrics:9474',
      ]);
      expect(container.env).toEqual(expect.arrayContaining([{ name: 'WORKER_SDK_METRICS_PORT', value: '9474' }]));
    }
    const claim = byKind(render(['default-values.yaml']), 'PersistentVolumeClaim')[0];
    expect(claim.spec.accessModes).toEqual(['ReadWriteMany']);
  });

  it('gives each component only its own secrets: the table of common/pool-secrets.ts', () => {
    const secretsOf = (objects: K8sObject[]) =>
      Object.fromEntries(
        byKind(objects, 'Deployment').map((d) => [
          component(d).replace(/-worker$/, ''),
          (d.spec.template.spec.containers[0].env as { name: string; valueFrom?: { secretKeyRef?: unknown } }[])
            .filter((e) => e.valueFrom?.secretKeyRef)
            .map((e) => e.name)
            .sort(),
        ]),
      );
    const expected = Object.fromEntries(
      Object.entries(COMPONENT_SECRETS).map(([name, keys]) => [name, [...keys].sort()]),
    );
    expect(secretsOf(render(['default-values.yaml'], ['secrets.existingSecret=sophia']))).toEqual(expected);
    // The sandbox pool runs generated code: no secret at all, not even Codacy's token (the llm pool holds it).
    expect(secretsOf(render(['default-values.yaml'], ['secrets.existingSecret=sophia'])).sandbox).toEqual([]);
    // The memory pool embeds through the model only when told to, and only then holds the model key.
    const openaiEmbeddings = secretsOf(
      render(['default-values.yaml'], ['secrets.existingSecret=sophia', 'config.EMBEDDINGS_PROVIDER=openai']),
    );
    expect(openaiEmbeddings.memory).toEqual(['OPENAI_API_KEY', 'QDRANT_API_KEY']);
    const values = parseAllDocuments(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8'))[0]?.toJS() as K8sObject;
    expect(values.secrets.keys).toEqual([...SECRET_KEYS]);
  });

  it('with memory.store=qdrant scales the memory pool beyond one replica, the Qdrant address and key from a Secret reaching only the memory pool and the API', () => {
    const objects = render(['qdrant-memory-values.yaml']);
    const [configMap] = byKind(objects, 'ConfigMap');
    expect(configMap.data.MEMORY_STORE).toBe('qdrant');
    expect(configMap.data.QDRANT_URL).toBeUndefined();
    const deployments = byKind(objects, 'Deployment');
    expect(deployments.find((d) => component(d) === 'memory-worker').spec.replicas).toBe(3);
    expect(byKind(objects, 'PodDisruptionBudget').map(component)).toContain('memory-worker');
    const qdrantEnv = (d: K8sObject) =>
      ((d.spec.template.spec.containers[0].env ?? []) as { name: string; valueFrom?: unknown }[]).filter((e) =>
        e.name.startsWith('QDRANT_'),
      );
    for (const d of deployments) {
      expect(qdrantEnv(d)).toEqual(
        ['memory-worker', 'api'].includes(component(d))
          ? [
              { name: 'QDRANT_URL', valueFrom: { secretKeyRef: { name: 'qdrant-credentials', key: 'url' } } },
              {
                name: 'QDRANT_API_KEY',
                valueFrom: { secretKeyRef: { name: 'qdrant-credentials', key: 'api-key', optional: true } },
              },
            ]
          : [],
      );
    }
    // With the address in the chart's own Secret, the other pools no longer get QDRANT_API_KEY from it.
    const production = byKind(render(['production-values.yaml']), 'Deployment');
    const llm = production.find((d) => component(d) === 'llm-worker');
    expect(qdrantEnv(llm)).toEqual([]);
    expect(qdrantEnv(production.find((d) => component(d) === 'memory-worker')).map((e) => e.valueFrom)).toEqual([
      { secretKeyRef: { name: 'sophia-code-keys', key: 'QDRANT_URL' } },
      { secretKeyRef: { name: 'sophia-code-keys', key: 'QDRANT_API_KEY', optional: true } },
    ]);
    // The embedded store: one memory pod, and no Qdrant anywhere.
    const embedded = render(['default-values.yaml']);
    expect(byKind(embedded, 'ConfigMap')[0].data.MEMORY_STORE).toBe('embedded');
    expect(byKind(embedded, 'Deployment').flatMap(qdrantEnv)).toEqual([]);
  });

  it('isolates the sandbox pool as each mode says: user namespace, privileged, or a RuntimeClass without bwrap', () => {
    const sandbox = (objects: K8sObject[]) =>
      byKind(objects, 'Deployment').find((d) => component(d) === 'sandbox-worker').spec.template.spec;
    const envOf = (spec: K8sObject) =>
      Object.fromEntries(
        spec.containers[0].env.filter((e: K8sObject) => 'value' in e).map((e: K8sObject) => [e.name, e.value]),
      );

    const userns = sandbox(render(['default-values.yaml']));
    expect(userns.hostUsers).toBe(false);
    expect(userns.securityContext.runAsUser).toBe(0);
    expect(userns.containers[0].securityContext).toMatchObject({
      procMount: 'Unmasked',
      capabilities: { add: ['SYS_ADMIN', 'NET_ADMIN'] },
    });
    expect(userns.containers[0].securityContext.privileged).toBeUndefined();
    // Its own seccomp profile, shipped for the nodes in a ConfigMap: new user namespaces refused.
    expect(userns.containers[0].securityContext.seccompProfile).toEqual({
      type: 'Localhost',
      localhostProfile: 'sophia-code/sandbox-seccomp.json',
    });
    const profileMap = byKind(render(['default-values.yaml']), 'ConfigMap').find((c) =>
      c.metadata.name.endsWith('-sandbox-seccomp'),
    );
    const profile = JSON.parse(profileMap.data['sandbox-seccomp.json'] as string) as K8sObject;
    expect(profile).toEqual(JSON.parse(fs.readFileSync(path.join(CHART, 'files', 'sandbox-seccomp.json'), 'utf8')));
    const refused = profile.syscalls.flatMap((r: K8sObject) => r.names);
    for (const call of [
      'keyctl',
      'bpf',
      'perf_event_open',
      'userfaultfd',
      'io_uring_setup',
      'kexec_load',
      'ptrace',
      'clone3',
    ]) {
      expect(refused).toContain(call);
    }
    expect(refused).not.toContain('mount');
    expect(profile.syscalls).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          names: ['clone', 'unshare'],
          args: [{ index: 0, value: 0x10000000, valueTwo: 0x10000000, op: 'SCMP_CMP_MASKED_EQ' }],
        }),
      ]),
    );
    expect(envOf(userns)).toMatchObject({ SANDBOX_DRIVER: 'bwrap', WORKER_SANDBOX_CONCURRENCY: '2' });

    const privileged = sandbox(render(['privileged-sandbox-values.yaml']));
    expect(privileged.hostUsers).toBeUndefined();
    expect(privileged.containers[0].securityContext.privileged).toBe(true);

    const gvisor = sandbox(render(['runtimeclass-sandbox-values.yaml']));
    expect(gvisor.runtimeClassName).toBe('gvisor');
    expect(gvisor.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(gvisor.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(envOf(gvisor)).toMatchObject({ SANDBOX_DRIVER: 'process', SANDBOX_ALLOW_UNSANDBOXED: 'true' });

    // The other pools never run as root, whatever the sandbox mode.
    for (const d of byKind(render(['default-values.yaml']), 'Deployment').filter(
      (x) => component(x) !== 'sandbox-worker',
    )) {
      expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
      expect(d.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    }
  });

  it.each([
    [['persistence.enabled=false'], 'persistence.enabled=false would give every pod its own SOPHIA_DATA_DIR'],
    [['pools.memory.replicas=2'], 'memory pool may run more than one replica only with memory.store=qdrant'],
    [
      ['pools.memory.autoscaling.enabled=true', 'pools.memory.autoscaling.maxReplicas=3'],
      'memory pool may run more than one replica only with memory.store=qdrant',
    ],
    [['memory.store=qdrant'], 'memory.store=qdrant reads the Qdrant address (and key) from a Secret'],
    [['memory.store=redis'], 'memory.store must be embedded or qdrant (got "redis")'],
    [['config.MEMORY_STORE=qdrant'], 'config.MEMORY_STORE is set by the chart: use memory.store'],
    [['config.QDRANT_URL=http://qdrant:6333'], 'config.QDRANT_URL is set by the chart'],
    [['secrets.existingSecret=keys', 'secrets.create=true'], 'Set either secrets.existingSecret'],
    [['config.OPENAI_API_KEY=sk-oops'], 'config.OPENAI_API_KEY is a secret'],
    [['pools.sandbox.isolation=none'], 'pools.sandbox.isolation must be userns, privileged or runtimeClass'],
    [['pools.sandbox.seccompProfile.type=RuntimeDefault'], "the runtime's default profile forbids the mount(2)"],
    [['pools.sandbox.isolation=runtimeClass'], 'set pools.sandbox.runtimeClassName'],
    [
      ['pools.llm.terminationGracePeriodSeconds=5'],
      'pools.llm.terminationGracePeriodSeconds (5 s) must be longer than workerShutdownGraceMs',
    ],
    [['temporal.address='], 'temporal.address is required'],
    [['secrets.create=true', 'secrets.values.OPENAI_API_KEY=sk-x'], 'refuses to start without keys'],
    [['pools.gpu.enabled=true'], 'pools.gpu is not a pool of Sophia Code'],
  ])('fails the render with a message for %j', (sets, message) => {
    expect(renderError(sets)).toContain(message);
  });

  it('builds its image from a Dockerfile that hadolint finds nothing wrong with', async () => {
    const dockerfile = fs.readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8');
    const findings = await checkDockerfiles({ Dockerfile: dockerfile }, await toolchains(), 'default');
    // No HEALTHCHECK on purpose: one image, several processes; the chart's probes do that job.
    expect(findings.map((f) => `${f.tool}:${f.rule}:${f.severity}`)).toEqual(['dockerfile:healthcheck:info']);
    expect(dockerfile).toContain('RUN node scripts/bootstrap.mjs image');
  });

  it('pipes helm template into scripts/check-manifests.ts, which exits 0 on the chart and 1 on a broken manifest', () => {
    const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx');
    const script = path.join(projectRoot, 'scripts', 'check-manifests.ts');
    const ok = spawnSync(tsx, [script, '--fail-on', 'warning'], {
      input: renderText(['production-values.yaml']),
      encoding: 'utf8',
      cwd: projectRoot,
    });
    // 29: the ConfigMaps with the sandbox pod's seccomp profile and the Grafana dashboard are two of them;
    // the 6 findings are the custom resources (5 ServiceMonitors, the PrometheusRule), validated all the
    // same although their alert annotations carry `{{ $labels… }}`.
    expect(ok.stderr).toContain('29 documents, 6 findings, 0 at or above warning');
    expect(ok.status).toBe(0);
    const broken = renderText(['default-values.yaml']).replace(
      'terminationGracePeriodSeconds: 30',
      'terminationGracePeriodSeconds: "thirty"',
    );
    const bad = spawnSync(tsx, [script], { input: broken, encoding: 'utf8', cwd: projectRoot });
    expect(bad.stdout).toMatch(
      /^stdin:\d+ error schema\/type Deployment\/sophia-sophia-code-api: "spec\.template\.spec\.terminationGracePeriodSeconds" must be integer$/m,
    );
    expect(bad.status).toBe(1);
    expect(execFileSync(HELM, ['version', '--short'], { encoding: 'utf8' })).toMatch(/^v3\.22/);
  });
});
