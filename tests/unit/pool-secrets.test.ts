import { spawn } from 'node:child_process';
import fs from 'node:fs';
import {
  COMPONENT_SECRETS,
  componentEnv,
  poolSecretsProblem,
  SECRET_KEYS,
  type ComponentName,
} from '../../common/pool-secrets';

/**
 * Each process `npm start` launches holds only its own secrets. The supervisor builds every
 * component's environment with `componentEnv`; these tests start real processes with it and read back
 * the environment the kernel gave them (/proc/<pid>/environ), not the object we passed.
 */

const SUPERVISOR_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  OPENAI_API_KEY: 'sk-model-secret',
  API_KEYS: 'local:api-key-secret',
  API_TOKEN: 'api-token-secret',
  TEMPORAL_API_KEY: 'temporal-cloud-secret',
  TEMPORAL_TLS_CERT_PATH: '/certs/client.pem',
  TEMPORAL_TLS_KEY_PATH: '/certs/client.key',
  QDRANT_API_KEY: 'qdrant-secret',
  CODACY_API_TOKEN: 'codacy-secret',
  SANDBOX_MEMORY_MB: '512',
};

/** Starts a process with the component's environment and reads the environment it really has. */
async function environOfProcess(env: Record<string, string>): Promise<Record<string, string>> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10_000)'], { env, stdio: 'ignore' });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const raw = fs.readFileSync(`/proc/${child.pid}/environ`, 'utf8');
    return Object.fromEntries(
      raw
        .split('\0')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
  } finally {
    child.kill('SIGKILL');
  }
}

const secretsIn = (env: Record<string, string>) => SECRET_KEYS.filter((k) => k in env).sort();

describe('the secrets of each npm start process', () => {
  it.each(Object.keys(COMPONENT_SECRETS) as ComponentName[])(
    'the %s process gets its own secrets and no other, and keeps the rest of the environment',
    async (name) => {
      const env = await environOfProcess(componentEnv(name, SUPERVISOR_ENV, { WORKER_METRICS_PORT: '9466' }));
      expect(secretsIn(env)).toEqual([...COMPONENT_SECRETS[name]].sort());
      expect(env).toMatchObject({ SANDBOX_MEMORY_MB: '512', WORKER_METRICS_PORT: '9466' });
    },
  );

  it('the sandbox and memory pools never see the model, Temporal Cloud or Codacy keys', async () => {
    for (const pool of ['sandbox', 'memory'] as const) {
      const env = await environOfProcess(componentEnv(pool, SUPERVISOR_ENV));
      const values = Object.values(env).join('\n');
      for (const secret of ['sk-model-secret', 'temporal-cloud-secret', 'api-token-secret', 'codacy-secret']) {
        expect(values).not.toContain(secret);
      }
    }
  });

  it('the sandbox pool, which runs generated code, holds no secret at all; Codacy is called from the llm pool', async () => {
    expect(secretsIn(await environOfProcess(componentEnv('sandbox', SUPERVISOR_ENV)))).toEqual([]);
    expect(secretsIn(await environOfProcess(componentEnv('llm', SUPERVISOR_ENV)))).toContain('CODACY_API_TOKEN');
  });

  it('a process of none of the pools (a local model server) gets no secret at all', async () => {
    expect(secretsIn(await environOfProcess(componentEnv(undefined, SUPERVISOR_ENV)))).toEqual([]);
  });

  it('the memory pool holds the model key only when it embeds through the model', () => {
    expect(secretsIn(componentEnv('memory', { ...SUPERVISOR_ENV, EMBEDDINGS_PROVIDER: 'openai' }))).toEqual([
      'OPENAI_API_KEY',
      'QDRANT_API_KEY',
    ]);
  });

  it('refuses to start with a Temporal Cloud API key alone, which the sandbox and memory pools may not hold', () => {
    expect(poolSecretsProblem({ TEMPORAL_API_KEY: 'k' })).toMatch(/TEMPORAL_TLS_CERT_PATH/);
    expect(poolSecretsProblem(SUPERVISOR_ENV)).toBeUndefined();
    expect(poolSecretsProblem({})).toBeUndefined();
  });
});
