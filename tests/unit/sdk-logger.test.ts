import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { activityLog } from '../../activities/context';
import { PinoSdkLogger } from '../../temporal/node/runtime';

/** A pino logger at debug that keeps its records. */
function recorder() {
  const records: { level: number; msg: string; [key: string]: unknown }[] = [];
  const log = pino({ level: 'debug', base: undefined }, { write: (line: string) => records.push(JSON.parse(line)) });
  return { log, records };
}

describe('the SDK logger over pino', () => {
  it('keeps the SDK level and metadata of a record', () => {
    const { log, records } = recorder();
    const sdk = new PinoSdkLogger(log);
    sdk.log('WARN', 'Activity failed', { activityType: 'runTests', attempt: 2 });
    sdk.error('Workflow task failed', { workflowId: 'job-1' });
    expect(records).toEqual([
      expect.objectContaining({ level: 40, msg: 'Activity failed', activityType: 'runTests', attempt: 2 }),
      expect.objectContaining({ level: 50, msg: 'Workflow task failed', workflowId: 'job-1' }),
    ]);
  });

  it('turns what is routine in our pool layout into debug lines, whatever level the SDK gives it', () => {
    const { log, records } = recorder();
    const sdk = new PinoSdkLogger(log);
    sdk.warn('No activities registered, not polling for activity tasks', { taskQueue: 'sophia-workflows' });
    sdk.info('No Nexus services registered, not polling for Nexus tasks');
    sdk.log('INFO', 'asset workflow-bundle-1234.js 1.73 MiB [emitted]\nmodules by path ./dist/ 52.9 KiB');
    sdk.info('Worker state changed', { state: 'RUNNING' });
    expect(records.map((r) => [r.level, r.msg.split(' ')[0]])).toEqual([
      [20, 'No'],
      [20, 'No'],
      [20, 'asset'],
      [30, 'Worker'],
    ]);
  });

  it('writes a record that names its component under that component, without repeating the key', () => {
    const { log, records } = recorder();
    const sdk = new PinoSdkLogger(log.child({ component: 'temporal' }));
    sdk.info('sandbox run finished', { component: 'sandbox', workflowId: 'job-1', exitCode: 0 });
    sdk.info('Worker state changed', { state: 'RUNNING' });
    expect(records).toEqual([
      expect.objectContaining({ component: 'sandbox', msg: 'sandbox run finished', workflowId: 'job-1', exitCode: 0 }),
      expect.objectContaining({ component: 'temporal', msg: 'Worker state changed' }),
    ]);
  });

  it("logs activity code through the SDK's activity log, which adds the activity's attributes", async () => {
    const { log, records } = recorder();
    const env = new MockActivityEnvironment({ activityType: 'runTests' }, { logger: new PinoSdkLogger(log) });
    await env.run(async () => activityLog('sandbox', { driver: 'bwrap' }).warn('sandbox run slow', { ms: 5 }));
    // The SDK also logs the activity's start and end.
    expect(records.filter((r) => r.component === 'sandbox')).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'sandbox run slow',
        component: 'sandbox',
        driver: 'bwrap',
        ms: 5,
        activityType: 'runTests',
        workflowId: 'test',
      }),
    ]);
  });

  it('logs through pino outside an activity, with the same attributes', () => {
    expect(() => activityLog('sandbox', { driver: 'process' }).info('no activity here', { ms: 1 })).not.toThrow();
  });
});
