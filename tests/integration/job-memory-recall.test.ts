import { randomUUID } from 'node:crypto';
import { recallForJob } from '../../activities/job-memory';
import { searchMemory, storeMemory } from '../../activities/memory';

/** A verified code memory of `path` in a new project of its own; returns the project. */
async function rememberCode(prefix: string, path: string, text: string): Promise<string> {
  const project = `${prefix}-${randomUUID().slice(0, 8)}`;
  await storeMemory({
    items: [{ collection: 'code', project, language: 'python', survived: true, text, metadata: { path } }],
  });
  return project;
}

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

  const rememberFib4 = () =>
    rememberCode('near', 'fib4.py', `Task: ${templated('fib4', fib4Task)}\nFile: fib4.py\n${fib4Code}`);

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

/**
 * A same-named function of another task is poison too: HumanEval/45's `triangle_area(a, h)` (½·a·h)
 * was recalled into /71's `triangle_area(a, b, c)` (Heron) and copied.
 */
describe('recall for a job that writes its signature out', () => {
  const task45 =
    'def triangle_area(a, h):\n    """Given length of a side and high return area for a triangle.\n' +
    '    >>> triangle_area(5, 3)\n    7.5\n    """\n';
  const task71 =
    'def triangle_area(a, b, c):\n    """Given the lengths of the three sides of a triangle. Return the area of\n' +
    '    the triangle rounded to 2 decimal points if the three sides form a valid triangle.\n' +
    '    Otherwise return -1\n    Example:\n    triangle_area(3, 4, 5) == 6.00\n    triangle_area(1, 2, 10) == -1\n    """\n';

  it('does not show a two-parameter triangle_area to a job on the three-parameter one, but shows it to its own kind', async () => {
    const project = await rememberCode(
      'signature',
      'triangle_area.py',
      `Task: ${task45}\nFile: triangle_area.py\n${task45}    return 0.5 * a * h\n`,
    );
    // Same name, related text: only the signature tells them apart.
    const byName = await searchMemory({ query: task71, project, language: 'python', mentions: ['triangle_area'] });
    expect(byName.hits.map((h) => h.path)).toEqual(['triangle_area.py']);
    const on71 = await recallForJob({ query: task71, project, language: 'python' });
    expect(on71.hits).toBe(0);
    expect(on71.context).toBe('');
    // Asked again for the two-parameter function (its parameters renamed), the memory is shown.
    const again = await recallForJob({
      query: task45.replace('(a, h)', '(base, height)'),
      project,
      language: 'python',
    });
    expect(again.used?.map((m) => m.path)).toEqual(['triangle_area.py']);
    expect(again.context).toContain('return 0.5 * a * h');
  });
});
