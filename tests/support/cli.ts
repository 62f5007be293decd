import { spawn } from 'node:child_process';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Express } from 'express';
import { serveUpgrades } from '../../api/app';

export const ROOT = path.resolve(__dirname, '../..');
/** tsx, so the tests run the CLI from its sources exactly as `npx tsx cli/main.ts` does. */
export const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `sophia` CLI as a child process. Asynchronous on purpose: the API it talks to often
 * listens in this very process, which a spawnSync would block.
 */
export function runSophia(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  return runTsx('cli/main.ts', args, options);
}

/** Runs a TypeScript entry point of the repository (e.g. `bench/eval.ts`) with tsx, as a child process. */
export function runTsx(
  entry: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [path.join(ROOT, entry), ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, SOPHIA_API_URL: undefined, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Serves the app on a free local port; answers its base URL and the server to close. */
export async function listen(app: Express): Promise<{ url: string; server: http.Server }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', (err?: Error) => {
      if (err) return reject(err);
      serveUpgrades(server, app);
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server });
    });
  });
}

/** A local URL where nothing listens. */
export async function deadUrl(app: Express): Promise<string> {
  const { url, server } = await listen(app);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return url;
}
