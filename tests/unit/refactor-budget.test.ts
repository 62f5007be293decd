import { refactorCode } from '../../activities/llm';
import { artifactStore } from '../../activities/artifacts';
import { resetModelClient } from '../../activities/llm/model-client';
import { setModelRateLimiter } from '../../activities/llm/rate-limit-hook';
import { InProcessResponseCache, setResponseCache } from '../../activities/llm/response-cache';
import { resetConfig } from '../../common/config';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server';

/**
 * A refactor round asks the model once per file. With what is left of the job's budget, it stops
 * before the call whose estimate would cross it, so one round cannot overshoot the budget many times.
 */

let server: ScriptedModelServer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  server = await startScriptedModelServer();
  Object.assign(process.env, {
    OPENAI_BASE_URL: server.url,
    OPENAI_API_KEY: 'test-key',
    OPENAI_MODEL: 'scripted-model',
    LLM_MAX_TOKENS: '1000',
    LLM_PRICE_INPUT_PER_MTOK: '1',
    LLM_PRICE_OUTPUT_PER_MTOK: '2',
  });
  resetConfig();
  resetModelClient();
  setResponseCache(new InProcessResponseCache());
  setModelRateLimiter(undefined);
});

afterAll(async () => {
  await server.close();
  process.env = savedEnv;
  resetConfig();
  resetModelClient();
  setResponseCache(undefined);
});

const rewrite = (content: string) => ({
  content: { content, explanation: 'fixed' },
  usage: { promptTokens: 1500, completionTokens: 500 },
});

async function round(budget?: { tokens: number; costUsd: number }) {
  server.reset();
  const files = await artifactStore().putFiles({
    'a.py': `def a():\n    return ${Math.random()}\n`,
    'b.py': 'def b():\n    return 2\n',
    'c.py': 'def c():\n    return 3\n',
  });
  server.enqueue(
    rewrite('def a():\n    return 1\n'),
    rewrite('def b():\n    return 2\n'),
    rewrite('def c():\n    return 3\n'),
  );
  return refactorCode({
    description: 'fix the functions',
    language: 'python',
    files,
    targets: ['a.py', 'b.py', 'c.py'],
    failures: 'test_a failed',
    findings: '',
    budget,
  });
}

describe('the budget of a refactor round', () => {
  it('rewrites every target when the budget allows', async () => {
    const result = await round({ tokens: 1_000_000, costUsd: 100 });
    expect(result.written).toEqual(['a.py', 'b.py', 'c.py']);
    expect(result.budgetStopped).toBeUndefined();
    expect(server.chatRequests()).toHaveLength(3);
  });

  it('stops before the call whose estimate would cross what is left, and says which files it did', async () => {
    // After one call billed 2,000 tokens, 1,000 are left: less than any call's estimate (its prompt
    // plus LLM_MAX_TOKENS = 1,000), so the second file is not asked for.
    const result = await round({ tokens: 3_000, costUsd: 100 });
    expect(result.budgetStopped).toBe(true);
    expect(result.written).toEqual(['a.py']);
    expect(server.chatRequests()).toHaveLength(1);
    expect(result.usage.totalTokens).toBe(2_000);
    expect(await artifactStore().getFiles(result.files)).toMatchObject({ 'a.py': 'def a():\n    return 1\n' });
  });

  it('makes no call at all when not even the first fits', async () => {
    const result = await round({ tokens: 100, costUsd: 100 });
    expect(result).toMatchObject({ budgetStopped: true, written: [] });
    expect(server.chatRequests()).toHaveLength(0);
  });
});
