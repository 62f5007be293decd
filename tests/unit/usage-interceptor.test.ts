import type { ActivityExecuteInput } from '@temporalio/worker';
import type { Context } from '@temporalio/activity';
import {
  InProcessLedger,
  secondsUntilUtcMidnight,
  tenantOfWorkflowId,
  tenantScope,
  utcDay,
} from '../../common/usage-ledger';
import { estimateCallTokens, usageInterceptor } from '../../workers/usage-interceptor';

const cfg = { REDIS_URL: undefined, QUOTA_TOKENS_PER_DAY: 10_000, QUOTA_COST_USD_PER_DAY: 0, LLM_MAX_TOKENS: 2_000 };
const ctxOf = (workflowId: string) =>
  ({ info: { workflowExecution: { workflowId, runId: 'r' } } }) as unknown as Context;
const input = (args: unknown[]) => ({ args, headers: {} }) as unknown as ActivityExecuteInput;

function run(ledger: InProcessLedger, workflowId: string, billed: number, args: unknown[] = [{ prompt: 'x' }]) {
  const interceptor = usageInterceptor(cfg, ledger)(ctxOf(workflowId)).inbound!;
  let called = false;
  const result = interceptor.execute!(input(args), async () => {
    called = true;
    return { usage: { totalTokens: billed, costUsd: billed / 1e6, cached: false } };
  });
  return { result, called: () => called };
}

describe('the per-tenant usage of model calls', () => {
  it('reads the tenant from the workflow ids the API makes', () => {
    expect(tenantOfWorkflowId('job-acme.generate-123')).toBe('acme');
    expect(tenantOfWorkflowId('review-acme:nightly-2026-11-30T00:00:00Z')).toBe('acme');
    expect(tenantOfWorkflowId('index-repository:acme:proj')).toBe('acme');
    expect(tenantOfWorkflowId('something-else')).toBeUndefined();
  });

  it('adds what each call billed to its tenant, and refuses the call whose estimate would cross the quota', async () => {
    const ledger = new InProcessLedger();
    await run(ledger, 'job-acme.one', 6_000).result;
    expect(await ledger.get(tenantScope('acme'), utcDay())).toMatchObject({ tokens: 6_000 });
    // 6,000 used + about 2,000 for the next answer fits under 10,000.
    await run(ledger, 'job-acme.two', 1_000).result;
    // 7,000 used + 2,000 + a prompt of 4,000 characters (about 1,000 tokens) does not.
    const refused = run(ledger, 'job-acme.three', 1_000, ['y'.repeat(8_000)]);
    await expect(refused.result).rejects.toMatchObject({ type: 'QuotaExceeded', nonRetryable: true });
    expect(refused.called()).toBe(false);
    // Another tenant has its own day.
    await run(ledger, 'job-beta.one', 1_000).result;
    expect(await ledger.get(tenantScope('beta'), utcDay())).toMatchObject({ tokens: 1_000 });
  });

  it('estimates a call as its prompt plus the largest answer', () => {
    expect(estimateCallTokens(['a'.repeat(398)], 100)).toBe(100 + 101);
    expect(secondsUntilUtcMidnight(new Date('2026-11-30T23:59:30Z'))).toBe(30);
  });
});
