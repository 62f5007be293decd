import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

/** A client on the run's dev server (started by global-setup). Close it in afterAll. */
export async function testClient(): Promise<Client> {
  const connection = await Connection.connect({ address: requireAddress() });
  return new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
}

export function testWorkerConnection(): Promise<NativeConnection> {
  return NativeConnection.connect({ address: requireAddress() });
}

/** A task queue of its own per test file, so workers of different files never steal each other's tasks. */
export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function uniqueWorkflowId(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

function requireAddress(): string {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address)
    throw new Error('TEMPORAL_ADDRESS is not set: run the tests through jest (global-setup starts Temporal).');
  return address;
}
