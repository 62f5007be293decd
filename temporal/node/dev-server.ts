import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeCliArgs } from '../search-attributes';

export interface DevServerOptions {
  cliPath: string;
  /** SQLite file: jobs survive a restart of the server. */
  dbFile: string;
  port: number;
  uiPort: number;
  namespace: string;
  ip?: string;
  /** Receives each line the server prints. */
  onLine?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/**
 * Starts `temporal server start-dev` with its database under the data directory, the Web UI, and the
 * project's search attributes; resolves once the frontend answers.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  if (!(await portFree(opts.port, ip))) {
    throw new Error(
      `Port ${opts.port} is taken: another Temporal server runs there. Stop it, set TEMPORAL_DEV_SERVER_PORT, ` +
        'or set TEMPORAL_DEV_SERVER=false and TEMPORAL_ADDRESS to use it.',
    );
  }
  fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    opts.dbFile,
    '--ip',
    ip,
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--namespace',
    opts.namespace,
    '--log-level',
    'warn',
    ...searchAttributeCliArgs(),
  ];
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stopping = false;
  const forward = (chunk: Buffer) =>
    chunk
      .toString('utf8')
      .split('\n')
      // While it stops, the server's own services fail to dial each other: expected, not news.
      .filter((l) => l.trim() && !(stopping && l.includes('network dial error')))
      .forEach((l) => opts.onLine?.(l));
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);

  const address = `${ip}:${opts.port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`temporal server start-dev exited with code ${code}`))),
  );
  const ready = (async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const connection = await Connection.connect({ address, connectTimeout: '1s' });
        await connection.workflowService.getSystemInfo({});
        await connection.close();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`Temporal dev server did not come up on ${address}: ${String(err)}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  })();
  try {
    await Promise.race([ready, exited]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    uiUrl: `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${opts.uiPort}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        stopping = true;
        child.kill('SIGTERM');
      }),
  };
}

export interface SupervisedDevServer {
  address: string;
  uiUrl: string;
  /** The server process running now (a new one after each restart). */
  current(): DevServer;
  /** How many times the server was brought back. */
  restarts(): number;
  stop(): Promise<void>;
}

/**
 * A dev server that is brought back when it dies, like a worker pool: on the same port and the same
 * database file, so running jobs carry on by themselves once workers and clients reconnect. Restarts
 * back off from 1 s to 30 s; a start that fails is tried again the same way.
 */
export async function superviseDevServer(
  opts: DevServerOptions,
  events: {
    onExit?: (code: number | null, signal: NodeJS.Signals | null, delayMs: number) => void;
    onRestart?: () => void;
    onError?: (err: unknown) => void;
  } = {},
): Promise<SupervisedDevServer> {
  let server = await startDevServer(opts);
  let stopping = false;
  let restarts = 0;
  const delayOf = (attempt: number) => Math.min(30_000, 1_000 * 2 ** Math.min(attempt - 1, 5));
  const watch = (child: ChildProcess) =>
    child.once('exit', (code, signal) => {
      if (stopping) return;
      restarts += 1;
      const delay = delayOf(restarts);
      events.onExit?.(code, signal, delay);
      const attempt = (wait: number): void => {
        setTimeout(() => {
          if (stopping) return;
          startDevServer(opts).then(
            (next) => {
              server = next;
              watch(next.process);
              events.onRestart?.();
            },
            (err: unknown) => {
              events.onError?.(err);
              attempt(Math.min(30_000, wait * 2));
            },
          );
        }, wait);
      };
      attempt(delay);
    });
  watch(server.process);
  return {
    address: server.address,
    uiUrl: server.uiUrl,
    current: () => server,
    restarts: () => restarts,
    stop: async () => {
      stopping = true;
      await server.stop();
    },
  };
}
