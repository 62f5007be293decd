import { temporal } from '@temporalio/proto';
import { findResetPoint as findIn } from '../../api/job-retry';

/** Decodes like the client does (event ids as Long), and reads the result back as numbers. */
function findResetPoint(events: object[]) {
  const point = findIn(events.map((e) => temporal.api.history.v1.HistoryEvent.fromObject(e)));
  return point && { ...point, workflowTaskFinishEventId: Number(point.workflowTaskFinishEventId) };
}

/** A run's history as the retry reads it: scheduled/closed activities between workflow tasks. */
const completedTask = (id: number) => ({ eventId: id, workflowTaskCompletedEventAttributes: {} });
const scheduled = (id: number, task: number, name: string) => ({
  eventId: id,
  activityTaskScheduledEventAttributes: { activityType: { name }, workflowTaskCompletedEventId: task },
});
const completed = (id: number, scheduledId: number) => ({
  eventId: id,
  activityTaskCompletedEventAttributes: { scheduledEventId: scheduledId },
});
const failed = (id: number, scheduledId: number) => ({
  eventId: id,
  activityTaskFailedEventAttributes: { scheduledEventId: scheduledId },
});

describe('where a retry starts again', () => {
  it('resets to the workflow task that scheduled the failed activity, keeping the steps before it', () => {
    const point = findResetPoint([
      completedTask(4),
      scheduled(5, 4, 'generateCode'),
      completed(7, 5),
      completedTask(10),
      scheduled(11, 10, 'runTests'),
      completed(13, 11),
      completedTask(16),
      scheduled(17, 16, 'refactorCode'),
      failed(19, 17),
      completedTask(22),
    ]);
    expect(point).toMatchObject({
      workflowTaskFinishEventId: 16,
      failedStep: 'refactorCode',
      keptSteps: ['generateCode', 'runTests'],
    });
  });

  it('runs an activity that was still open when the job was terminated again, not the one that failed and was retried before it', () => {
    const point = findResetPoint([
      completedTask(4),
      scheduled(5, 4, 'generateCode'),
      failed(7, 5),
      completedTask(10),
      scheduled(11, 10, 'generateCode'),
      completed(13, 11),
      completedTask(16),
      scheduled(17, 16, 'runTests'),
    ]);
    expect(point).toMatchObject({ workflowTaskFinishEventId: 16, failedStep: 'runTests' });
  });

  it('falls back to the last completed workflow task when the workflow code itself failed', () => {
    const point = findResetPoint([completedTask(4), scheduled(5, 4, 'storeFiles'), completed(7, 5), completedTask(10)]);
    expect(point).toMatchObject({ workflowTaskFinishEventId: 10, failedStep: undefined, keptSteps: ['storeFiles'] });
  });

  it('finds nothing to resume in a run that never completed a workflow task', () => {
    expect(findResetPoint([{ eventId: 1, workflowExecutionStartedEventAttributes: {} }])).toBeUndefined();
  });
});
