import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../common/config';
import { localModelCommand, readPins } from '../../common/local-model';
import { freePort } from './redis-server';

/** A real local code model served by llama.cpp (the product's own launcher), for real-model tests. */
export interface LocalModel {
  /** Base URL with `/v1`. */
  url: string;
  name: string;
  /** Context tokens per request. */
  contextPerSlot: number;
  close(): Promise<void>;
}

/**
 * Serves the pinned `size` model on a free loopback port with the same script `npm start` runs, and
 * waits until it answers. The weights must be there: `npm test`'s bootstrap fetches the 0.5B model
 * (`node scripts/bootstrap.mjs model 0.5b`); a missing model fails here with that command.
 */
export async function startLocalModel(
  size: '0.5b' | '1.5b',
  { parallel = 1, context = 8_192 } = {},
): Promise<LocalModel> {
  const pinned = readPins(projectRoot).models[size]!;
  const modelPath = path.join(projectRoot, '.tools', 'models', pinned.file);
  if (!fs.existsSync(modelPath)) {
    throw new Error(`the local model ${pinned.name} is missing: run \`node scripts/bootstrap.mjs model ${size}\``);
  }
  const port = await freePort();
  const command = localModelCommand(
    {
      modelPath,
      name: pinned.name,
      port,
      parallel,
      threads: 2,
      pythonPath: path.join(projectRoot, '.tools', 'llm'),
    },
    projectRoot,
    context,
  );
  const child: ChildProcess = spawn(command.file, command.args, {
    env: { ...process.env, ...command.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  const url = `http://127.0.0.1:${port}/v1`;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the local model server exited (${child.exitCode}):\n${stderr}`);
    const ok = await fetch(`${url}/models`, { signal: AbortSignal.timeout(1_000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    name: pinned.name,
    contextPerSlot: Math.floor(context / parallel),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}
