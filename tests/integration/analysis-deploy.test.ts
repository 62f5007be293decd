import { ApplicationFailure } from '@temporalio/common';
import { analyzeCode } from '../../activities/analysis';
import { artifactStore } from '../../activities/artifacts';
import { checkDockerfiles } from '../../activities/analysis/dockerfile';
import { resetConfig } from '../../common/config';

/** Real hadolint (pinned, from .tools/pip) and the real Kubernetes JSON schemas, through analyzeCode. */

const DOCKERFILE = [
  'FROM python:3.12.7-slim',
  'WORKDIR /app',
  'COPY requirements.txt .',
  'RUN pip install --no-cache-dir -r requirements.txt',
  'COPY . .',
  'USER 10001',
  'EXPOSE 8080',
  'HEALTHCHECK --interval=30s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen(\'http://127.0.0.1:8080/health\')"]',
  'CMD ["python", "-m", "app"]',
  '',
].join('\n');

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: slugify
  labels:
    app: slugify
spec:
  replicas: 2
  selector:
    matchLabels:
      app: slugify
  template:
    metadata:
      labels:
        app: slugify
    spec:
      securityContext:
        runAsNonRoot: true
      containers:
        - name: app
          image: registry.example.com/slugify:1.0.0
          ports:
            - containerPort: 8080
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              cpu: 500m
              memory: 256Mi
          readinessProbe:
            httpGet:
              path: /health
              port: 8080
          livenessProbe:
            httpGet:
              path: /health
              port: 8080
`;

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: slugify
spec:
  selector:
    app: slugify
  ports:
    - port: 80
      targetPort: 8080
`;

async function analyzeDeploy(files: Record<string, string>, ruleset: 'default' | 'deploy' = 'deploy') {
  return analyzeCode({ files: await artifactStore().putFiles(files), language: 'python', ruleset });
}

const errors = (findings: { severity: string; tool: string; rule: string; file: string; line: number }[]) =>
  findings.filter((f) => f.severity === 'error').map((f) => `${f.tool}:${f.rule}:${f.file}:${f.line}`);

describe('analyzeCode on deploy artefacts', () => {
  it('finds nothing in a valid Dockerfile and manifests, even under the deploy ruleset', async () => {
    const result = await analyzeDeploy({
      Dockerfile: DOCKERFILE,
      'k8s/deployment.yaml': DEPLOYMENT,
      'k8s/service.yaml': SERVICE,
    });
    expect(result.tools).toEqual(['hadolint', 'kubernetes']);
    expect(result.findings).toEqual([]);
    expect(result.summary).toBe('no findings from hadolint, kubernetes');
  });

  it('reports an unknown field as an error on the line of that field', async () => {
    const broken = DEPLOYMENT.replace('          ports:\n', '          imagePullPolicyy: Always\n          ports:\n');
    const result = await analyzeDeploy({ 'k8s/deployment.yaml': broken });
    expect(result.findings).toEqual([
      {
        tool: 'kubernetes',
        rule: 'schema/unknown-field',
        severity: 'error',
        file: 'k8s/deployment.yaml',
        line: 22,
        message: 'Deployment/slugify: unknown field "spec.template.spec.containers[0].imagePullPolicyy"',
      },
    ]);
  });

  it('reports a value of the wrong type, such as replicas: "two"', async () => {
    const result = await analyzeDeploy({ 'k8s/deployment.yaml': DEPLOYMENT.replace('replicas: 2', 'replicas: "two"') });
    expect(errors(result.findings)).toEqual(['kubernetes:schema/type:k8s/deployment.yaml:8']);
    expect(result.findings[0]?.message).toBe('Deployment/slugify: "spec.replicas" must be integer');
  });

  it('reports a container without an image, which the API server would reject', async () => {
    const result = await analyzeDeploy({ 'k8s/deployment.yaml': DEPLOYMENT.replace(/^ {10}image: .*\n/m, '') });
    expect(errors(result.findings)).toEqual(['kubernetes:container-image:k8s/deployment.yaml:20']);
  });

  it('reports a missing required field, an unknown kind, a YAML syntax error and a selector that misses its pods', async () => {
    const noPorts = SERVICE.replace(/ {2}ports:\n(.*\n)*/, '  ports:\n    - targetPort: 8080\n');
    const result = await analyzeDeploy({
      'k8s/service.yaml': noPorts,
      'k8s/extra.yaml': 'apiVersion: apps/v1\nkind: Deploymnet\nmetadata:\n  name: x\n',
      'k8s/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n   bad: indent\n',
      'k8s/deployment.yaml': DEPLOYMENT.replace('      app: slugify\n  template', '      app: other\n  template'),
    });
    expect(errors(result.findings)).toEqual([
      'kubernetes:yaml-syntax:k8s/broken.yaml:4',
      'kubernetes:selector-match:k8s/deployment.yaml:11',
      'kubernetes:unknown-kind:k8s/extra.yaml:2',
      'kubernetes:schema/required:k8s/service.yaml:9',
    ]);
    expect(result.findings.find((f) => f.rule === 'schema/required')?.message).toBe(
      'Service/slugify: missing required field "spec.ports[0].port"',
    );
  });

  it('reports a YAML alias bomb as a finding instead of expanding it', async () => {
    const bomb = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: bomb',
      'data:',
      '  a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...'bcdefghi'.split('').map((c, i) => `  ${c}: &${c} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`),
      '',
    ].join('\n');
    const result = await analyzeDeploy({ 'k8s/bomb.yaml': bomb });
    expect(errors(result.findings)).toEqual(['kubernetes:yaml-aliases:k8s/bomb.yaml:1']);
  });

  it('makes missing resources and probes warnings by default and errors under the deploy ruleset', async () => {
    const bare = DEPLOYMENT.replace(/^ {10}resources:\n(^ {12}.*\n)+/m, '').replace(
      /^ {10}(readiness|liveness)Probe:\n(^ {12}.*\n)+/gm,
      '',
    );
    const plain = await analyzeDeploy({ 'k8s/deployment.yaml': bare }, 'default');
    const deploy = await analyzeDeploy({ 'k8s/deployment.yaml': bare }, 'deploy');
    const shape = (fs: { rule: string; severity: string; line: number }[]) =>
      fs.map((f) => `${f.line}:${f.rule}:${f.severity}`);
    expect(shape(plain.findings)).toEqual([
      '20:probes:warning',
      '20:probes:warning',
      '20:resource-limits:warning',
      '20:resource-requests:warning',
    ]);
    expect(shape(deploy.findings)).toEqual([
      '20:probes:error',
      '20:probes:error',
      '20:resource-limits:error',
      '20:resource-requests:error',
    ]);
  });

  it('passes a custom resource with an info finding, and a Helm template without validating it', async () => {
    const result = await analyzeDeploy({
      'k8s/monitor.yaml':
        'apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: m\nspec:\n  anything: goes\n',
      'chart/templates/svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n',
    });
    expect(result.findings.map((f) => `${f.file}:${f.rule}:${f.severity}`)).toEqual([
      'chart/templates/svc.yaml:helm-template:info',
      'k8s/monitor.yaml:no-schema:info',
    ]);
  });

  it('reports an unknown Dockerfile instruction as an error on its line', async () => {
    const result = await analyzeDeploy({ Dockerfile: DOCKERFILE.replace('RUN pip', 'RUNN pip') });
    expect(result.tools).toEqual(['hadolint']);
    expect(result.findings).toEqual([
      {
        tool: 'hadolint',
        rule: 'DL1000',
        severity: 'error',
        file: 'Dockerfile',
        line: 4,
        message: 'unknown instruction RUNN (parse error: missing whitespace)',
      },
    ]);
  });

  it('reports a Dockerfile syntax error and hadolint best-practice findings with their lines', async () => {
    const syntax = await analyzeDeploy({ 'api/Dockerfile': DOCKERFILE.replace('EXPOSE 8080', 'EXPOSE http') });
    expect(errors(syntax.findings)).toEqual(['hadolint:DL1000:api/Dockerfile:7']);
    expect(syntax.findings[0]?.message).toMatch(/^parse error: unexpected 'h'/);

    const sloppy =
      'FROM ubuntu\nRUN apt-get update && apt-get install -y curl\nADD app.tar /app\nCMD node /app/index.js\n';
    const result = await analyzeDeploy({ Dockerfile: sloppy }, 'default');
    expect(result.findings.map((f) => `${f.line}:${f.tool}:${f.rule}:${f.severity}`)).toEqual([
      '1:dockerfile:non-root-user:warning',
      '1:hadolint:DL3006:warning',
      '1:dockerfile:healthcheck:info',
      '2:hadolint:DL3008:warning',
      '2:hadolint:DL3009:info',
      '2:hadolint:DL3015:info',
      '4:hadolint:DL3025:warning',
    ]);
  });

  it('makes a root container and a missing HEALTHCHECK errors under the deploy ruleset', async () => {
    const root = DOCKERFILE.replace('USER 10001\n', '').replace(/^HEALTHCHECK.*\n/m, '');
    const result = await analyzeDeploy({ Dockerfile: root });
    expect(errors(result.findings)).toEqual([
      'dockerfile:healthcheck:Dockerfile:1',
      'dockerfile:non-root-user:Dockerfile:1',
    ]);
  });

  it('fails with ToolchainMissing when hadolint or the schemas of the configured Kubernetes version are not installed', async () => {
    await expect(checkDockerfiles({ Dockerfile: DOCKERFILE }, {}, 'default')).rejects.toMatchObject({
      type: 'ToolchainMissing',
      nonRetryable: true,
    });
    const saved = process.env.ANALYSIS_KUBERNETES_VERSION;
    process.env.ANALYSIS_KUBERNETES_VERSION = '1.99';
    resetConfig();
    try {
      const err: unknown = await analyzeDeploy({ 'k8s/service.yaml': SERVICE }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect((err as ApplicationFailure).type).toBe('ToolchainMissing');
      expect((err as ApplicationFailure).message).toMatch(
        /Kubernetes 1\.99\.0 JSON schemas .*ANALYSIS_KUBERNETES_VERSION to one of 1\.25, .*1\.37/,
      );
    } finally {
      if (saved === undefined) delete process.env.ANALYSIS_KUBERNETES_VERSION;
      else process.env.ANALYSIS_KUBERNETES_VERSION = saved;
      resetConfig();
    }
  });
});
