import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { closeMemory } from '../../activities/memory/index';
import type { MemorySearchHit } from '../../workflows/memory/definitions';
import { calcScript } from '../support/calc-script';
import { useJobStack, type JobStack } from '../support/job-stack';
import { dropQdrantCollections, qdrantRest } from '../support/qdrant-server';

/**
 * A whole job and a repository index with MEMORY_STORE=qdrant on the real Qdrant, beside the same
 * runs on the embedded store: the memory that reaches the prompt, and what a search finds, must be
 * the same on both. Real workers, Temporal, sandbox and linters; only the model is scripted.
 */

const QDRANT_URL = process.env.QDRANT_URL!;
/** Collections of this file's own on the Qdrant (`<prefix>_code`…), dropped at the end. */
const collectionPrefix = `qjobs-${randomUUID().slice(0, 8)}`;
const STORES = ['embedded', 'qdrant'] as const;
type StoreKind = (typeof STORES)[number];

interface Seen {
  /** The memory section of the second job's generate prompt. */
  memory: string;
  hits: Pick<MemorySearchHit, 'path' | 'symbol' | 'text' | 'score'>[];
  context: string;
}
const seen: Partial<Record<StoreKind, Seen>> = {};

function repository(): string {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-qdrant-index-'));
  fs.mkdirSync(path.join(repo, 'src'));
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
  fs.writeFileSync(path.join(repo, 'README.md'), '# Billing\n\nInvoices and their reminders.\n');
  return repo;
}

async function runJob(stack: JobStack, project: string, description: string): Promise<void> {
  stack.model.reset();
  stack.model.setScript(calcScript());
  const started = await request(stack.app)
    .post('/api/workflows')
    .send({ task: 'generate', language: 'python', project, description })
    .expect(202);
  const res = await request(stack.app).get(`/api/workflows/${started.body.workflowId}/result?wait=100000`).expect(200);
  expect(res.body.result.outcome).toBe('succeeded');
}

async function indexed(stack: JobStack, repo: string, project: string): Promise<void> {
  await request(stack.app).post('/api/index').send({ path: repo, project }).expect(202);
  for (;;) {
    const progress = await request(stack.app).get(`/api/index/${project}`).expect(200);
    if (progress.body.status !== 'RUNNING') {
      expect(progress.body).toMatchObject({ status: 'COMPLETED', progress: { phase: 'done', filesIndexed: 4 } });
      return;
    }
    await sleep(100);
  }
}

async function qdrantPoints(collection: string, project: string): Promise<number> {
  const { count } = await qdrantRest<{ count: number }>(
    QDRANT_URL,
    'POST',
    `/collections/${collectionPrefix}_${collection}/points/count`,
    { exact: true, filter: { must: [{ key: 'project', match: { value: project } }] } },
  );
  return count;
}

afterAll(async () => {
  await dropQdrantCollections(QDRANT_URL, collectionPrefix);
});

describe.each(STORES)('memory on the %s store', (store) => {
  const stack = useJobStack({
    env: {
      MEMORY_STORE: store,
      QDRANT_URL,
      TEMPORAL_TASK_QUEUE_PREFIX: collectionPrefix,
      // Part of the response cache's key: the second store's jobs must reach the model, not the cache.
      OPENAI_MODEL: `scripted-${store}`,
    },
  });
  // The next describe opens the store its own environment names.
  afterAll(closeMemory);
  const project = `calc-${store}-${randomUUID().slice(0, 8)}`;

  test("a job recalls the project's earlier job into its generate prompt", async () => {
    await runJob(stack, project, 'an add(a, b) function for the calculator');
    await runJob(stack, project, 'an add(a, b) function for the calculator, with a docstring');

    const prompt = stack.model.chatRequests().find((r) => !/test engineer|code reviewer|fixing code/.test(r.system));
    const memory = prompt!.user.slice(prompt!.user.indexOf('Code from earlier jobs (reference only'));
    expect(memory).toContain('<reference>\n### ');
    expect(memory).toContain('return a + b');
    seen[store] = { ...seen[store]!, memory };
    if (store === 'qdrant') {
      expect(await qdrantPoints('code', project)).toBeGreaterThan(0);
      expect(await qdrantPoints('fixes', project)).toBeGreaterThan(0);
      expect(memory).toBe(seen.embedded?.memory);
    }
  });

  test('indexes a repository through the API, and a search finds the right function', async () => {
    const repoProject = `repo-${project}`;
    await indexed(stack, repository(), repoProject);
    const found = await request(stack.app)
      .post('/api/memory/search')
      .send({ query: 'invoice total amount', project: repoProject, collections: ['code'], topK: 5 })
      .expect(200);
    const hits = (found.body.hits as MemorySearchHit[]).map(({ path, symbol, text, score }) => ({
      path,
      symbol,
      text,
      score,
    }));
    expect(hits[0]).toMatchObject({ path: 'src/billing.py', symbol: 'Invoice.total_amount' });
    seen[store] = { ...seen[store]!, hits, context: found.body.context as string };
    if (store === 'qdrant') {
      expect(await qdrantPoints('code', repoProject)).toBeGreaterThanOrEqual(4);
      expect(hits.map((h) => `${h.path} ${h.symbol}`)).toEqual(seen.embedded?.hits.map((h) => `${h.path} ${h.symbol}`));
      hits.forEach((hit, i) => expect(hit.score).toBeCloseTo(seen.embedded!.hits[i]!.score, 3));
      expect(found.body.context).toBe(seen.embedded?.context);
    }
  });
});
