import fs from 'node:fs/promises';
import path from 'node:path';

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
 * Writes a job's files under `outDir`, creating folders. The paths come from a model, so one that
 * would land outside `outDir` (absolute, or climbing with `..`) is refused rather than written. Answers the
 * paths written, relative to the working directory when under it.
 */
export async function writeOutputFiles(outDir: string, files: Record<string, string>): Promise<string[]> {
  const root = path.resolve(outDir);
  // Check every path first, so a bad one leaves nothing half-written.
  const targets = Object.entries(files).map(([name, content]) => {
    const target = path.resolve(root, name);
    if (path.isAbsolute(name) || !target.startsWith(root + path.sep)) {
      throw new LocalFileError(`Refusing to write ${name}: it is outside ${root}.`);
    }
    return { target, content };
  });
  const written: string[] = [];
  for (const { target, content } of targets) {
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, content);
    const shown = path.relative(process.cwd(), target);
    written.push(shown.startsWith('..') ? target : shown);
  }
  return written;
}
