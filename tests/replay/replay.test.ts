import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import * as workflows from '../../workflows';
import { CODING_LIFECYCLE_WORKFLOW } from '../../workflows/coding-job/definitions';
import { recordedHistories } from '../support/histories';

const histories = recordedHistories();

// fromObject of the proto package the SDK uses (a JSON history through another protobufjs copy fails its type check).
function toHistory(json: unknown): temporal.api.history.v1.History {
  return temporal.api.history.v1.History.fromObject(json as Record<string, unknown>);
}
const noop = () => undefined;
const quiet = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

function workflowTypeOf(history: unknown): string | undefined {
  const events = (
    history as { events?: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[] }
  ).events;
  return events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
}

describe('replay of recorded histories', () => {
  it('has a recorded history for every workflow type the bundle exports', () => {
    // The worker registers every function the bundle exports as a workflow type.
    const exported = Object.entries(workflows)
      .filter(([, value]) => typeof value === 'function')
      .map(([name]) => name);
    expect(exported).toContain(CODING_LIFECYCLE_WORKFLOW);
    const recorded = new Set(histories.map((h) => workflowTypeOf(h.history)));
    // A new workflow type needs a history: record one with RECORD_HISTORIES=1 (tests/support/histories.ts).
    expect(exported.filter((type) => !recorded.has(type))).toEqual([]);
  });

  it.each(histories.map((h) => [`${h.folder}/${h.name}`, h] as const))(
    'replays %s against the current workflow code without non-determinism',
    async (_name, recorded) => {
      await Worker.runReplayHistory(
        { workflowBundle: { codePath: process.env.WORKER_WORKFLOW_BUNDLE! }, replayName: _name },
        toHistory(recorded.history),
      );
    },
  );

  it('detects an incompatible change to the lifecycle workflow', async () => {
    const recorded = histories.find((h) => h.folder === 'coding-lifecycle');
    expect(recorded).toBeDefined();
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(__dirname, 'fixtures', 'changed-lifecycle.ts'),
      logger: quiet,
    });
    await expect(
      Worker.runReplayHistory({ workflowBundle: { code }, replayName: 'changed' }, toHistory(recorded!.history)),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
