import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killNow, untilServing } from './server-process';
import { projectRoot } from '../../common/config';
import { freePort } from './redis-server';

/**
 * The pinned Qdrant server binary (scripts/qdrant-binary.mjs: QDRANT_BIN, .tools/qdrant, or the archive
 * in ../shared/tools/qdrant unpacked and checked), or undefined when this machine has none.
 */
export function qdrantBinary(): string | undefined {
  const res = spawnSync(process.execPath, [path.join(projectRoot, 'scripts', 'qdrant-binary.mjs')], {
    encoding: 'utf8',
    env: process.env,
  });
  if (res.status !== 0) throw new Error(res.stderr.trim() || `scripts/qdrant-binary.mjs exited with ${res.status}`);
  return res.stdout.trim() || undefined;
}

export interface TestQdrantOptions {
  /** The server binary; default: `qdrantBinary()`. */
  binary?: string;
  /** Where the storage, snapshots and log go; default: a new temporary directory, removed by `close`. */
  dir?: string;
  /** Requests must carry this key (`api-key` header). */
  apiKey?: string;
}

/**
 * A real Qdrant server of the caller's own, on free loopback ports (HTTP and gRPC), with its storage in
 * a directory of its own. `stop` kills it (SIGKILL, like a crash: what it acknowledged is in its WAL)
 * and `start` brings it back on the same ports and storage.
 */
export class TestQdrant {
  private child?: ChildProcess;
  private readonly ownsDir: boolean;
  readonly dir: string;
  readonly apiKey?: string;

  private constructor(
    private readonly binary: string,
    readonly httpPort: number,
    private readonly grpcPort: number,
    options: TestQdrantOptions,
  ) {
    this.ownsDir = !options.dir;
    this.dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-qdrant-'));
    this.apiKey = options.apiKey;
  }

  static async start(options: TestQdrantOptions = {}): Promise<TestQdrant> {
    const binary = options.binary ?? qdrantBinary();
    if (!binary) {
      throw new Error(
        'No Qdrant server binary: set QDRANT_BIN, or put the pinned archive at ../shared/tools/qdrant/ (see scripts/qdrant-binary.mjs).',
      );
    }
    const qdrant = new TestQdrant(binary, await freePort(), await freePort(), options);
    await qdrant.start();
    return qdrant;
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** The server's process id while it runs (the bench reads its memory use). */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    const log = fs.openSync(path.join(this.dir, 'qdrant.log'), 'a');
    const child = spawn(this.binary, [], {
      // Its working directory is its own: Qdrant looks for config/ and static/ relative to it.
      cwd: this.dir,
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH,
        QDRANT__SERVICE__HOST: '127.0.0.1',
        QDRANT__SERVICE__HTTP_PORT: String(this.httpPort),
        QDRANT__SERVICE__GRPC_PORT: String(this.grpcPort),
        QDRANT__STORAGE__STORAGE_PATH: path.join(this.dir, 'storage'),
        QDRANT__STORAGE__SNAPSHOTS_PATH: path.join(this.dir, 'snapshots'),
        QDRANT__TELEMETRY_DISABLED: 'true',
        QDRANT__LOG_LEVEL: 'WARN',
        ...(this.apiKey && { QDRANT__SERVICE__API_KEY: this.apiKey }),
      },
    });
    fs.closeSync(log);
    this.child = child;
    await untilServing(child, `qdrant on ${this.url}`, () => this.ready(), {
      timeoutMs: 30_000,
      detail: () => this.logTail(),
    });
  }

  /** Kills the server at once, like a crash. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await killNow(child);
  }

  /** Stops the server and removes its directory when it made it. */
  async close(): Promise<void> {
    await this.stop();
    if (this.ownsDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async ready(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/readyz`, {
        headers: this.apiKey ? { 'api-key': this.apiKey } : {},
        signal: AbortSignal.timeout(1_000),
      });
      return res.ok;
    } catch {
      return false;
    }
  }

  private logTail(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'qdrant.log'), 'utf8').slice(-2_000);
    } catch {
      return '(no log)';
    }
  }
}

/** One request to a Qdrant's REST API (the test's own view of it, beside the adapter's). */
export async function qdrantRest<T = unknown>(url: string, method: string, route: string, body?: unknown): Promise<T> {
  const apiKey = process.env.QDRANT_API_KEY;
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...(apiKey && { 'api-key': apiKey }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as { result: T; status: unknown };
  if (!res.ok) throw new Error(`Qdrant ${method} ${route}: HTTP ${res.status} ${JSON.stringify(json.status)}`);
  return json.result;
}

/** Deletes the collections a test made (`<prefix>_…`), so a user's own Qdrant is left as it was. */
export async function dropQdrantCollections(url: string, prefix: string): Promise<void> {
  const { collections } = await qdrantRest<{ collections: { name: string }[] }>(url, 'GET', '/collections');
  for (const { name } of collections.filter((c) => c.name.startsWith(`${prefix}_`))) {
    await qdrantRest(url, 'DELETE', `/collections/${name}`);
  }
}
