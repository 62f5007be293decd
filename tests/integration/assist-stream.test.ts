import type http from 'node:http';
import WebSocket from 'ws';
import { closeSharedState } from '../../activities/cache';
import { resetTokenBus } from '../../common/job-tokens';
import { closeUsageLedgers } from '../../common/usage-ledger';
import { testApp } from '../support/api';
import { calcScript, CALC } from '../support/calc-script';
import { listen, runSophia } from '../support/cli';
import { useJobStack } from '../support/job-stack';
import { expectSchema } from '../support/openapi-contract';
import { TestRedis } from '../support/redis-server';

/**
 * The WebSocket at /api/coding/assist/stream, with a real `ws` client, against the real API, pools
 * and Temporal; the tokens go from the llm pool to the API through a real Redis (a stream per job).
 */

const env: Record<string, string> = {};
let redis: TestRedis;
beforeAll(async () => {
  redis = await TestRedis.start();
  env.REDIS_URL = redis.url;
});
const stack = useJobStack({ env, listen: true });
afterAll(async () => {
  // The llm pool's Redis links reconnect for ever: close them before the server goes.
  await closeSharedState();
  await closeUsageLedgers();
  await resetTokenBus();
  await redis?.stop();
});

/** The generate answer, streamed in small pieces with pauses, so it takes a while to arrive. */
const ANSWER = { files: [{ path: 'calc.py', content: CALC.FIXED }], explanation: 'add returns the sum of a and b' };
const SLOW = { content: ANSWER, chunkChars: 6, chunkDelayMs: 60 };

type Message = { type: string; [key: string]: unknown };

/** A client socket that records every message and can wait for one that matches. */
class Client {
  readonly messages: Message[] = [];
  closed?: { code: number; reason: string };
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as Message);
      this.waiters.splice(0).forEach((w) => w());
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<Client> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/coding/assist/stream`, { headers });
    const client = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Waits for a message that matches (or the close), polling nothing: each message wakes it. */
  async until(match: (m: Message) => boolean, what: string): Promise<Message> {
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (this.closed) throw new Error(`closed (${this.closed.code}) before ${what}: ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async done(): Promise<{ code: number; reason: string }> {
    await this.until(() => false, 'the close').catch(() => undefined);
    return this.closed!;
  }
}

const chunksOf = (messages: Message[], purpose: string) =>
  messages.filter((m) => m.type === 'chunk' && m.purpose === purpose);

beforeEach(() => {
  stack.model.reset();
  stack.model.setScript(calcScript({ code: CALC.FIXED }));
});

describe('WebSocket /api/coding/assist/stream', () => {
  it("streams the model's tokens while the model generates them, a status at each phase, then complete", async () => {
    stack.model.enqueue(SLOW);
    const client = await Client.open(stack.url);
    client.send({ message: `Create an add(a, b) function in Python ${Date.now()}`, language: 'python' });

    const first = await client.until((m) => m.type === 'chunk', 'the first token');
    const workflowId = client.messages.find((m) => m.type === 'status')!.workflowId as string;
    // The first piece is here while the generate activity is still running: tokens are relayed as
    // they are generated, not after the call.
    const running = await stack.client.workflow.getHandle(workflowId).describe();
    expect(running.raw.pendingActivities?.map((a) => a.activityType?.name)).toContain('generateCode');
    expect(first.purpose).toBe('generate');

    const complete = await client.until((m) => m.type === 'complete', 'complete');
    expect(await client.done()).toEqual({ code: 1000, reason: 'complete' });
    expect(complete).toMatchObject({
      workflowId,
      success: true,
      outcome: 'succeeded',
      code: { 'calc.py': CALC.FIXED },
    });

    const generated = chunksOf(client.messages, 'generate');
    expect(generated.length).toBeGreaterThan(1);
    expect(generated.map((m) => m.content).join('')).toBe(JSON.stringify(ANSWER));
    const phases = client.messages.filter((m) => m.type === 'status').map((m) => m.phase);
    expect(phases).toEqual(expect.arrayContaining(['GENERATE', 'WRITE_TESTS', 'RUN_TESTS', 'REVIEW']));
    // Order: the generate tokens come after the GENERATE status and before WRITE_TESTS's.
    const at = (p: (m: Message) => boolean) => client.messages.findIndex(p);
    expect(at((m) => m === generated[0])).toBeGreaterThan(at((m) => m.phase === 'GENERATE'));
    expect(at((m) => m === generated[generated.length - 1])).toBeLessThan(at((m) => m.phase === 'WRITE_TESTS'));
    expect(at((m) => m.type === 'complete')).toBe(client.messages.length - 1);
    // The messages have the shapes the OpenAPI description gives the REST answers.
    const { type: _complete, ...answer } = complete;
    expectSchema(answer, 'AssistAnswer');
    for (const { type: _status, ...status } of client.messages.filter((m) => m.type === 'status'))
      expectSchema(status, 'JobStatus');
  });

  it('a dropped socket leaves the job running; reconnecting with the job id gets the state and the rest', async () => {
    stack.model.enqueue(SLOW);
    const first = await Client.open(stack.url);
    first.send({ message: `Create an add(a, b) function in Python ${Date.now()}` });
    const piece = await first.until((m) => m.type === 'chunk', 'a token');
    const workflowId = first.messages.find((m) => m.type === 'status')!.workflowId as string;
    first.ws.terminate();
    const seen = chunksOf(first.messages, 'generate');

    const again = await Client.open(stack.url);
    again.send({ jobId: workflowId, after: seen[seen.length - 1]!.id });
    const complete = await again.until((m) => m.type === 'complete', 'complete');
    expect(complete).toMatchObject({ workflowId, success: true });
    expect(again.messages[0]).toMatchObject({ type: 'status', workflowId });
    const rest = chunksOf(again.messages, 'generate');
    // Nothing twice, nothing lost: the pieces before the drop and after the reconnect make the answer.
    expect(rest.map((m) => m.id)).not.toContain(piece.id);
    expect([...seen, ...rest].map((m) => m.content).join('')).toBe(JSON.stringify(ANSWER));

    // Without `after`, a late client gets the whole stream of the finished job, then complete.
    const late = await Client.open(stack.url);
    late.send({ jobId: workflowId });
    await late.until((m) => m.type === 'complete', 'complete');
    expect(
      chunksOf(late.messages, 'generate')
        .map((m) => m.content)
        .join(''),
    ).toBe(JSON.stringify(ANSWER));
  });

  it("ends a failed job with an error carrying the failure's type", async () => {
    stack.model.enqueue({ content: '', refusal: 'I cannot help with that.' });
    const client = await Client.open(stack.url);
    client.send({ message: `Create an add(a, b) function in Python ${Date.now()}` });
    const error = await client.until((m) => m.type === 'error', 'the error');
    expect(error).toMatchObject({ type: 'error', code: 'ModelRefused' });
    expect(String(error.message)).toContain('refused');
    expect((await client.done()).code).toBe(1008);
  });

  it('answers a bad first message with InvalidInput and its field paths, and closes', async () => {
    const client = await Client.open(stack.url);
    client.send({ message: '', colour: 'red' });
    const error = await client.until((m) => m.type === 'error', 'the error');
    expect(error.code).toBe('InvalidInput');
    const paths = (error.details as { fields: { path: string }[] }).fields.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['message']));
    expect((await client.done()).code).toBe(1008);
  });

  describe('with keys, as on the REST routes', () => {
    let server: http.Server;
    let url: string;
    let close: () => Promise<void>;
    beforeAll(async () => {
      const { app, gateway } = testApp({
        API_KEYS: 'alpha:alpha-member-key-0123,beta:beta-member-key-0123',
        TEMPORAL_TASK_QUEUE_PREFIX: stack.workers.prefix,
      });
      ({ url, server } = await listen(app));
      close = async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await gateway.close();
      };
    });
    afterAll(() => close());

    it('refuses the upgrade without a key (401), and treats another tenant’s job as unknown', async () => {
      const refused = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/coding/assist/stream`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => reject(new Error('opened without a key')));
        ws.on('error', () => undefined);
      });
      expect(refused).toBe(401);

      stack.model.enqueue(SLOW);
      const alpha = await Client.open(url, { authorization: 'Bearer alpha-member-key-0123' });
      alpha.send({ message: `Create an add(a, b) function in Python ${Date.now()}` });
      const status = await alpha.until((m) => m.type === 'status', 'the status');
      expect(String(status.workflowId)).toMatch(/^job-alpha\./);

      const beta = await Client.open(url, { authorization: 'Bearer beta-member-key-0123' });
      beta.send({ jobId: status.workflowId });
      const error = await beta.until((m) => m.type === 'error', 'the error');
      expect(error.code).toBe('JobNotFound');
      await alpha.until((m) => m.type === 'complete', 'complete');
    });
  });

  it('`sophia follow` shows the tokens under the phase lines', async () => {
    // The answer starts after 10 s, so the CLI (a tsx process, which took over 3 s to start on a CI
    // machine shared with a model) is following before the model speaks.
    stack.model.enqueue({ ...SLOW, delayMs: 10_000 });
    const started = await fetch(`${stack.url}/api/workflows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task: 'generate', description: `add, followed ${Date.now()}`, language: 'python' }),
    }).then((r) => r.json() as Promise<{ workflowId: string }>);
    const follow = await runSophia(['follow', started.workflowId, '--api', stack.url]);
    expect(follow.stderr).toBe('');
    expect(follow.code).toBe(0);
    const lines = follow.stdout.split('\n');
    const generateAt = lines.findIndex((l) => /^\d\d:\d\d:\d\d {2}GENERATE\b/.test(l));
    const tokensAt = lines.findIndex((l) => /┌ generate$/.test(l));
    expect(generateAt).toBeGreaterThanOrEqual(0);
    expect(tokensAt).toBeGreaterThan(generateAt);
    const streamed = lines
      .slice(tokensAt + 1)
      .filter((l) => l.startsWith('          │ '))
      .map((l) => l.slice(12));
    expect(streamed.join('')).toContain('add returns the sum of a and b');
  });
});
