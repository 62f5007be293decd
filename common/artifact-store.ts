import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';

/** A reference to content in the artifact store. Workflows carry these, never the content. */
export interface ArtifactRef {
  /** `sha256:<hex>`: the content hash, so equal content is stored once. */
  id: string;
  bytes: number;
  mediaType: string;
}

/** A set of files (a job's code) stored as one manifest plus one artifact per file. */
export interface FileSetRef {
  manifest: ArtifactRef;
  files: { path: string; id: string; bytes: number }[];
}

export type FileMap = Record<string, string>;

/**
 * Content-addressed store on a local directory. Writes are durable and atomic (temp file, fsync,
 * rename, fsync of the directory), and writing the same content twice is a no-op, so every activity
 * that stores output is idempotent. Reads check the content against its hash: a torn file (a crash
 * before the data reached the disk) is removed and fails typed as `ArtifactMissing`, never served.
 * A write that fails (a full disk) leaves no temp file behind.
 */
export class ArtifactStore {
  constructor(readonly root: string) {}

  private pathFor(id: string): string {
    const hex = id.replace(/^sha256:/, '');
    if (!/^[0-9a-f]{64}$/.test(hex)) {
      throw ApplicationFailure.create({ type: 'InvalidInput', nonRetryable: true, message: `Bad artifact id: ${id}` });
    }
    return path.join(this.root, hex.slice(0, 2), hex);
  }

  async put(content: string | Buffer, mediaType = 'text/plain'): Promise<ArtifactRef> {
    const buffer = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const id = `sha256:${createHash('sha256').update(buffer).digest('hex')}`;
    const file = this.pathFor(id);
    // An artifact already there is kept only when it is whole: a torn one is written again.
    const existing = await fs.readFile(file).catch(() => undefined);
    if (!existing || !matches(existing, id)) await writeDurably(file, buffer);
    return { id, bytes: buffer.length, mediaType };
  }

  async get(ref: ArtifactRef | string): Promise<Buffer> {
    const id = typeof ref === 'string' ? ref : ref.id;
    const file = this.pathFor(id);
    try {
      const content = await fs.readFile(file);
      if (matches(content, id)) return content;
      await fs.rm(file, { force: true });
      throw ApplicationFailure.create({
        type: 'ArtifactMissing',
        nonRetryable: true,
        message: `Artifact ${id} was torn (its content does not match its hash) and is removed; run the step that made it again`,
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw ApplicationFailure.create({
          type: 'ArtifactMissing',
          nonRetryable: true,
          message: `Artifact ${id} is not in the artifact store at ${this.root}`,
        });
      }
      throw err;
    }
  }

  async getText(ref: ArtifactRef | string): Promise<string> {
    return (await this.get(ref)).toString('utf8');
  }

  async putJson(value: unknown): Promise<ArtifactRef> {
    return this.put(JSON.stringify(value), 'application/json');
  }

  async getJson<T>(ref: ArtifactRef | string): Promise<T> {
    return JSON.parse(await this.getText(ref)) as T;
  }

  async putFiles(files: FileMap): Promise<FileSetRef> {
    const entries = await Promise.all(
      Object.entries(files)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(async ([filePath, content]) => {
          const ref = await this.put(content, mediaTypeFor(filePath));
          return { path: filePath, id: ref.id, bytes: ref.bytes };
        }),
    );
    const manifest = await this.put(JSON.stringify(entries), 'application/vnd.sophia.fileset+json');
    return { manifest, files: entries };
  }

  async getFiles(ref: FileSetRef | ArtifactRef): Promise<FileMap> {
    const entries =
      'files' in ref ? ref.files : await this.getJson<{ path: string; id: string }[]>((ref as ArtifactRef).id);
    // Read in parallel, but fill in the stored order: prompts built from the map hash the same every
    // time, so the response cache (and a retried activity) finds the answer it paid for.
    const texts = await Promise.all(entries.map((entry) => this.getText(entry.id)));
    const out: FileMap = {};
    entries.forEach((entry, i) => (out[entry.path] = texts[i]!));
    return out;
  }
}

function matches(content: Buffer, id: string): boolean {
  return `sha256:${createHash('sha256').update(content).digest('hex')}` === id;
}

/** Temp file, fsync, rename, fsync of the directory: after a crash the file is whole or absent. */
async function writeDurably(file: string, content: Buffer): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    // A full disk must not fill up further with half-written temp files.
    await fs.rm(tmp, { force: true });
    throw err;
  }
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function mediaTypeFor(filePath: string): string {
  const ext = path.extname(filePath).toLowerCase();
  const known: Record<string, string> = {
    '.py': 'text/x-python',
    '.ts': 'text/typescript',
    '.tsx': 'text/typescript',
    '.js': 'text/javascript',
    '.mjs': 'text/javascript',
    '.json': 'application/json',
    '.md': 'text/markdown',
    '.yaml': 'application/yaml',
    '.yml': 'application/yaml',
  };
  return known[ext] ?? 'text/plain';
}
