import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import express from 'express';
import request from 'supertest';
import * as activities from '../../activities/memory';
import { parseConfig } from '../../common/config';
import { logger } from '../../common/logger';
import { Authenticator } from '../../api/auth';
import { errorMiddleware } from '../../api/errors';
import { indexRouter, memoryRouter } from '../../api/routes/memory';
import { SEARCH_MEMORY_WORKFLOW, STORE_MEMORY_WORKFLOW } from '../../workflows/memory/definitions';
import { maybeRecordHistory } from '../support/histories';
import { testClient, testWorkerConnection, uniqueTaskQueue } from '../support/temporal';

const prefix = uniqueTaskQueue('memory-api');
let client: Client;
let connection: NativeConnection;
let workers: Worker[];
let running: Promise<void>[];
let app: express.Express;

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
  const cfg = parseConfig({ ...process.env, TEMPORAL_TASK_QUEUE_PREFIX: prefix });
  app = express();
  app.use(express.json());
  // An API without keys: every caller is the single tenant `local`.
  app.use(new Authenticator(cfg).middleware());
  app.use('/api/memory', memoryRouter({ client, cfg }));
  app.use('/api/index', indexRouter({ client, cfg }));
  app.use(errorMiddleware(logger('test')));
});

afterAll(async () => {
  workers.forEach((w) => w.shutdown());
  await Promise.all(running);
  await connection.close();
  await client.connection.close();
});

/**
 * With RECORD_HISTORIES=1, records a finished run of `workflowType` from this file's queue: the API
 * starts these workflows under ids of its own, so the run is found through visibility.
 */
async function recordFinished(workflowType: string, folder: string, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const query = `WorkflowType = '${workflowType}' AND TaskQueue = '${prefix}-workflows' AND ExecutionStatus = 'Completed'`;
  for (let attempt = 0; attempt < 50; attempt++) {
    for await (const run of client.workflow.list({ query })) {
      return maybeRecordHistory(client, run.workflowId, folder, name, run.runId);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no finished ${workflowType} on ${prefix}-workflows to record`);
}

describe('memory API', () => {
  test('stores a fix and finds it again by a related query, with a prompt context', async () => {
    const stored = await request(app)
      .post('/api/memory')
      .send({
        collection: 'fixes',
        project: prefix,
        language: 'python',
        text: 'def parse_iso_date(value):\n    return datetime.fromisoformat(value.replace("Z", "+00:00"))',
        tags: ['dates'],
        survived: true,
      })
      .expect(201);
    expect(stored.body).toEqual({ ids: [expect.stringMatching(/^[0-9a-f-]{36}$/)], stored: 1 });

    // The same store again is the same workflow and the same id.
    const again = await request(app)
      .post('/api/memory')
      .send({
        collection: 'fixes',
        project: prefix,
        language: 'python',
        text: 'def parse_iso_date(value):\n    return datetime.fromisoformat(value.replace("Z", "+00:00"))',
        tags: ['dates'],
        survived: true,
      })
      .expect(201);
    expect(again.body.ids).toEqual(stored.body.ids);

    const found = await request(app)
      .post('/api/memory/search')
      .send({ query: 'parse an ISO date string', project: prefix, survived: true })
      .expect(200);
    expect(found.body.hits[0]).toMatchObject({ id: stored.body.ids[0], collection: 'fixes', survived: true });
    expect(found.body.context).toContain('parse_iso_date');
    await recordFinished(STORE_MEMORY_WORKFLOW, 'store-memory', 'store-a-fix');
    await recordFinished(SEARCH_MEMORY_WORKFLOW, 'search-memory', 'search-finds-the-fix');
  });

  test('answers 400 with the field paths for an invalid body', async () => {
    const res = await request(app).post('/api/memory/search').send({ query: '', topK: 500 }).expect(400);
    expect(res.body.error.details.fields.map((f: { path: string }) => f.path).sort()).toEqual(['query', 'topK']);
    await request(app).post('/api/index').send({ path: 'relative/path', project: 'x' }).expect(400);
  });

  test('starts indexing a repository and reports its progress by project', async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-api-index-'));
    fs.writeFileSync(path.join(repo, 'tax.py'), 'def compute_vat(amount):\n    return amount * 0.2\n');
    const project = `api-${prefix}`;
    const started = await request(app).post('/api/index').send({ path: repo, project }).expect(202);
    expect(started.body.workflowId).toBe(`index-repository:local:${project}`);
    await client.workflow.getHandle(started.body.workflowId).result();

    const progress = await request(app).get(`/api/index/${project}`).expect(200);
    expect(progress.body).toMatchObject({
      status: 'COMPLETED',
      progress: { phase: 'done', totalFiles: 1, filesIndexed: 1 },
    });
    await request(app).get('/api/index/never-indexed-project').expect(404);
  });
});
