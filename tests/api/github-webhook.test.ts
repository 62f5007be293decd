import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import request from 'supertest';
import type { TemporalGateway } from '../../api/temporal-gateway';
import type { CodingJobInput } from '../../workflows/coding-job/definitions';
import { testApp } from '../support/api';
import { testClient, uniqueTaskQueue } from '../support/temporal';

/**
 * `POST /api/hooks/github` against the real API and a real Temporal, with deliveries in the payload
 * shapes of GitHub's webhook documentation (tests/support/recordings/github, labelled there). No worker
 * serves this prefix: what is checked is which job the API starts, and how often.
 */

const prefix = uniqueTaskQueue('hooks');
const SECRET = 'whsec-acme-0123456789abcdef';
const OTHER_SECRET = 'whsec-other-0123456789abcdef';
const CLONE_URL = 'git://127.0.0.1:9/acme/widgets.git';
let app: Express;
let gateway: TemporalGateway;
let client: Client;
let dir: string;
const started: string[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-hooks-'));
  const credentials = path.join(dir, 'credentials.json');
  fs.writeFileSync(
    credentials,
    JSON.stringify({
      tenants: {
        acme: { webhook: { secret: SECRET, repositories: ['acme/widgets'], label: 'sophia' } },
        other: { webhook: { secret: OTHER_SECRET, repositories: ['other/thing'] } },
      },
    }),
  );
  ({ app, gateway } = testApp({ TEMPORAL_TASK_QUEUE_PREFIX: prefix, SOPHIA_GIT_CREDENTIALS_FILE: credentials }));
  client = await testClient();
});

afterAll(async () => {
  for (const id of started)
    await client.workflow
      .getHandle(id)
      .terminate('test over')
      .catch(() => undefined);
  await gateway.close();
  await client.connection.close();
  process.env = saved;
  fs.rmSync(dir, { recursive: true, force: true });
});

function payload(name: string, fields: Record<string, string> = {}): Buffer {
  const raw = fs.readFileSync(path.join(__dirname, '../support/recordings/github', name), 'utf8');
  const filled = raw.replace(/\{\{(\w+)\}\}/g, (_, k: string) => JSON.stringify(fields[k] ?? '').slice(1, -1));
  return Buffer.from(JSON.stringify(JSON.parse(filled)));
}

function deliver(event: string, body: Buffer, delivery: string, secret = SECRET) {
  return request(app)
    .post('/api/hooks/github')
    .set('content-type', 'application/json')
    .set('x-github-event', event)
    .set('x-github-delivery', delivery)
    .set('x-hub-signature-256', `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`)
    .send(body.toString('utf8'));
}

async function inputOf(workflowId: string): Promise<CodingJobInput> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const data = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  return JSON.parse(Buffer.from(data!).toString('utf8')) as CodingJobInput;
}

const delivery = (name: string) => `${name}-${prefix}`;

describe('the GitHub webhook', () => {
  it('answers a signed ping, and refuses a missing, wrong or other tenant signature', async () => {
    const body = payload('webhook-ping.json');
    const pong = await deliver('ping', body, delivery('ping')).expect(200);
    expect(pong.body.answer).toBe('pong');
    await deliver('ping', body, delivery('ping-2'), OTHER_SECRET).expect(401);
    await deliver('ping', body, delivery('ping-3'), 'whsec-wrong-0123456789abcdef').expect(401);
    const unsigned = await request(app)
      .post('/api/hooks/github')
      .set('content-type', 'application/json')
      .set('x-github-event', 'ping')
      .set('x-github-delivery', delivery('ping-4'))
      .send(body.toString('utf8'))
      .expect(401);
    expect(unsigned.body.error.code).toBe('SignatureInvalid');
    // The body changed after signing: the signature no longer verifies.
    const tampered = Buffer.from(body.toString('utf8').replace('Design for failure', 'Design for success'));
    expect(tampered.equals(body)).toBe(false);
    const signed = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    await request(app)
      .post('/api/hooks/github')
      .set('content-type', 'application/json')
      .set('x-github-event', 'ping')
      .set('x-github-delivery', delivery('ping-5'))
      .set('x-hub-signature-256', signed)
      .send(tampered.toString('utf8'))
      .expect(401);
  });

  it('starts one job with a pull request for a labelled issue, exactly once per delivery', async () => {
    const body = payload('webhook-issues-labeled.json', { clone_url: CLONE_URL });
    const id = delivery('labeled');
    // The same delivery twice at once, then once more: one job.
    const [a, b] = await Promise.all([deliver('issues', body, id), deliver('issues', body, id)]);
    const again = await deliver('issues', body, id).expect(200);
    expect([a.status, b.status].sort()).toEqual([200, 202]);
    const workflowId = again.body.workflowId as string;
    started.push(workflowId);
    expect(a.body.workflowId).toBe(workflowId);
    expect(b.body.workflowId).toBe(workflowId);
    expect(workflowId).toBe(`job-acme.gh-${id}`);
    expect(again.body.duplicate).toBe(true);
    const input = await inputOf(workflowId);
    expect(input).toMatchObject({
      tenant: 'acme',
      task: 'refactor',
      repository: { url: CLONE_URL, forge: 'github', ref: 'main' },
      options: { pullRequest: true },
    });
    expect(input.description).toContain('add(*values)');

    // Another delivery of another event is another job.
    const other = await deliver('issues', body, delivery('labeled-2')).expect(202);
    started.push(other.body.workflowId);
    expect(other.body.workflowId).not.toBe(workflowId);
  });

  it('starts a review of the pull request head for "@sophia review", posted back, and ignores other comments', async () => {
    const review = await deliver(
      'issue_comment',
      payload('webhook-issue-comment-created.json', { clone_url: CLONE_URL, comment: 'LGTM?\n@sophia review please' }),
      delivery('review'),
    ).expect(202);
    started.push(review.body.workflowId);
    expect(await inputOf(review.body.workflowId)).toMatchObject({
      task: 'review',
      repository: { url: CLONE_URL, ref: 'refs/pull/7/head' },
      options: { commentOn: 7 },
    });
    const chatter = await deliver(
      'issue_comment',
      payload('webhook-issue-comment-created.json', { clone_url: CLONE_URL, comment: 'looks good to me' }),
      delivery('chatter'),
    ).expect(202);
    expect(chatter.body).toMatchObject({ ignored: 'issue_comment.created' });
    expect(chatter.body.workflowId).toBeUndefined();
  });
});
