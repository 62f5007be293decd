import { randomUUID } from 'node:crypto';
import { recallForJob } from '../../activities/job-memory';
import { storeMemory } from '../../activities/memory';

/** What a job recalls is put in its prompt as "fixes that worked before": only verified work. */
describe('recall for a job', () => {
  it('recalls only memories that survived tests and review', async () => {
    const project = `recall-${randomUUID().slice(0, 8)}`;
    const text = (what: string) => `Task: parse ISO dates\nFix that made the tests pass: ${what} in parse_iso_date`;
    await storeMemory({
      items: [
        { collection: 'fixes', project, language: 'python', survived: true, text: text('strip the Z suffix') },
        { collection: 'fixes', project, language: 'python', survived: false, text: text('catch every exception') },
      ],
    });
    const recalled = await recallForJob({ query: 'parse_iso_date fails on Z', project, language: 'python' });
    expect(recalled.context).toContain('strip the Z suffix');
    expect(recalled.context).not.toContain('catch every exception');
    expect(recalled.hits).toBe(1);
  });
});
