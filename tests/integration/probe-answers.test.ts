import { artifactStore } from '../../activities/artifacts';
import { probeAnswers } from '../../activities/sandbox';
import { MAX_PROBES, probeSpec } from '../../activities/sandbox/probes';

/** Answers called on the task's example arguments, varied, in the real bwrap sandbox. */

const TASK =
  'def pluck(arr):\n    """The smallest even value and its index, as [value, index]; [] when no value is even.\n' +
  '    Example 1:\n        Input: [4,2,3]\n        Output: [2, 1]\n' +
  '    Example 2:\n        Input: [5, 0, 3, 0, 4, 2]\n        Output: [0, 1]\n    """\n';
// As the local 1.5B model wrote HumanEval/68: right on every example, `[inf, -1]` where no value is even.
const INF = `${TASK}    best, at = float('inf'), -1\n    for i, v in enumerate(arr):\n        if v % 2 == 0 and v < best:\n            best, at = v, i\n    return [best, at]\n`;
const RIGHT = `${TASK}    evens = [(v, i) for i, v in enumerate(arr) if v % 2 == 0]\n    return list(min(evens)) if evens else []\n`;

describe('probing answers off the examples', () => {
  const put = (files: Record<string, string>) => artifactStore().putFiles(files);

  it("reads the one function the examples call, and each example's arguments", () => {
    expect(probeSpec(TASK)).toEqual({
      function: 'pluck',
      args: ['[4,2,3]', '[5, 0, 3, 0, 4, 2]'],
      max: MAX_PROBES,
      seconds: 1,
    });
    expect(probeSpec('a slugify(text) function: lowercase, words joined by hyphens')).toBeUndefined();
  });

  it('calls every answer on the same probes, and tells values, exceptions, hangs and missing code apart', async () => {
    const answers = [
      await put({ 'pluck.py': INF }),
      await put({ 'pluck.py': RIGHT, 'test_pluck.py': 'def pluck(arr):\n    return 0\n' }),
      await put({ 'lib/pluck.py': `${TASK}    return 1 / 0\n` }),
      await put({ 'pluck.py': `${TASK}    while True:\n        pass\n` }),
      await put({ 'pluck.py': `${TASK}    import os\n    os._exit(3)\n` }),
      await put({ 'other.py': 'def other():\n    return 1\n' }),
    ];
    const probed = await probeAnswers({ description: TASK, answers });
    expect(probed.function).toBe('pluck');
    expect(probed.probes.length).toBeGreaterThan(20);
    expect(probed.probes.length).toBeLessThanOrEqual(MAX_PROBES);
    // Never an example itself: those every answer passed already.
    expect(probed.probes).not.toContain('[4, 2, 3]');
    expect(probed.outcomes).toHaveLength(answers.length);
    for (const o of probed.outcomes) expect(o).toHaveLength(probed.probes.length);
    const at = (probe: string) => probed.probes.indexOf(probe);
    const [inf, right, raises, hangs, dies, missing] = probed.shown;
    // Off the examples the two diverge only where no value is even.
    expect(inf![at('[]')]).toBe('list[inf,int:-1]');
    expect(right![at('[]')]).toBe('list[]');
    expect(inf![at('[4, 2]')]).toBe(right![at('[4, 2]')]);
    expect(probed.outcomes[0]![at('[4, 2]')]).toBe(probed.outcomes[1]![at('[4, 2]')]);
    expect(probed.outcomes[0]![at('[]')]).not.toBe(probed.outcomes[1]![at('[]')]);
    // The test file's own `pluck` is no answer: the module is.
    expect(right!.every((o) => o.startsWith('list['))).toBe(true);
    expect(new Set(raises)).toEqual(new Set(['raise:ZeroDivisionError']));
    expect(new Set(hangs)).toEqual(new Set(['timeout']));
    expect(new Set(dies)).toEqual(new Set(['died']));
    expect(new Set(missing)).toEqual(new Set(['missing']));
  }, 120_000);

  it('passes on no more than MAX_PROBES bounded rows from an answer that writes the report itself', async () => {
    const forger =
      `${TASK}    return []\n\n\nimport json, os, sys\n` +
      "with open(sys.argv[3], 'w') as f:\n    json.dump([['x' * 5_000, 'y' * 5_000]] * 80, f)\nos._exit(0)\n";
    const probed = await probeAnswers({ description: TASK, answers: [await put({ 'pluck.py': forger })] });
    // 80 rows of 5,000 characters came back (800 KB, inside the output cap); 48 of 200 go on.
    expect(probed.probes).toHaveLength(MAX_PROBES);
    expect(probed.probes.every((p) => p.length === 200)).toBe(true);
    expect(probed.shown[0]!.every((o) => o.length <= 80)).toBe(true);
  }, 120_000);

  it('probes nothing for a task without examples', async () => {
    const probed = await probeAnswers({
      description: 'a slugify(text) function',
      answers: [await put({ 'slugify.py': 'def slugify(text):\n    return text\n' })],
    });
    expect(probed).toEqual({ probes: [], outcomes: [], shown: [] });
  });
});
