import type { Client } from '@temporalio/client';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { connectClient } from '../temporal/node/connection';
import { TemporalUnavailableError } from './errors';

/**
 * The API's one way to Temporal. Connects lazily and reconnects after a failure, so the API comes
 * up (and answers 503) while Temporal is down, and recovers by itself when it returns.
 */
export class TemporalGateway {
  private client?: Promise<Client>;

  constructor(
    private readonly cfg: Config,
    private readonly log: Logger,
    private readonly deadlineMs = 5_000,
  ) {}

  /** A connected client, or TemporalUnavailableError. */
  async get(): Promise<Client> {
    this.client ??= connectClient(this.cfg, 2_000).catch((err: unknown) => {
      this.client = undefined;
      throw new TemporalUnavailableError(err instanceof Error ? err.message : String(err));
    });
    return this.client;
  }

  /** Runs a call with a deadline, so a dead server answers 503 in seconds instead of hanging. */
  async call<T>(fn: (client: Client) => Promise<T>, deadlineMs = this.deadlineMs): Promise<T> {
    const client = await this.get();
    return client.connection.withDeadline(Date.now() + deadlineMs, () => fn(client));
  }

  /** Checks the server answers; used by /ready. */
  async check(): Promise<{ ok: boolean; detail: string }> {
    try {
      const info = await this.call((c) => c.workflowService.getSystemInfo({}), 2_000);
      return { ok: true, detail: `server ${info.serverVersion || 'up'}` };
    } catch (err) {
      return { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }

  async close(): Promise<void> {
    const client = await this.client?.catch(() => undefined);
    await client?.connection.close().catch((err: unknown) => this.log.warn({ err: String(err) }, 'close failed'));
  }
}
