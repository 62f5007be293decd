import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathProblem, pathRefusal } from '../common/path-policy';

/** A file the user named that cannot be read: a usage error, not an API one. */
export class LocalFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalFileError';
  }
}

/**
 * Reads the files named on the command line into the API's `{ path: content }` map. A path under the
 * working directory keeps its relative path (so `src/calc.py` stays `src/calc.py`); one outside it
 * keeps only its base name.
 */
export async function readInputFiles(
  paths: string[],
  cwd = process.cwd(),
): Promise<Record<string, string> | undefined> {
  if (paths.length === 0) return undefined;
  const files: Record<string, string> = {};
  for (const given of paths) {
    const absolute = path.resolve(cwd, given);
    const relative = path.relative(cwd, absolute);
    const key = (relative.startsWith('..') || path.isAbsolute(relative) ? path.basename(absolute) : relative)
      .split(path.sep)
      .join('/');
    try {
      files[key] = await fs.readFile(absolute, 'utf8');
    } catch (err) {
      throw new LocalFileError(`Cannot read --file ${given}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`);
    }
  }
  return files;
}

/**
 * Writes a job's files under `outDir`, creating folders. The paths come from a model, so each passes
 * the path policy (`common/path-policy.ts`: relative, no `..`, no `.git/`, no control or bidi
 * characters…) before anything is written, and nothing is written through a symlink: a folder or a
 * file under `outDir` that is a link is refused. Answers the paths written, relative to the working
 * directory when under it.
 */
export async function writeOutputFiles(outDir: string, files: Record<string, string>): Promise<string[]> {
  const root = path.resolve(outDir);
  // Check every path first, so a bad one leaves nothing half-written.
  const targets = Object.entries(files).map(([name, content]) => {
    const problem = pathProblem(name);
    if (problem) throw new LocalFileError(`${pathRefusal(name, problem)} Nothing was written to ${root}.`);
    return { name, target: path.join(root, ...name.split('/')), content };
  });
  const written: string[] = [];
  for (const { name, target, content } of targets) {
    await mkdirNoFollow(root, name.split('/').slice(0, -1), name);
    let handle: fs.FileHandle;
    try {
      // O_NOFOLLOW: a symlink planted where the file goes is refused, not followed.
      handle = await fs.open(
        target,
        fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW,
        0o644,
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP')
        throw new LocalFileError(`Refusing to write ${name}: it is a symlink under ${root}.`);
      throw err;
    }
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    const shown = path.relative(process.cwd(), target);
    written.push(shown.startsWith('..') ? target : shown);
  }
  return written;
}

/** Creates the folders of a file one by one under `root`, refusing any that exists as a symlink. */
async function mkdirNoFollow(root: string, dirs: string[], name: string): Promise<void> {
  await fs.mkdir(root, { recursive: true });
  let current = root;
  for (const dir of dirs) {
    current = path.join(current, dir);
    const entry = await fs.lstat(current).catch(() => undefined);
    if (entry?.isSymbolicLink())
      throw new LocalFileError(`Refusing to write ${name}: ${dir} is a symlink under ${root}.`);
    if (entry && !entry.isDirectory()) throw new LocalFileError(`Refusing to write ${name}: ${dir} is not a folder.`);
    if (!entry)
      await fs.mkdir(current).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
  }
}
