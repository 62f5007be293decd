import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import * as activities from '../../activities/memory';
import { projectRoot } from '../../common/config';
import {
  indexProgressQuery,
  indexWorkflowId,
  type IndexRepositoryInput,
} from '../../workflows/index-repository/definitions';
import { indexRepositoryWorkflow } from '../../workflows/index-repository/workflow';
import { searchMemoryWorkflow } from '../../workflows/memory/workflow';
import { maybeRecordHistory } from '../support/histories';
import { testClient, testWorkerConnection, uniqueTaskQueue } from '../support/temporal';

const prefix = uniqueTaskQueue('index-repo');
let client: Client;
let connection: NativeConnection;
let workers: Worker[];
let running: Promise<void>[];

beforeAll(async () => {
  client = await testClient();
  connection = await testWorkerConnection();
  workers = [
    await Worker.create({
      connection,
      taskQueue: `${prefix}-workflows`,
      workflowsPath: require.resolve('../support/memory-workflows'),
    }),
    await Worker.create({ connection, taskQueue: `${prefix}-memory`, activities }),
  ];
  running = workers.map((w) => w.run());
});

afterAll(async () => {
  workers.forEach((w) => w.shutdown());
  await Promise.all(running);
  await connection.close();
  await client.connection.close();
});

function index(input: IndexRepositoryInput, suffix = '') {
  return client.workflow.execute(indexRepositoryWorkflow, {
    taskQueue: `${prefix}-workflows`,
    workflowId: `${indexWorkflowId(input.project)}${suffix}`,
    args: [input],
  });
}

function search(query: string, project: string) {
  return client.workflow.execute(searchMemoryWorkflow, {
    taskQueue: `${prefix}-workflows`,
    workflowId: `search-${Math.random().toString(36).slice(2)}`,
    args: [{ query, project, collections: ['code'], topK: 5 }],
  });
}

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd, stdio: 'ignore' });
}

describe('repository indexing workflow', () => {
  test('indexes this repository and finds the right function for a natural-language query', async () => {
    const project = `self-${prefix}`;
    const result = await index({ repoPath: projectRoot, project });
    expect(result.phase).toBe('done');
    expect(result.totalFiles).toBeGreaterThan(20);
    expect(result.chunksIndexed).toBeGreaterThan(result.totalFiles);

    const found = await search('content addressed artifact store put', project);
    expect(found.hits[0]).toMatchObject({ path: 'common/artifact-store.ts', symbol: 'ArtifactStore.put' });
    expect(found.context).toContain('ArtifactStore.put');
    expect(found.hits.every((h) => !h.path?.includes('node_modules'))).toBe(true);

    // Nothing changed, so the second run embeds nothing.
    const again = await index({ repoPath: projectRoot, project }, ':again');
    expect(again).toMatchObject({ changedFiles: 0, filesIndexed: 0, totalFiles: result.totalFiles });
    await maybeRecordHistory(client, indexWorkflowId(project), 'index-repository', 'self-repository');
  });

  test('re-indexes only changed files, drops removed ones, skips vendored and binary files, and continues as new', async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-index-repo-'));
    fs.mkdirSync(path.join(repo, 'node_modules/lib'), { recursive: true });
    fs.mkdirSync(path.join(repo, 'src'));
    fs.writeFileSync(path.join(repo, 'node_modules/lib/index.js'), 'function vendoredHelper() {}\n');
    fs.writeFileSync(path.join(repo, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1]));
    fs.writeFileSync(
      path.join(repo, 'src/billing.py'),
      'class Invoice:\n    """An invoice."""\n\n    def total_amount(self):\n        return sum(self.lines)\n\n\ndef send_reminder_email(invoice):\n    return invoice\n',
    );
    fs.writeFileSync(
      path.join(repo, 'src/shipping.ts'),
      'export function computeShippingCost(weightKg: number) {\n  return weightKg * 2;\n}\n',
    );
    fs.writeFileSync(
      path.join(repo, 'src/legacy.ts'),
      'export function parseLegacyFormat(row: string) {\n  return row;\n}\n',
    );
    git(repo, 'init', '-q');
    git(repo, 'add', 'src', 'logo.png');
    const project = `tmp-${prefix}`;

    const chain = await client.workflow.start(indexRepositoryWorkflow, {
      taskQueue: `${prefix}-workflows`,
      workflowId: indexWorkflowId(project),
      args: [{ repoPath: repo, project, batchSize: 1, batchesPerRun: 1 }],
    });
    const first = await chain.result();
    expect(first).toMatchObject({ phase: 'done', totalFiles: 3, changedFiles: 3, filesIndexed: 3, removedFiles: 0 });
    expect(first.runs).toBeGreaterThanOrEqual(3);
    expect(first.skippedFiles).toBeGreaterThanOrEqual(1);
    // The run that plans and continues as new, and the last run, which resumes from its offset.
    await maybeRecordHistory(
      client,
      chain.workflowId,
      'index-repository',
      'continued-as-new-first-run',
      chain.firstExecutionRunId,
    );
    await maybeRecordHistory(client, chain.workflowId, 'index-repository', 'continued-as-new-last-run');
    expect((await search('invoice total amount', project)).hits[0]).toMatchObject({
      path: 'src/billing.py',
      symbol: 'Invoice.total_amount',
    });

    fs.writeFileSync(
      path.join(repo, 'src/shipping.ts'),
      'export function computeInsurancePremium(value: number) {\n  return value * 0.01;\n}\n',
    );
    fs.rmSync(path.join(repo, 'src/legacy.ts'));
    const handle = await client.workflow.start(indexRepositoryWorkflow, {
      taskQueue: `${prefix}-workflows`,
      workflowId: `${indexWorkflowId(project)}:second`,
      args: [{ repoPath: repo, project }],
    });
    const second = await handle.result();
    expect(second).toMatchObject({ totalFiles: 2, changedFiles: 1, filesIndexed: 1, removedFiles: 1 });
    expect(await handle.query(indexProgressQuery)).toEqual(second);
    await maybeRecordHistory(client, handle.workflowId, 'index-repository', 'changed-and-removed-files');

    const symbols = (await search('insurance premium shipping legacy format', project)).hits.map((h) => h.symbol);
    expect(symbols).toContain('computeInsurancePremium');
    expect(symbols).not.toContain('computeShippingCost');
    expect(symbols).not.toContain('parseLegacyFormat');
    expect(symbols).not.toContain('vendoredHelper');
  });

  test('fails with a non-retryable RepositoryInvalid for a path that does not exist', async () => {
    const project = `missing-${prefix}`;
    const missing = path.join(os.tmpdir(), `sophia-no-such-repository-${prefix}`);
    await expect(index({ repoPath: missing, project })).rejects.toMatchObject({
      cause: { cause: { type: 'RepositoryInvalid' } },
    });
    await maybeRecordHistory(client, indexWorkflowId(project), 'index-repository', 'repository-invalid');
  });
});
