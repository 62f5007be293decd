import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import type { TemporalGateway } from './temporal-gateway';

const EventType = temporal.api.enums.v1.EventType;

/** A phase change as the job's history records it (its search-attribute upsert). */
export interface PhaseChange {
  eventId: number;
  /** When it happened (ms since the epoch): orders it against the token pieces. */
  at: number;
  phase?: string;
  iteration?: number;
  outcome?: string;
}

/**
 * Watches a job's history for its phase changes, pushed by Temporal (a long poll on the history,
 * `waitNewEvent`), so none is missed however short: the workflow upserts its phase, iteration and
 * outcome search attributes at each one. Changes after event `afterEventId` are collected in `changes`
 * and `onChange` is called; the watch ends with the job (or its `signal`), following continue-as-new.
 */
export class PhaseWatcher {
  readonly changes: PhaseChange[] = [];
  closed = false;

  constructor(
    private readonly gateway: TemporalGateway,
    private readonly namespace: string,
    private readonly workflowId: string,
    private readonly afterEventId: number,
    private readonly onChange: () => void,
  ) {}

  /** Runs until the job closes or `signal` aborts; never throws (the status poll is the fallback). */
  async run(signal: AbortSignal): Promise<void> {
    let runId: string | undefined;
    let after = this.afterEventId;
    try {
      const client = await this.gateway.get();
      for (;;) {
        let nextPageToken: Uint8Array | undefined;
        let next: string | undefined;
        do {
          if (signal.aborted) return;
          const page = await client.connection.withAbortSignal(signal, () =>
            client.workflowService.getWorkflowExecutionHistory({
              namespace: this.namespace,
              execution: { workflowId: this.workflowId, runId },
              waitNewEvent: true,
              nextPageToken,
            }),
          );
          nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
          for (const event of page.history?.events ?? []) {
            const id = Number(event.eventId);
            if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) {
              next = event.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
            }
            if (id <= after) continue;
            const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
            const phase = fields?.[SEARCH_ATTRIBUTES.phase.name];
            if (!fields || !phase) continue;
            const read = <T>(name: string) => {
              const payload = fields[name];
              return payload ? (defaultPayloadConverter.fromPayload(payload) as T) : undefined;
            };
            const time = event.eventTime;
            this.changes.push({
              eventId: id,
              at: time ? Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : Date.now(),
              phase: read<string>(SEARCH_ATTRIBUTES.phase.name),
              iteration: read<number>(SEARCH_ATTRIBUTES.iteration.name),
              outcome: read<string>(SEARCH_ATTRIBUTES.outcome.name),
            });
            this.onChange();
          }
        } while (nextPageToken);
        if (!next) break;
        // The job continued as new: its next run's phases, from its first event.
        runId = next;
        after = 0;
      }
    } catch {
      // A dropped connection or Temporal gone: the follower's status poll goes on without the watcher.
    } finally {
      this.closed = true;
      this.onChange();
    }
  }
}
