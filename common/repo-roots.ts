import fs from 'node:fs/promises';
import path from 'node:path';
import { isWellFormedText } from './path-policy';

/**
 * Which host directories may be indexed or reviewed: only those under `SOPHIA_REPO_ROOTS`, resolved
 * with realpath, so a symlink inside a root never leads out of it. System directories are refused
 * even under a root of `/`. The API checks a path when it arrives; the worker that reads the disk
 * checks it again (it is the one whose realpath counts).
 */

/** Never readable, whatever the roots say. */
export const FORBIDDEN_DIRS = ['/etc', '/root', '/proc', '/sys', '/dev', '/boot', '/run', '/var/run', '/var/lib'];

export interface RepoPathRefusal {
  /** `InvalidInput` (400) for a malformed path, `PathNotAllowed` (403) for one outside the roots. */
  type: 'InvalidInput' | 'PathNotAllowed';
  message: string;
}

/** The configured roots: `SOPHIA_REPO_ROOTS` split on `,` or `:`; absolute paths only. */
export function parseRepoRoots(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[,:]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && path.posix.isAbsolute(s))
    .map((s) => path.posix.normalize(s).replace(/(.)\/$/, '$1'));
}

const within = (child: string, parent: string) =>
  child === parent || child.startsWith(parent === '/' ? '/' : `${parent}/`);

/** The checks that need no disk: absolute, normalised, no NUL, under a root, not a system directory. */
export function lexicalRefusal(given: string, roots: string[]): RepoPathRefusal | undefined {
  if (typeof given !== 'string' || given.length === 0 || given.length > 4_096)
    return { type: 'InvalidInput', message: 'The repository path must be an absolute path of at most 4,096 bytes.' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(given) || !isWellFormedText(given))
    return { type: 'InvalidInput', message: 'The repository path must not contain control characters.' };
  if (
    !path.posix.isAbsolute(given) ||
    path.posix.normalize(given).replace(/(.)\/$/, '$1') !== given.replace(/(.)\/$/, '$1')
  )
    return {
      type: 'InvalidInput',
      message: 'The repository path must be absolute and normalised (no . or .. segments).',
    };
  return rootRefusal(given.replace(/(.)\/$/, '$1'), roots);
}

function rootRefusal(resolved: string, roots: string[]): RepoPathRefusal | undefined {
  if (roots.length === 0)
    return {
      type: 'PathNotAllowed',
      message: 'No repository may be read: set SOPHIA_REPO_ROOTS to the directories that hold repositories.',
    };
  if (FORBIDDEN_DIRS.some((d) => within(resolved, d)) || resolved === '/')
    return { type: 'PathNotAllowed', message: 'The repository path is a system directory, which is never read.' };
  if (!roots.some((root) => within(resolved, root)))
    return { type: 'PathNotAllowed', message: 'The repository path is outside the allowed roots (SOPHIA_REPO_ROOTS).' };
  return undefined;
}

/**
 * The full check, on the disk of the process that reads the repository: the lexical one, then the
 * realpath of the path against the realpaths of the roots. Answers the real path to read, or why not.
 * A path that does not exist answers `missing` (the caller decides: the API leaves it to the worker).
 */
export async function resolveRepoPath(
  given: string,
  roots: string[],
): Promise<{ path: string } | { refusal: RepoPathRefusal } | { missing: true }> {
  const lexical = lexicalRefusal(given, roots);
  if (lexical) return { refusal: lexical };
  let real: string;
  try {
    real = await fs.realpath(given);
  } catch {
    return { missing: true };
  }
  const realRoots = await Promise.all(roots.map((r) => fs.realpath(r).catch(() => r)));
  const refusal = rootRefusal(real, realRoots);
  if (refusal)
    return {
      refusal: {
        type: 'PathNotAllowed',
        message: 'The repository path resolves outside the allowed roots (SOPHIA_REPO_ROOTS).',
      },
    };
  return { path: real };
}
