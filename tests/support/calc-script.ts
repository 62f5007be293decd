import type { ModelScript, ScriptedReply, ScriptedRule } from './scripted-model-server';

/** The small Python job most lifecycle tests run: `calc.add`, its pytest test, the fix. */
export const CALC = {
  BUGGY: 'def add(a, b):\n    """Add two numbers."""\n    return a - b\n',
  FIXED: 'def add(a, b):\n    """Add two numbers."""\n    return a + b\n',
  TESTS: 'from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3, "one plus two is three"\n',
};

/** A model answer to a refactor prompt: the whole new file. */
export const fileFix = (content: string, explanation = 'fixed'): ScriptedReply => ({
  content: { content, explanation },
});

/**
 * The scripted model of a calc job: generate answers `code` as calc.py, the test engineer
 * test_calc.py, the reviewer a clean review, and the fixer `fixes` (one per request, the last
 * repeating). `rules` go first, for what a test changes.
 */
export function calcScript(
  options: { code?: string; tests?: string; fixes?: ScriptedReply | ScriptedReply[]; rules?: ScriptedRule[] } = {},
): ModelScript {
  const { code = CALC.BUGGY, tests = CALC.TESTS, fixes = fileFix(CALC.FIXED, 'add, not subtract') } = options;
  return {
    rules: [
      ...(options.rules ?? []),
      {
        match: 'test engineer',
        in: 'system',
        reply: { content: { files: [{ path: 'test_calc.py', content: tests }], explanation: 'pytest for add' } },
      },
      { match: 'code reviewer', in: 'system', reply: { content: { findings: [], summary: 'Looks correct.' } } },
      { match: 'fixing code', in: 'system', reply: fixes },
    ],
    default: { content: { files: [{ path: 'calc.py', content: code }], explanation: 'first try' } },
  };
}
