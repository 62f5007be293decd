import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import request from 'supertest';
import { QdrantMemoryStore } from '../../activities/memory/qdrant-store';
import { memoryId, type MemoryRecord } from '../../activities/memory/store';
import { calcScript } from '../support/calc-script';
import { useJobStack } from '../support/job-stack';
import { qdrantRest, TestQdrant } from '../support/qdrant-server';

/**
 * Qdrant goes down and comes back: a real Qdrant server of this file's own, killed (SIGKILL) and
 * restarted on the same port and storage, under the adapter and under a running job.
 */

const EMBEDDER = { name: 'hash-code-v1', dimension: 4 };

describe('the Qdrant adapter when Qdrant is down', () => {
  let qdrant: TestQdrant;
  beforeAll(async () => {
    qdrant = await TestQdrant.start();
  });
  afterAll(async () => {
    await qdrant.close();
  });

  test('answers a retryable DependencyUnavailable while it is down, and finds every record once it is back', async () => {
    const store = new QdrantMemoryStore({ url: qdrant.url, collectionPrefix: 'outage' });
    const record: MemoryRecord = {
      id: memoryId('kept'),
      text: 'kept across the crash',
      vector: [1, 0, 0, 0],
      payload: { project: 'p', collection: 'code' },
    };
    await store.ensureCollection('code', EMBEDDER);
    await store.upsert('code', [record]);

    await qdrant.stop();
    const down = store.search({ collection: 'code', vector: [1, 0, 0, 0], topK: 3 });
    await expect(down).rejects.toBeInstanceOf(ApplicationFailure);
    await expect(down).rejects.toMatchObject({ type: 'DependencyUnavailable', nonRetryable: false });
    await expect(store.upsert('code', [record])).rejects.toMatchObject({ type: 'DependencyUnavailable' });

    await qdrant.start();
    const hits = await store.search({ collection: 'code', vector: [1, 0, 0, 0], topK: 3 });
    expect(hits.map((h) => h.text)).toEqual(['kept across the crash']);
  });
});

describe('a job on Qdrant memory when Qdrant goes down mid-job', () => {
  let qdrant: TestQdrant;
  const env: Record<string, string> = { MEMORY_STORE: 'qdrant' };
  beforeAll(async () => {
    qdrant = await TestQdrant.start();
    env.QDRANT_URL = qdrant.url;
  });
  // Registered after the Qdrant hook, so the workers start with its address.
  const stack = useJobStack({ env });
  afterAll(async () => {
    await qdrant.close();
  });

  test('the memory step fails as DependencyUnavailable while Qdrant is down, and the job finishes and remembers once it is back', async () => {
    stack.model.reset();
    stack.model.setScript(calcScript());
    const project = `outage-${Date.now()}`;
    const started = await request(stack.app)
      .post('/api/workflows')
      .send({
        task: 'generate',
        language: 'python',
        project,
        description: 'an add(a, b) function, remembered across a Qdrant restart',
        options: { requireApproval: true },
      })
      .expect(202);
    const id = started.body.workflowId as string;
    for (;;) {
      const status = await request(stack.app).get(`/api/workflows/${id}`).expect(200);
      if (status.body.phase === 'AWAITING_APPROVAL') break;
      expect(status.body.outcome).toBe('running');
      await sleep(100);
    }

    // Approved while Qdrant is down: storing the job's memory is the next step, and it cannot.
    await qdrant.stop();
    await request(stack.app).post(`/api/workflows/${id}/approve`).send({}).expect(200);
    const handle = stack.client.workflow.getHandle(id);
    for (;;) {
      const { raw } = await handle.describe();
      const pending = raw.pendingActivities?.find((a) => a.activityType?.name === 'rememberJob');
      const failure = pending?.lastFailure?.applicationFailureInfo;
      if (failure) {
        expect(failure).toMatchObject({ type: 'DependencyUnavailable', nonRetryable: false });
        expect(pending!.lastFailure!.message).toContain(`Qdrant at ${qdrant.url}`);
        break;
      }
      await sleep(50);
    }

    await qdrant.start();
    const res = await request(stack.app).get(`/api/workflows/${id}/result?wait=60000`).expect(200);
    expect(res.body.result.outcome).toBe('succeeded');
    // The step that stored the memory is a later attempt of the one that failed: the job resumed, not restarted.
    const events = (await handle.fetchHistory()).events!;
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'rememberJob');
    const lastStart = events.find(
      (e) =>
        e.activityTaskStartedEventAttributes &&
        String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(scheduled!.eventId),
    );
    expect(Number(lastStart!.activityTaskStartedEventAttributes!.attempt)).toBeGreaterThan(1);
    const { count } = await qdrantRest<{ count: number }>(qdrant.url, 'POST', '/collections/sophia_code/points/count', {
      exact: true,
      filter: { must: [{ key: 'project', match: { value: project } }] },
    });
    expect(count).toBeGreaterThan(0);
  });
});
