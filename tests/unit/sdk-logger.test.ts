import pino from 'pino';
import { PinoSdkLogger } from '../../temporal/runtime';

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
});
