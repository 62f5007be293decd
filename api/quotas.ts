import type { Config } from '../common/config';
import { FAILURES } from '../common/failures';
import { secondsUntilUtcMidnight, tenantScope, usageLedger, utcDay, type UsageLedger } from '../common/usage-ledger';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import { taskQueues } from '../temporal/task-queues';
import { HttpError } from './errors';
import { CODING_LIFECYCLE_WORKFLOW } from '../workflows/coding-job/definitions';
import type { TemporalGateway } from './temporal-gateway';

/** How soon a tenant at its concurrent-jobs quota may try again. */
const CONCURRENCY_RETRY_SECONDS = 30;

/**
 * The per-tenant quotas a new job must fit in: concurrent running jobs (counted by Temporal's
 * visibility, so every API replica sees the same number) and tokens and cost per UTC day (the usage
 * ledger). Over a quota: 429 QuotaExceeded with Retry-After.
 */
export class Quotas {
  constructor(
    private readonly cfg: Config,
    private readonly gateway: TemporalGateway,
    private readonly ledger: UsageLedger = usageLedger(cfg.REDIS_URL),
  ) {}

  private exceeded(message: string, retryAfterSeconds: number, quota: string): HttpError {
    return new HttpError(429, 'QuotaExceeded', message, {
      quota,
      retryAfterSeconds,
      hint: FAILURES.QuotaExceeded.hint,
    });
  }

  /** Throws 429 when the tenant may not start another job now. */
  async checkStart(tenant: string): Promise<void> {
    const { QUOTA_MAX_CONCURRENT_JOBS: maxJobs, QUOTA_TOKENS_PER_DAY: maxTokens } = this.cfg;
    const maxCost = this.cfg.QUOTA_COST_USD_PER_DAY;
    if (maxTokens > 0 || maxCost > 0) {
      const used = await this.ledger.get(tenantScope(tenant), utcDay());
      if ((maxTokens > 0 && used.tokens >= maxTokens) || (maxCost > 0 && used.costUsd >= maxCost)) {
        throw this.exceeded(
          'The tenant has used its model tokens or cost for today.',
          secondsUntilUtcMidnight(),
          'daily-usage',
        );
      }
    }
    if (maxJobs > 0) {
      const queue = taskQueues(this.cfg.TEMPORAL_TASK_QUEUE_PREFIX).workflows;
      // Tenants match TENANT_PATTERN (no quotes), so they are safe inside the query.
      const query =
        `${SEARCH_ATTRIBUTES.tenant.name} = '${tenant}' AND ExecutionStatus = 'Running' ` +
        `AND WorkflowType = '${CODING_LIFECYCLE_WORKFLOW}' AND TaskQueue = '${queue}'`;
      const { count } = await this.gateway.call((client) => client.workflow.count(query));
      if (count >= maxJobs) {
        throw this.exceeded(
          `The tenant already runs ${count} jobs (at most ${maxJobs}); retry when one finishes.`,
          CONCURRENCY_RETRY_SECONDS,
          'concurrent-jobs',
        );
      }
    }
  }
}
