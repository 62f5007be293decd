import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { projectRoot } from '../../common/config';
import {
  embeddingFor,
  startScriptedModelServer,
  type ModelScript,
  type ScriptedModelServer,
} from '../support/scripted-model-server';

let server: ScriptedModelServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startScriptedModelServer();
  client = new OpenAI({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });
});

afterAll(() => server.close());

beforeEach(() => {
  server.setScript({});
  server.reset();
});

function ask(content: string, system = 'You are a helper.') {
  return client.chat.completions.create({
    model: 'scripted-model',
    messages: [
      { role: 'system', content: system },
      { role: 'user', content },
    ],
  });
}

describe('scripted model server', () => {
  it('routes by substring and /regex/ rules, then the default', async () => {
    server.setScript({
      rules: [
        { match: 'write tests', in: 'system', reply: { content: 'tests' } },
        { match: '/fix (the|a) bug/i', reply: { content: 'fixed' } },
      ],
      default: { content: 'default' },
    });

    const answers = await Promise.all([
      ask('x', 'You write tests for code.'),
      ask('Please FIX THE BUG'),
      ask('write tests'), // in the user message, not the system one
    ]);

    expect(answers.map((a) => a.choices[0]?.message.content)).toEqual(['tests', 'fixed', 'default']);
  });

  it('plays a rule reply list in order and then repeats its last entry', async () => {
    server.setScript({ rules: [{ match: 'code', reply: [{ content: 'buggy' }, { content: 'fixed' }] }] });

    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await ask('code')).choices[0]?.message.content);

    expect(answers).toEqual(['buggy', 'fixed', 'fixed']);
  });

  it('answers queued replies first, then the responder function', async () => {
    server.setScript({ default: { content: 'default' } });
    server.enqueue({ content: { queued: true } });
    server.respondWith((request) =>
      request.last.includes('dynamic') ? { content: request.last.toUpperCase() } : undefined,
    );

    const queued = await ask('dynamic');
    const dynamic = await ask('dynamic');
    const fallback = await ask('other');

    expect(queued.choices[0]?.message.content).toBe('{"queued":true}');
    expect(dynamic.choices[0]?.message.content).toBe('DYNAMIC');
    expect(fallback.choices[0]?.message.content).toBe('default');
  });

  it('streams deltas and a final usage chunk, and records the request', async () => {
    server.enqueue({
      content: 'a fairly long streamed answer',
      usage: { promptTokens: 3, completionTokens: 4 },
      chunkChars: 5,
    });

    const stream = await client.chat.completions.create({
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) deltas.push(chunk.choices[0].delta.content);
      if (chunk.usage) usage = chunk.usage;
    }

    expect(deltas.join('')).toBe('a fairly long streamed answer');
    expect(deltas.length).toBeGreaterThan(3);
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(server.chatRequests()[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', user: 'hi' });
  });

  it('fails fast with a 400 when the script has no reply', async () => {
    await expect(ask('anything')).rejects.toMatchObject({ status: 400, code: 'no_scripted_reply' });
  });

  it('checks the API key when the script requires one', async () => {
    server.setScript({ requireApiKey: 'secret', default: { content: 'ok' } });

    await expect(ask('hi')).rejects.toMatchObject({ status: 401 });
  });

  it('serves deterministic unit embeddings of the requested dimension, as floats or base64', async () => {
    const floats = await client.embeddings.create({
      model: 'e',
      input: ['alpha', 'beta'],
      dimensions: 8,
      encoding_format: 'float',
    });
    const decoded = await client.embeddings.create({ model: 'e', input: 'alpha', dimensions: 8 });

    expect(floats.data[0]?.embedding).toEqual(embeddingFor('alpha', 8));
    expect(floats.data[1]?.embedding).not.toEqual(floats.data[0]?.embedding);
    expect(decoded.data[0]?.embedding.map((v) => v.toFixed(5))).toEqual(
      embeddingFor('alpha', 8).map((v) => v.toFixed(5)),
    );
    const norm = Math.hypot(...(floats.data[0]?.embedding ?? []));
    expect(norm).toBeCloseTo(1, 6);
  });

  it('lists its models', async () => {
    server.setScript({ models: ['m1', 'm2'] });

    const models = await client.models.list();

    expect(models.data.map((m) => m.id)).toEqual(['m1', 'm2']);
  });

  it('runs as a separate process from a JSON script and shows its requests on the admin endpoint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scripted-'));
    const scriptPath = path.join(dir, 'script.json');
    const script: ModelScript = { rules: [{ match: 'hello', reply: { content: { greeting: 'hi' } } }] };
    fs.writeFileSync(scriptPath, JSON.stringify(script));
    const child = spawn(
      process.execPath,
      [require.resolve('tsx/cli'), 'tests/support/scripted-model-server.ts', '--port', '0', '--script', scriptPath],
      { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /listening on (\S+)/.exec(out);
          if (match?.[1]) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
      });
      const remote = new OpenAI({ baseURL: url, apiKey: 'k', maxRetries: 0 });

      const answer = await remote.chat.completions.create({
        model: 'x',
        messages: [{ role: 'user', content: 'hello' }],
      });
      const recorded = (await (await fetch(url.replace(/\/v1$/, '/_scripted/requests'))).json()) as { path: string }[];

      expect(answer.choices[0]?.message.content).toBe('{"greeting":"hi"}');
      expect(recorded.map((r) => r.path)).toEqual(['/v1/chat/completions']);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
