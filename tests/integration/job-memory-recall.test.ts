import { randomUUID } from 'node:crypto';
import { recallForJob } from '../../activities/job-memory';
import { searchMemory, storeMemory } from '../../activities/memory';

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

/**
 * A near neighbour is what a small model copies: a task that names its API recalls only memories that
 * use it. The tasks are written the way a platform's template writes them (the eval's own wording), so
 * every two tasks share a paragraph and score as related.
 */
describe('recall for a job that names its API', () => {
  const templated = (name: string, prompt: string) =>
    `Implement the Python function \`${name}\` exactly as specified below, by completing the file ${name}.py. ` +
    'Keep its signature, its imports and any other function it already defines; use only the standard library.\n\n' +
    `\`\`\`python\n${prompt}\`\`\`\n`;
  const fib4Task =
    'def fib4(n: int):\n    """The Fib4 number sequence is a sequence similar to the Fibbonacci sequnece that\'s defined as follows:\n' +
    '    fib4(0) -> 0\n    fib4(1) -> 0\n    fib4(2) -> 2\n    fib4(3) -> 0\n    fib4(n) -> fib4(n-1) + fib4(n-2) + fib4(n-3) + fib4(n-4).\n' +
    '    Please write a function to efficiently compute the n-th element of the fib4 number sequence.  Do not use recursion.\n' +
    '    >>> fib4(5)\n    4\n    >>> fib4(6)\n    8\n    """\n';
  const fib4Code =
    fib4Task +
    '    if n < 4:\n        return [0, 0, 2, 0][n]\n    a, b, c, d = 0, 0, 2, 0\n    for _ in range(4, n + 1):\n' +
    '        a, b, c, d = b, c, d, a + b + c + d\n    return d\n';
  const fibTask =
    'def fib(n: int):\n    """Return n-th Fibonacci number.\n    >>> fib(10)\n    55\n    >>> fib(1)\n    1\n    >>> fib(8)\n    21\n    """\n';

  async function rememberFib4(): Promise<string> {
    const project = `near-${randomUUID().slice(0, 8)}`;
    await storeMemory({
      items: [
        {
          collection: 'code',
          project,
          language: 'python',
          survived: true,
          text: `Task: ${templated('fib4', fib4Task)}\nFile: fib4.py\n${fib4Code}`,
          metadata: { path: 'fib4.py' },
        },
      ],
    });
    return project;
  }

  it('does not show fib4 to a job asked for fib, though the texts score as related', async () => {
    const project = await rememberFib4();
    // The score alone would let it through (0.73 on the eval): the names keep it out.
    const query = templated('fib', fibTask);
    const byScore = await searchMemory({ query, project, language: 'python', minScore: 0.5 });
    expect(byScore.hits.map((h) => h.path)).toEqual(['fib4.py']);
    const recalled = await recallForJob({ query, project, language: 'python' });
    expect(recalled.hits).toBe(0);
    expect(recalled.context).toBe('');
    expect(recalled.used).toEqual([]);
  });

  it('shows fib4 to a later job on fib4', async () => {
    const project = await rememberFib4();
    const onFib4 = await recallForJob({
      query: templated('fib4', fib4Task),
      project,
      language: 'python',
    });
    expect(onFib4.used?.map((m) => m.path)).toEqual(['fib4.py']);
    expect(onFib4.context).toContain('a, b, c, d = b, c, d, a + b + c + d');
  });
});
