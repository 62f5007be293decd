import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { projectRoot } from '../../common/config';

/**
 * The GitHub Actions workflows, checked by actionlint (built by scripts/bootstrap.mjs into
 * .tools/go/bin from its Go module) with shellcheck (Debian's package) over every `run:` script.
 */
const WORKFLOWS = path.join(projectRoot, '.github', 'workflows');
const LOCAL = path.join(projectRoot, '.tools', 'go', 'bin', 'actionlint');
const ACTIONLINT = fs.existsSync(LOCAL) ? LOCAL : 'actionlint';

function actionlint(files: string[]): { status: number | null; output: string } {
  const res = spawnSync(ACTIONLINT, ['-no-color', '-oneline', '-shellcheck=shellcheck', '-pyflakes=', ...files], {
    cwd: projectRoot,
    encoding: 'utf8',
  });
  if (res.error) throw new Error(`actionlint did not run (${res.error.message}): node scripts/bootstrap.mjs tools`);
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- workflow YAML, asserted field by field
type Workflow = any;
const workflow = (name: string): Workflow => parseYaml(fs.readFileSync(path.join(WORKFLOWS, name), 'utf8'));
const scripts = (job: Workflow): string => job.steps.map((s: { run?: string }) => s.run ?? '').join('\n');

describe('the GitHub Actions workflows', () => {
  it('pass actionlint, shellcheck included', () => {
    const files = fs.readdirSync(WORKFLOWS).map((f) => path.join('.github', 'workflows', f));
    expect(files.sort()).toEqual(['.github/workflows/ci.yml', '.github/workflows/release.yml']);
    const res = actionlint(files);
    expect(res.output).toBe('');
    expect(res.status).toBe(0);
  });

  it('are really checked: actionlint reports a job that needs a missing job and an unquoted shell variable', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'actionlint-'));
    const broken = path.join(dir, 'broken.yml');
    const ci = fs.readFileSync(path.join(WORKFLOWS, 'ci.yml'), 'utf8');
    fs.writeFileSync(
      broken,
      ci.replace('    runs-on: ubuntu-24.04\n', '    runs-on: ubuntu-24.04\n    needs: [build]\n') +
        '      - run: echo $HOME/files*\n',
    );
    try {
      const res = actionlint([broken]);
      expect(res.status).toBe(1);
      expect(res.output).toMatch(/job "test" needs job "build" which does not exist/);
      expect(res.output).toMatch(/SC2086/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("ci runs the project's CI script, which runs the README's test command", () => {
    const test = workflow('ci.yml').jobs.test;
    expect(scripts(test)).toContain('bash .ci/run');
    expect(fs.readFileSync(path.join(projectRoot, '.ci', 'run'), 'utf8')).toMatch(/^npm test\b/m);
  });

  it('release builds and pushes the image, helm-upgrades it with that digest, then smoke-tests /ready and one job', () => {
    const release = workflow('release.yml');
    expect(
      release.jobs.image.steps.find((s: { uses?: string }) => s.uses?.startsWith('docker/build-push-action')).with.push,
    ).toBe(true);
    const deploy = scripts(release.jobs.deploy);
    expect(release.jobs.deploy.needs).toBe('image');
    expect(deploy).toMatch(/helm upgrade --install "\$RELEASE" helm\/sophia-code/);
    expect(deploy).toContain('image.digest="$DIGEST"');
    expect(deploy).toContain('localhost:18000/ready');
    expect(deploy).toMatch(/POST localhost:18000\/api\/workflows/);
    expect(deploy).toMatch(/result\?wait=/);
  });
});
