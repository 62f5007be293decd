import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A real git server for the tests: `git daemon` with receive-pack on 127.0.0.1, serving bare
 * repositories under a temporary directory as `git://127.0.0.1:<port>/<name>.git`. Nothing leaves
 * loopback.
 */
export interface GitServer {
  /** The directory the bare repositories live in (also reachable as `file://`). */
  readonly root: string;
  readonly port: number;
  /** `git://127.0.0.1:<port>/<name>.git`. */
  url(name: string): string;
  /** The bare repository's directory. */
  dir(name: string): string;
  /** Creates `<name>.git` with one commit of `files` on `main`; answers the commit. */
  createRepository(name: string, files: Record<string, string>): string;
  /** Adds a commit of `files` on `branch` (default main), as another developer would push it; answers it. */
  pushCommit(name: string, files: Record<string, string>, message?: string, branch?: string): string;
  /** The commit a branch is at in the bare repository, or undefined. */
  branchHead(name: string, branch: string): string | undefined;
  close(): Promise<void>;
}

const ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Dev',
  GIT_AUTHOR_EMAIL: 'dev@example.com',
  GIT_COMMITTER_NAME: 'Dev',
  GIT_COMMITTER_EMAIL: 'dev@example.com',
};

export function gitSync(args: string[], cwd?: string, input?: string): string {
  return execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`git daemon exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('git daemon did not start listening');
}

export async function startGitServer(): Promise<GitServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-git-server-'));
  const port = await freePort();
  const child = spawn(
    'git',
    [
      'daemon',
      '--reuseaddr',
      '--export-all',
      '--enable=receive-pack',
      '--informative-errors',
      `--base-path=${root}`,
      '--listen=127.0.0.1',
      `--port=${port}`,
      root,
    ],
    { env: ENV, stdio: 'ignore' },
  );
  await waitForPort(port, child);

  const dir = (name: string) => path.join(root, `${name}.git`);
  const work = (name: string, branch: string) => {
    const w = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-git-work-'));
    gitSync(['clone', '--quiet', '--branch', branch, dir(name), w]);
    return w;
  };
  const writeAndCommit = (w: string, files: Record<string, string>, message: string) => {
    for (const [p, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(w, p)), { recursive: true });
      fs.writeFileSync(path.join(w, p), content);
    }
    gitSync(['add', '-A'], w);
    gitSync(['commit', '--quiet', '-m', message], w);
    return gitSync(['rev-parse', 'HEAD'], w);
  };

  return {
    root,
    port,
    url: (name) => `git://127.0.0.1:${port}/${name}.git`,
    dir,
    createRepository(name, files) {
      gitSync(['init', '--quiet', '--bare', '--initial-branch=main', dir(name)]);
      // Lets clients fetch without file contents (a partial clone), as GitHub does.
      gitSync(['config', 'uploadpack.allowFilter', 'true'], dir(name));
      gitSync(['config', 'uploadpack.allowAnySHA1InWant', 'true'], dir(name));
      const w = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-git-work-'));
      gitSync(['init', '--quiet', '--initial-branch=main', w]);
      const sha = writeAndCommit(w, files, 'Initial commit');
      gitSync(['push', '--quiet', dir(name), 'main'], w);
      fs.rmSync(w, { recursive: true, force: true });
      return sha;
    },
    pushCommit(name, files, message = 'A change', branch = 'main') {
      const w = work(name, branch);
      const sha = writeAndCommit(w, files, message);
      gitSync(['push', '--quiet', 'origin', branch], w);
      fs.rmSync(w, { recursive: true, force: true });
      return sha;
    },
    branchHead(name, branch) {
      try {
        return gitSync(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], dir(name)) || undefined;
      } catch {
        return undefined;
      }
    },
    close: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
