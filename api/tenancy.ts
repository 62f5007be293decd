import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import { LOCAL_TENANT } from './auth';
import { HttpError, toHttpError } from './errors';
import type { TemporalGateway } from './temporal-gateway';

/**
 * Every object belongs to a tenant (the `SophiaTenant` search attribute, set when it starts). A read
 * or an action on another tenant's object answers exactly what a missing one answers.
 */

/** The tenant of a workflow. Workflows started before tenancy belong to `local`. */
export function tenantOf(description: Pick<WorkflowExecutionDescription, 'typedSearchAttributes'>): string {
  const pair = description.typedSearchAttributes.getAll().find((p) => p.key.name === SEARCH_ATTRIBUTES.tenant.name);
  return typeof pair?.value === 'string' ? pair.value : LOCAL_TENANT;
}

/** The one answer for a job that is missing or not the caller's. */
export function jobNotFound(workflowId: string): HttpError {
  return new HttpError(404, 'JobNotFound', `There is no job ${workflowId}.`, { workflowId });
}

/** The handle and description of one of the tenant's workflows, or `notFound()`. */
export async function describeOwned(
  gateway: TemporalGateway,
  tenant: string,
  workflowId: string,
  notFound: (id: string) => HttpError = jobNotFound,
  runId?: string,
): Promise<{ handle: WorkflowHandle; description: WorkflowExecutionDescription }> {
  const handle = await gateway.call(async (client) => client.workflow.getHandle(workflowId, runId));
  let description: WorkflowExecutionDescription;
  try {
    description = await gateway.call(() => handle.describe());
  } catch (err) {
    if (toHttpError(err).status === 404) throw notFound(workflowId);
    throw err;
  }
  if (tenantOf(description) !== tenant) throw notFound(workflowId);
  return { handle, description };
}

/** A stable digest of a request body, to bind an idempotency key to what it was first sent with. */
export function requestDigest(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}
