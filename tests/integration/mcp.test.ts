import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { FAILURES } from '../../common/failures';
import { ROOT, TSX } from '../support/cli';
import { useJobStack } from '../support/job-stack';

const CODE = 'def add(a, b):\n    """Add two numbers."""\n    return a + b\n';
const TESTS = 'from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3, "one plus two is three"\n';

const stack = useJobStack({ listen: true });

/** An MCP client on the real server process, started the way an IDE starts it. */
async function connect(args: string[]): Promise<Client> {
  const client = new Client({ name: 'sophia-test-ide', version: '1.0.0' });
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  await client.connect(new StdioClientTransport({ command: TSX, args, cwd: ROOT, env, stderr: 'inherit' }));
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const json = (result: CallToolResult) => JSON.parse((result.content[0] as { text: string }).text);

describe('the sophia MCP server over stdio, against the real API, workers and Temporal', () => {
  let client: Client;
  beforeAll(async () => {
    client = await connect([path.join(ROOT, 'cli/mcp.ts'), '--api', stack.url]);
  });
  afterAll(async () => {
    await client.close();
  });

  it('lists the job tools with their input schemas', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      [
        'coding_assist',
        'job_approve',
        'job_cancel',
        'job_patch',
        'job_reject',
        'job_request_changes',
        'job_result',
        'job_retry',
        'job_status',
      ].sort(),
    );
    const assist = tools.find((t) => t.name === 'coding_assist')!;
    expect(assist.inputSchema.required).toEqual(['message']);
    expect(Object.keys(assist.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['message', 'files', 'language', 'project', 'wait']),
    );
  });

  it('runs coding_assist to a green answer, then answers job_status and job_result for it', async () => {
    stack.model.reset();
    stack.model.setScript({
      rules: [
        { match: 'code reviewer', in: 'system', reply: { content: { findings: [], summary: 'Looks correct.' } } },
      ],
      default: { content: { files: [{ path: 'calc.py', content: CODE }], explanation: 'add returns the sum' } },
    });
    const answer = await call(client, 'coding_assist', {
      message: `Create an add(a, b) function ${Date.now()}`,
      files: { 'test_calc.py': TESTS },
      language: 'python',
    });
    expect(answer.isError).toBeFalsy();
    const body = json(answer);
    expect(body).toMatchObject({
      success: true,
      outcome: 'succeeded',
      task: 'generate',
      tests: { passed: 1, failed: 0 },
    });
    expect(body.code['calc.py']).toBe(CODE);
    expect(body.explanation).toContain('add returns the sum');
    expect(body.links.ui).toContain(`/workflows/${body.workflowId}`);

    const status = json(await call(client, 'job_status', { workflowId: body.workflowId }));
    expect(status).toMatchObject({
      workflowId: body.workflowId,
      status: 'COMPLETED',
      phase: 'DONE',
      outcome: 'succeeded',
    });

    const result = json(await call(client, 'job_result', { workflowId: body.workflowId }));
    expect(result.result.outcome).toBe('succeeded');
    expect(result.files['calc.py']).toBe(CODE);
  });

  it('answers an unknown job as a tool error with the code JobNotFound, and keeps serving', async () => {
    const missing = await call(client, 'job_status', { workflowId: `job-nope-${Date.now()}` });
    expect(missing.isError).toBe(true);
    expect(text(missing)).toMatch(/^JobNotFound: /);
    expect(JSON.parse((missing.content[1] as { text: string }).text).error.code).toBe('JobNotFound');

    const cancel = await call(client, 'job_cancel', { workflowId: `job-nope-${Date.now()}` });
    expect(cancel.isError).toBe(true);
    expect(text(cancel)).toContain('JobNotFound');
    expect((await client.listTools()).tools.length).toBe(9);
  });

  it("answers a failed job as a tool error with its failure type's code and hint", async () => {
    stack.model.reset();
    stack.model.setScript({ default: { fault: 'unauthorized', message: 'key revoked' } });
    const failed = await call(client, 'coding_assist', {
      message: `Create a slugify(text) function ${Date.now()}`,
      language: 'python',
    });
    expect(failed.isError).toBe(true);
    expect(text(failed)).toMatch(/^ModelAuth: /);
    const error = JSON.parse((failed.content[1] as { text: string }).text).error;
    expect(error).toMatchObject({ code: 'ModelAuth', hint: FAILURES.ModelAuth.hint });
    expect(error.details.workflowId).toMatch(/^job-/);
  });

  it('is also served by `sophia mcp`', async () => {
    const viaCli = await connect([path.join(ROOT, 'cli/main.ts'), 'mcp', '--api', stack.url]);
    try {
      const missing = await call(viaCli, 'job_status', { workflowId: 'job-nope-cli' });
      expect(missing.isError).toBe(true);
      expect(text(missing)).toContain('JobNotFound');
    } finally {
      await viaCli.close();
    }
  });
});
