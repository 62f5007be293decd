import request from 'supertest';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import { maybeRecordHistory } from '../support/histories';
import { useJobStack } from '../support/job-stack';

const APP =
  'from http.server import BaseHTTPRequestHandler, HTTPServer\n\n\nclass Handler(BaseHTTPRequestHandler):\n    """Answers health checks."""\n\n    def do_GET(self):  # noqa: N802\n        """Say ok."""\n        self.send_response(200)\n        self.end_headers()\n        self.wfile.write(b"ok")\n\n\nif __name__ == "__main__":\n    HTTPServer(("0.0.0.0", 8080), Handler).serve_forever()\n';

// The first answer forgets what the deploy prompt asks for and gets a field's type wrong.
const ROOT_DOCKERFILE = 'FROM python:3.12-slim\nWORKDIR /app\nCOPY app.py .\nEXPOSE 8080\nCMD ["python", "app.py"]\n';
const DOCKERFILE = `FROM python:3.12-slim
WORKDIR /app
COPY app.py .
RUN useradd --create-home --uid 10001 app
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/')"]
CMD ["python", "app.py"]
`;
const deployment = (replicas: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  labels:
    app: hello
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: hello
  template:
    metadata:
      labels:
        app: hello
    spec:
      containers:
        - name: hello
          image: registry.example.com/hello:1.0.0
          ports:
            - containerPort: 8080
${extra}`;
const LIMITS_AND_PROBES = `          resources:
            requests: { cpu: 100m, memory: 64Mi }
            limits: { cpu: 500m, memory: 128Mi }
          readinessProbe:
            httpGet: { path: /, port: 8080 }
          livenessProbe:
            httpGet: { path: /, port: 8080 }
`;
const SERVICE =
  'apiVersion: v1\nkind: Service\nmetadata:\n  name: hello\nspec:\n  selector:\n    app: hello\n  ports:\n    - port: 80\n      targetPort: 8080\n';

const stack = useJobStack();

describe('a DEPLOY job', () => {
  it('checks the container file and manifests with real validators and refactors them until they pass', async () => {
    const { model, app, client } = stack;
    model.reset();
    model.setScript({
      rules: [
        { match: 'code reviewer', in: 'system', reply: { content: { findings: [], summary: 'Fine.' } } },
        {
          match: 'Rewrite the file Dockerfile',
          in: 'user',
          reply: { content: { content: DOCKERFILE, explanation: 'non-root user, healthcheck' } },
        },
        {
          match: 'Rewrite the file k8s/deployment.yaml',
          in: 'user',
          reply: {
            content: { content: deployment('2', LIMITS_AND_PROBES), explanation: 'integer replicas, limits, probes' },
          },
        },
        {
          match: 'Rewrite the file k8s/service.yaml',
          in: 'user',
          reply: { content: { content: SERVICE, explanation: 'unchanged' } },
        },
      ],
      default: {
        content: {
          files: [
            { path: 'Dockerfile', content: ROOT_DOCKERFILE },
            { path: 'k8s/deployment.yaml', content: deployment('"two"') },
            { path: 'k8s/service.yaml', content: SERVICE },
          ],
          explanation: 'container and manifests',
        },
      },
    });
    const started = await request(app)
      .post('/api/workflows')
      .send({
        task: 'deploy',
        language: 'python',
        description: `deploy the hello server ${Date.now()}`,
        files: { 'app.py': APP },
      })
      .expect(202);
    const res = await request(app).get(`/api/workflows/${started.body.workflowId}/result?wait=90000`).expect(200);
    const result = res.body.result as CodingJobResult;

    expect(result.outcome).toBe('succeeded');
    expect(result.iterations.map((i) => i.step)).toEqual(['generate', 'refactor']);
    const first = result.iterations[0]!.findings!.items!.filter((f) => f.blocking).map(
      (f) => `${f.source} ${f.file} ${f.message}`,
    );
    expect(first).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^kubernetes k8s\/deployment\.yaml .*spec\.replicas.*integer/),
        expect.stringMatching(/^kubernetes k8s\/deployment\.yaml .*no readinessProbe/),
        expect.stringMatching(/^kubernetes k8s\/deployment\.yaml .*no cpu or memory limits/),
        expect.stringMatching(/^dockerfile Dockerfile .*no USER/),
      ]),
    );
    expect(result.iterations[1]!.findings!.blocking).toBe(0);

    // The refactor rewrote the artefacts (not the user's server), with the validators' findings in the prompt.
    const fixes = model.chatRequests().filter((r) => r.system.includes('fixing code'));
    expect(fixes.map((r) => /Rewrite the file (\S+)\./.exec(r.user)?.[1]).sort()).toEqual([
      'Dockerfile',
      'k8s/deployment.yaml',
      'k8s/service.yaml',
    ]);
    expect(fixes.find((r) => r.user.includes('Rewrite the file k8s/deployment.yaml'))!.user).toContain(
      '"spec.replicas" must be integer',
    );

    const files = (await request(app).get(`/api/workflows/${started.body.workflowId}/files`).expect(200)).body
      .files as Record<string, string>;
    expect(files['app.py']).toBe(APP);
    expect(files['Dockerfile']).toBe(DOCKERFILE);
    expect(files['k8s/deployment.yaml']).toContain('replicas: 2');
    await maybeRecordHistory(client, started.body.workflowId, 'coding-lifecycle', 'deploy-validated-and-fixed');
  });
});
