import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import request from 'supertest';
import type { TemporalGateway } from '../../api/temporal-gateway';
import { projectRoot } from '../../common/config';
import { recordHistory } from '../../scripts/record-history';
import type { ScheduledReviewResult } from '../../workflows/scheduled-review/definitions';
import { testApp } from '../support/api';
import { testClient } from '../support/temporal';
import { startWorkers, type RunningWorkers } from '../support/workers';

/**
 * Scheduled reviews end to end: the schedules API on the real dev server, real workflow and sandbox
 * workers, real ruff and pytest in the sandbox, over a repository directory on disk.
 * RECORD_HISTORIES=1 also writes the second review's history for the replay tests.
 */

let workers: RunningWorkers;
let gateway: TemporalGateway;
let client: Client;
let app: Express;
let repo: string;
const created: string[] = [];

const CALC_V1 = [
  'import os',
  '',
  '',
  'def total(values):',
  '    if values == None:',
  '        return 0',
  '    return sum(values)',
  '',
];
// Fixes E711, adds an unused `sys`, and moves `import os` down a line: it stays the same open finding.
const CALC_V2 = [
  '"""Sums."""',
  'import os',
  'import sys',
  '',
  '',
  'def total(values):',
  '    if values is None:',
  '        return 0',
  '    return sum(values)',
  '',
];
const TEST_CALC = [
  'from calc import total',
  '',
  '',
  'def test_total():',
  '    if total([1, 2]) != 3:',
  '        raise AssertionError',
  '',
];

function write(file: string, lines: string[]): void {
  fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
  fs.writeFileSync(path.join(repo, file), lines.join('\n'));
}

beforeAll(async () => {
  workers = await startWorkers(['workflows', 'sandbox']);
  ({ app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: workers.prefix }));
  client = await testClient();
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-review-repo-'));
});

afterAll(async () => {
  for (const id of created)
    await client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  await workers?.stop();
  await gateway?.close();
  await client?.connection.close();
  fs.rmSync(repo, { recursive: true, force: true });
});

function uniqueId(name: string): string {
  const id = `${name}-${workers.prefix}`;
  created.push(id);
  return id;
}

/** Waits until the schedule has taken `count` actions and returns the result of the last one. */
async function reviewRun(scheduleId: string, count: number, waitMs = 10_000) {
  let runs: { workflowId: string; runId: string }[] = [];
  for (let i = 0; i < waitMs / 100 && runs.length < count; i++) {
    const res = await request(app).get(`/api/schedules/${scheduleId}`).expect(200);
    runs = res.body.recentRuns;
    if (runs.length < count) await new Promise((r) => setTimeout(r, 100));
  }
  expect(runs).toHaveLength(count);
  const run = runs[count - 1]!;
  const handle = client.workflow.getHandle(run.workflowId, run.runId);
  return { ...run, handle, result: (await handle.result()) as ScheduledReviewResult };
}

const brief = (findings: { file: string; rule: string; line: number }[]) =>
  findings.map((f) => `${f.file}:${f.line}:${f.rule}`);

describe('scheduled review workflows', () => {
  test('reports every finding as new on the first run, then exactly what was fixed and what is new after an edit', async () => {
    write('calc.py', CALC_V1);
    write('test_calc.py', TEST_CALC);
    // Neither vendored code nor binaries are reviewed.
    write('node_modules/pkg/bad.py', ['import os', '']);
    fs.writeFileSync(path.join(repo, 'blob.py'), Buffer.from([0x00, 0x01, 0x02]));

    const scheduleId = uniqueId('calc');
    const createdRes = await request(app)
      .post('/api/schedules')
      .send({ scheduleId, repositoryPath: repo, language: 'python', project: 'calc', runTests: true })
      .expect(201);
    expect(createdRes.body).toMatchObject({
      scheduleId,
      paused: false,
      links: { self: `/api/schedules/${scheduleId}` },
    });

    await request(app).post(`/api/schedules/${scheduleId}/trigger`).expect(202);
    const first = await reviewRun(scheduleId, 1);
    // The run's id embeds the tenant: `local` on an API without keys.
    expect(first.workflowId).toMatch(new RegExp(`^review-local:${scheduleId}-`));
    expect(first.result.fileCount).toBe(2);
    expect(first.result.tests).toMatchObject({ passed: 1, failed: 0, errors: 0 });
    expect(first.result.comparison).toMatchObject({ firstRun: true, counts: { new: 2, fixed: 0, stillOpen: 0 } });
    expect(brief(first.result.comparison.new)).toEqual(['calc.py:1:F401', 'calc.py:5:E711']);
    const description = await first.handle.describe();
    const attrs = Object.fromEntries(description.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]));
    expect(attrs).toMatchObject({
      SophiaTaskKind: 'review',
      SophiaProject: 'calc',
      SophiaPhase: 'DONE',
      SophiaOutcome: 'succeeded',
    });

    write('calc.py', CALC_V2);
    await request(app).post(`/api/schedules/${scheduleId}/trigger`).expect(202);
    const second = await reviewRun(scheduleId, 2);
    expect(second.result.comparison).toMatchObject({
      firstRun: false,
      counts: { new: 1, fixed: 1, stillOpen: 1 },
      previous: { workflowId: first.workflowId, runId: first.runId },
      summary: '1 new, 1 fixed, 1 still open',
    });
    expect(brief(second.result.comparison.new)).toEqual(['calc.py:3:F401']);
    expect(second.result.comparison.new[0]?.message).toContain('`sys`');
    expect(brief(second.result.comparison.fixed)).toEqual(['calc.py:5:E711']);
    expect(brief(second.result.comparison.stillOpen)).toEqual(['calc.py:2:F401']);
    expect(second.result.tests).toMatchObject({ passed: 1, previous: { passed: 1, failed: 0 } });

    const latest = await request(app).get(`/api/schedules/${scheduleId}/latest`).expect(200);
    expect(latest.body).toMatchObject({
      workflowId: second.workflowId,
      status: 'COMPLETED',
      result: { comparison: { summary: '1 new, 1 fixed, 1 still open' } },
    });

    if (process.env.RECORD_HISTORIES === '1') {
      const dir = path.join(projectRoot, 'tests/support/histories/scheduled-review');
      await recordHistory(client, second.workflowId, dir, { name: 'second-run-new-and-fixed', runId: second.runId });
    }
  });

  test('runs a review by itself when its interval comes round, with no trigger', async () => {
    const scheduleId = uniqueId('interval');
    await request(app)
      .post('/api/schedules')
      .send({ scheduleId, repositoryPath: repo, language: 'python', intervalSeconds: 10 })
      .expect(201);
    const described = await request(app).get(`/api/schedules/${scheduleId}`).expect(200);
    expect(described.body).toMatchObject({ intervalSeconds: 10, overlap: 'SKIP', paused: false });
    // Interval schedules fire on multiples of the interval since the epoch: within 10 s here.
    const run = await reviewRun(scheduleId, 1, 15_000);
    expect(run.result.comparison.firstRun).toBe(true);
    await request(app).post(`/api/schedules/${scheduleId}/pause`).expect(200);
  });

  test('pauses, unpauses, describes, lists and deletes a schedule through the API', async () => {
    const scheduleId = uniqueId('lifecycle');
    await request(app)
      .post('/api/schedules')
      .send({ scheduleId, repositoryPath: repo, language: 'Python', cron: '0 3 * * *', paused: true, note: 'set up' })
      .expect(201);

    const described = await request(app).get(`/api/schedules/${scheduleId}`).expect(200);
    expect(described.body).toMatchObject({
      scheduleId,
      repositoryPath: repo,
      language: 'python',
      project: 'default',
      cron: '0 3 * * *',
      workflowType: 'scheduledReviewWorkflow',
      overlap: 'SKIP',
      paused: true,
      note: 'set up',
      recentRuns: [],
    });
    expect(described.body.nextRunTimes.length).toBeGreaterThan(0);
    expect(new Date(described.body.nextRunTimes[0]).getUTCHours()).toBe(3);

    const unpaused = await request(app).post(`/api/schedules/${scheduleId}/unpause`).send({ note: 'go' }).expect(200);
    expect(unpaused.body).toMatchObject({ paused: false, note: 'go' });
    const paused = await request(app)
      .post(`/api/schedules/${scheduleId}/pause`)
      .send({ note: 'maintenance' })
      .expect(200);
    expect(paused.body).toMatchObject({ paused: true, note: 'maintenance' });

    // The schedule list comes from the visibility store, which lags a little behind a create.
    let listed: { scheduleId: string; paused: boolean }[] = [];
    for (let i = 0; i < 50 && !listed.some((s) => s.scheduleId === scheduleId); i++) {
      listed = (await request(app).get('/api/schedules').expect(200)).body.schedules;
      if (!listed.some((s) => s.scheduleId === scheduleId)) await new Promise((r) => setTimeout(r, 200));
    }
    expect(listed.find((s) => s.scheduleId === scheduleId)).toMatchObject({ repositoryPath: repo, cron: '0 3 * * *' });

    await request(app).delete(`/api/schedules/${scheduleId}`).expect(204);
    const gone = await request(app).get(`/api/schedules/${scheduleId}`).expect(404);
    expect(gone.body.error.code).toBe('ScheduleNotFound');
  });

  test('answers 404 for an unknown schedule, 409 for a duplicate id and 400 for an invalid body', async () => {
    for (const call of [
      request(app).get('/api/schedules/no-such-schedule'),
      request(app).post('/api/schedules/no-such-schedule/trigger'),
      request(app).post('/api/schedules/no-such-schedule/pause'),
      request(app).delete('/api/schedules/no-such-schedule'),
      request(app).get('/api/schedules/no-such-schedule/latest'),
    ]) {
      const res = await call.expect(404);
      expect(res.body.error).toMatchObject({ code: 'ScheduleNotFound', details: { scheduleId: 'no-such-schedule' } });
    }

    const scheduleId = uniqueId('duplicate');
    const body = { scheduleId, repositoryPath: repo, language: 'python', paused: true };
    await request(app).post('/api/schedules').send(body).expect(201);
    const duplicate = await request(app).post('/api/schedules').send(body).expect(409);
    expect(duplicate.body.error.code).toBe('ScheduleExists');
    const notYet = await request(app).get(`/api/schedules/${scheduleId}/latest`).expect(409);
    expect(notYet.body.error.code).toBe('ReviewNotReady');

    const invalid = async (send: object, field: string) => {
      const res = await request(app).post('/api/schedules').send(send).expect(400);
      expect(res.body.error.code).toBe('InvalidInput');
      expect(res.body.error.details.fields.map((f: { path: string }) => f.path)).toContain(field);
    };
    await invalid({ repositoryPath: 'relative/path', language: 'python' }, 'repositoryPath');
    await invalid({ repositoryPath: repo, language: 'cobol' }, 'language');
    await invalid({ repositoryPath: repo, language: 'python', cron: '0 3 * * *', intervalSeconds: 3600 }, 'cron');
    await invalid({ repositoryPath: repo, language: 'python', intervalSeconds: 1 }, 'intervalSeconds');
    await invalid({ repositoryPath: repo, language: 'python', scheduleId: 'no spaces' }, 'scheduleId');
    // Shaped like cron, but minute 61 does not exist: Temporal rejects it and the API says so.
    await invalid(
      { scheduleId: uniqueId('bad-cron'), repositoryPath: repo, language: 'python', cron: '61 * * * *' },
      'cron',
    );
    await request(app).post(`/api/schedules/${scheduleId}/pause`).send({ reason: 'x' }).expect(400);
  });

  test('fails the run with RepositoryInvalid when the repository path does not exist, and latest says so', async () => {
    const scheduleId = uniqueId('missing');
    await request(app)
      .post('/api/schedules')
      .send({ scheduleId, repositoryPath: path.join(repo, 'does-not-exist'), language: 'python' })
      .expect(201);
    await request(app).post(`/api/schedules/${scheduleId}/trigger`).expect(202);
    await expect(reviewRun(scheduleId, 1)).rejects.toMatchObject({ cause: { type: 'RepositoryInvalid' } });
    const latest = await request(app).get(`/api/schedules/${scheduleId}/latest`).expect(200);
    expect(latest.body).toMatchObject({ status: 'FAILED', error: { code: 'RepositoryInvalid' } });
  });
});
