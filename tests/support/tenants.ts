import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { Express } from 'express';
import * as memoryActivities from '../../activities/memory';
import type { Config } from '../../common/config';
import { testApp } from './api';
import { testClient, testWorkerConnection, uniqueTaskQueue } from './temporal';

/** Keys of three callers: two admins of tenants `alpha` and `beta`, and a member of `alpha`. */
export const KEYS = {
  alpha: 'alpha-admin-key-0123456789',
  beta: 'beta-admin-key-9876543210',
  alphaMember: 'alpha-member-key-5555555555',
} as const;

export const API_KEYS = `alpha:admin:${KEYS.alpha},beta:admin:${KEYS.beta},alpha:member:${KEYS.alphaMember}`;

export interface TenantStack {
  readonly app: Express;
  readonly client: Client;
  readonly cfg: Config;
  readonly prefix: string;
  /** A repository under SOPHIA_REPO_ROOTS with one Python file. */
  readonly repo: string;
  readonly root: string;
}

/**
 * The real API app with two tenants' keys, on a task-queue prefix of its own, with real workers for
 * the memory workflows and activities (memory search, store and indexing run for real). Coding jobs
 * started here stay RUNNING: no worker of this prefix runs the lifecycle, which is what the edge
 * tests want (an object that exists, owned by one tenant).
 */
export function useTenantStack(overrides: Partial<Config> = {}): TenantStack {
  const parts: Partial<{ -readonly [K in keyof TenantStack]: TenantStack[K] }> = {};
  let connection: NativeConnection;
  let workers: Worker[] = [];
  let running: Promise<void>[] = [];
  let close: () => Promise<void>;
  beforeAll(async () => {
    parts.prefix = uniqueTaskQueue('tenants');
    parts.root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-tenant-root-')));
    parts.repo = path.join(parts.root, 'repo');
    fs.mkdirSync(parts.repo);
    fs.writeFileSync(path.join(parts.repo, 'tax.py'), 'def compute_vat(amount):\n    return amount * 0.2\n');
    parts.client = await testClient();
    connection = await testWorkerConnection();
    workers = [
      await Worker.create({
        connection,
        taskQueue: `${parts.prefix}-workflows`,
        workflowsPath: require.resolve('./memory-workflows'),
      }),
      await Worker.create({ connection, taskQueue: `${parts.prefix}-memory`, activities: memoryActivities }),
    ];
    running = workers.map((w) => w.run());
    const made = testApp({
      TEMPORAL_TASK_QUEUE_PREFIX: parts.prefix,
      API_KEYS,
      SOPHIA_REPO_ROOTS: parts.root,
      QUOTA_MAX_CONCURRENT_JOBS: 0,
      ...overrides,
    });
    parts.app = made.app;
    parts.cfg = made.cfg;
    close = () => made.gateway.close();
  });
  afterAll(async () => {
    await close?.();
    workers.forEach((w) => w.shutdown());
    await Promise.all(running);
    await connection?.close();
    await parts.client?.connection.close();
    if (parts.root) fs.rmSync(parts.root, { recursive: true, force: true });
  });
  return new Proxy({} as TenantStack, {
    get: (_t, key: keyof TenantStack) => {
      const value = parts[key];
      if (value === undefined) throw new Error(`the tenant stack is not up yet (${String(key)})`);
      return value;
    },
  });
}

/** Walks an Express app's router and lists every route as `METHOD /path`. */
export function listRoutes(app: Express): string[] {
  const out: string[] = [];
  type Layer = {
    route?: { path: string; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
    rawPath?: string;
  };
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods).filter((m) => layer.route!.methods[m])) {
          const full = `${prefix}${layer.route.path}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
          out.push(`${method.toUpperCase()} ${full}`);
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, `${prefix}${layer.rawPath ?? ''}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return [...new Set(out)].sort();
}
