import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { artifactStore } from '../../activities/artifacts';
import { runInSandbox } from '../../activities/sandbox';
import { createWorkspace, removeWorkspace, stagingRoot } from '../../activities/sandbox/workspace';
import { resetConfig } from '../../common/config';

/** Driver choice, the unsandboxed opt-in, cancellation and heartbeats, with the real sandbox. */

function withEnv(vars: Record<string, string | undefined>, fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    Object.assign(process.env, vars);
    resetConfig();
    try {
      await fn();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      resetConfig();
    }
  };
}

const hello = {
  files: { 'hi.py': 'print("hello from the sandbox")' },
  command: ['python', 'hi.py'],
  language: 'python' as const,
};

describe('the sandbox driver', () => {
  it('uses bwrap by default', async () => {
    const result = await runInSandbox(hello);
    expect(result.driver).toBe('bwrap');
    expect(result.exitCode).toBe(0);
    expect(await artifactStore().getText(result.stdout)).toBe('hello from the sandbox\n');
  });

  it(
    'refuses SANDBOX_DRIVER=process without the explicit opt-in',
    withEnv({ SANDBOX_DRIVER: 'process', SANDBOX_ALLOW_UNSANDBOXED: 'false' }, async () => {
      await expect(runInSandbox(hello)).rejects.toMatchObject({
        type: 'SandboxUnavailable',
        nonRetryable: true,
        message: expect.stringContaining('SANDBOX_ALLOW_UNSANDBOXED=true'),
      });
    }),
  );

  it(
    'runs unsandboxed only with SANDBOX_DRIVER=process and SANDBOX_ALLOW_UNSANDBOXED=true',
    withEnv({ SANDBOX_DRIVER: 'process', SANDBOX_ALLOW_UNSANDBOXED: 'true' }, async () => {
      const result = await runInSandbox(hello);
      expect(result.driver).toBe('process');
      expect(await artifactStore().getText(result.stdout)).toBe('hello from the sandbox\n');
    }),
  );

  it('stages the job in a private root: directories 0700, files 0600, owned by the run', async () => {
    const owner = 400_123;
    const dir = await createWorkspace({ 'pkg/mod.py': 'x = 1\n', 'top.py': 'y = 2\n' }, owner);
    try {
      const root = await stagingRoot();
      expect(path.dirname(dir)).toBe(root);
      expect(fs.statSync(root).mode & 0o777).toBe(0o700);
      for (const [rel, mode] of [
        ['.', 0o700],
        ['pkg', 0o700],
        ['pkg/mod.py', 0o600],
        ['top.py', 0o600],
      ] as const) {
        const stat = fs.statSync(path.join(dir, rel));
        expect([rel, stat.mode & 0o777, stat.uid]).toEqual([rel, mode, owner]);
      }
    } finally {
      await removeWorkspace(dir);
    }
  });

  it('refuses a staging root someone else planted', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-planted-'));
    const uid = process.getuid?.() ?? 0;
    fs.symlinkSync(os.tmpdir(), path.join(base, `sophia-sandbox-${uid}`));
    await withEnv({ SANDBOX_STAGING_DIR: base }, async () => {
      await expect(stagingRoot()).rejects.toMatchObject({ type: 'SandboxUnavailable' });
    })();
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('rejects file paths that leave the workspace before running anything', async () => {
    await expect(runInSandbox({ ...hello, files: { '../escape.py': 'print(1)' } })).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
    });
    await expect(runInSandbox({ ...hello, files: { '/etc/x.py': 'print(1)' } })).rejects.toMatchObject({
      type: 'InvalidInput',
    });
  });

  it('heartbeats while running and, when cancelled, kills the run and removes its workspace', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const root = await stagingRoot();
    const before = new Set(fs.readdirSync(root).filter((d) => d.startsWith('sophia-sbx-')));
    const started = Date.now();
    const running = env.run(runInSandbox, {
      files: { 'wait.py': 'import time\nprint("waiting", flush=True)\ntime.sleep(30)\n' },
      command: ['python', 'wait.py'],
      language: 'python' as const,
      timeoutMs: 20_000,
    });
    // Cancel once the run is under way: it has heartbeated from inside its wait.
    while (!beats.some((b) => (b as { phase?: string }).phase === 'running')) {
      await new Promise((r) => setTimeout(r, 50));
    }
    env.cancel();
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats[0]).toMatchObject({ phase: 'starting', driver: 'bwrap' });
    const after = fs.readdirSync(root).filter((d) => d.startsWith('sophia-sbx-') && !before.has(d));
    expect(after).toEqual([]);
  });
});
