import type { Language, TaskKind } from '../workflows/coding-job/definitions';

/**
 * Finds the task kind of a natural-language request from its main verb and that verb's object, not
 * from the first keyword: "write tests for the fix" is a TEST (the verb is "write", its object
 * "tests"), "fix the failing test" is a DEBUG.
 */
const VERBS: [RegExp, TaskKind | 'object'][] = [
  [/^(fix|debug|repair|resolve|troubleshoot|diagnose|investigate)$/, 'debug'],
  [/^(review|audit|critique|inspect|check|assess|evaluate)$/, 'review'],
  [
    /^(refactor|restructure|simplify|clean|tidy|rename|extract|modernize|modernise|optimi[sz]e|split|reorgani[sz]e)$/,
    'refactor',
  ],
  [/^(document|annotate|comment|describe|explain)$/, 'document'],
  [/^(deploy|containeri[sz]e|dockeri[sz]e|ship|package|release)$/, 'deploy'],
  [/^(test|cover|verify)$/, 'test'],
  [/^(write|add|create|generate|build|implement|make|produce|give|develop|code|scaffold|design|need|want)$/, 'object'],
];

/** For "write/add/create X": what X is decides the kind. */
const OBJECTS: [RegExp, TaskKind][] = [
  [/^(tests?|unit ?tests?|test ?cases?|specs?|pytest|coverage|test ?suite)$/, 'test'],
  [/^(docs?|documentation|docstrings?|tsdoc|jsdoc|comments?|readme|type ?hints?|annotations?)$/, 'document'],
  [/^(dockerfile|docker|manifests?|kubernetes|k8s|helm|deployment|container|pipeline)$/, 'deploy'],
  [/^(fix|fixes|patch)$/, 'debug'],
];

const FILLER = new Set([
  'please',
  'can',
  'could',
  'would',
  'you',
  'i',
  'we',
  'me',
  'us',
  'a',
  'an',
  'the',
  'some',
  'more',
  'few',
  'proper',
  'good',
  'full',
  'missing',
  'new',
  'and',
  'to',
  'for',
  'of',
  'my',
  'our',
  'this',
  'that',
  'these',
  'it',
  'also',
  'just',
  'help',
  'let',
  "let's",
  'lets',
  'kindly',
  'quickly',
  'thorough',
  'comprehensive',
  'python',
  'typescript',
  'javascript',
  'pytest',
  'some',
  'like',
  'need',
  'want',
  'hey',
  'hi',
  'now',
  'then',
  'first',
  'unit',
]);

export function detectTaskKind(message: string): TaskKind {
  const words = message
    .toLowerCase()
    .replace(/[^a-z0-9'\s-]/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const verb = VERBS.find(([re]) => re.test(word));
    if (!verb) continue;
    if (verb[1] !== 'object') {
      // "test" as a noun after a determiner ("the test fails") is not the verb.
      if (verb[1] === 'test' && i > 0 && /^(the|a|this|that|my|failing)$/.test(words[i - 1]!)) continue;
      return verb[1];
    }
    // The first content word after the verb, allowing "unit tests", "type hints", "test cases".
    const rest = words.slice(i + 1).filter((w) => !FILLER.has(w) || w === 'unit');
    const head = rest.slice(0, 2).join(' ');
    for (const candidate of [head, rest[0] ?? '']) {
      const object = OBJECTS.find(([re]) => re.test(candidate));
      if (object) return object[1];
    }
    if (rest[0] === 'unit' && /^tests?$/.test(rest[1] ?? '')) return 'test';
    return 'generate';
  }
  if (/\b(traceback|exception|error|bug|crash(es)?|fails?|broken)\b/i.test(message)) return 'debug';
  return 'generate';
}

export function detectLanguage(message: string, files: Record<string, string> = {}): Language | undefined {
  const paths = Object.keys(files);
  if (paths.some((p) => p.endsWith('.py'))) return 'python';
  if (paths.some((p) => /\.tsx?$/.test(p))) return 'typescript';
  if (paths.some((p) => /\.[cm]?jsx?$/.test(p))) return 'javascript';
  const text = message.toLowerCase();
  if (/\b(python|pytest|django|flask|fastapi|\.py)\b/.test(text)) return 'python';
  if (/\b(typescript|\.ts|tsx|deno)\b/.test(text)) return 'typescript';
  if (/\b(javascript|node(\.js)?|\.js|express|react)\b/.test(text)) return 'javascript';
  return undefined;
}
