/**
 * Reading real model answers. Small local models wrap JSON in prose or fences, write a tool call as
 * text instead of an answer, put Markdown fences inside the JSON strings that should hold raw file
 * text, get cut off at max_tokens, or ignore the JSON format and answer with a fenced code block.
 * Each function here turns one such answer back into what was asked for, or says it cannot.
 * (Answers seen from Qwen2.5-Coder 0.5B/1.5B on llama.cpp are replayed in tests/unit/answer-repair.test.ts.)
 */

const FENCE = /```[ \t]*([\w.+#-]*)[^\n]*\n([\s\S]*?)(?:\n[ \t]*```|$(?![\s\S]))/g;

/** Fenced blocks in a text, in order: language tag and body. A last fence left open counts to the end. */
export function fencedBlocks(text: string): { lang: string; body: string }[] {
  const blocks: { lang: string; body: string }[] = [];
  for (const m of text.matchAll(FENCE)) blocks.push({ lang: (m[1] ?? '').toLowerCase(), body: m[2] ?? '' });
  return blocks;
}

/**
 * The JSON value an answer holds, wherever it is: the whole text, a fenced block, a `<tool_call>`
 * wrapper, or the outermost `{…}` in prose. A tool call (`{"name", "arguments"}`, with arguments as an
 * object or a JSON string) is unwrapped to its arguments. Undefined when no JSON is found.
 */
export function extractJson(text: string): unknown {
  const candidates: string[] = [];
  const trimmed = text.trim();
  candidates.push(trimmed);
  const toolCall = /<tool_call>\s*([\s\S]*?)\s*(?:<\/tool_call>|$)/.exec(trimmed);
  if (toolCall?.[1]) candidates.push(toolCall[1]);
  for (const block of fencedBlocks(trimmed)) if (/^\s*[[{]/.test(block.body)) candidates.push(block.body);
  const first = trimmed.indexOf('{');
  const last = trimmed.lastIndexOf('}');
  if (first >= 0 && last > first) candidates.push(trimmed.slice(first, last + 1));
  for (const candidate of candidates) {
    try {
      return unwrapToolCall(JSON.parse(candidate));
    } catch {
      // try the next reading
    }
  }
  return undefined;
}

function unwrapToolCall(value: unknown): unknown {
  if (!isRecord(value)) return value;
  const fn = isRecord(value.function) ? value.function : value;
  const args = fn.arguments ?? fn.parameters;
  if (typeof fn.name === 'string' && args !== undefined && Object.keys(value).length <= 3) {
    if (typeof args === 'string') {
      try {
        return JSON.parse(args);
      } catch {
        return args;
      }
    }
    return args;
  }
  return value;
}

/**
 * Closes a JSON text cut off mid-way (finish_reason `length`): ends an open string, drops a dangling
 * key or comma, and closes open arrays and objects. The result parses, or undefined.
 */
export function closeTruncatedJson(text: string): unknown {
  const start = text.indexOf('{');
  if (start < 0) return undefined;
  const body = text.slice(start);
  const stack: string[] = [];
  let inString = false;
  let escaped = false;
  for (const ch of body) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') stack.push(ch === '{' ? '}' : ']');
    else if (ch === '}' || ch === ']') stack.pop();
  }
  let repaired = body;
  if (escaped) repaired = repaired.slice(0, -1);
  if (inString) repaired += '"';
  const closing = stack.reverse().join('');
  // A value cut before it began (a dangling key, a trailing comma) cannot be completed: drop it.
  const candidates = [repaired, repaired.replace(/,\s*$/, ''), repaired.replace(/,?\s*"(?:[^"\\]|\\.)*"\s*:?\s*$/, '')];
  for (const candidate of candidates) {
    try {
      return JSON.parse(candidate + closing);
    } catch {
      // the next reading
    }
  }
  return undefined;
}

/**
 * The raw file text in a `content` the model filled: Markdown fences around it (or prose around one
 * fenced block) removed. Text with no fence is returned as it is.
 */
export function cleanFileContent(content: string): string {
  const trimmed = content.trim();
  if (!trimmed.includes('```')) return content;
  const blocks = fencedBlocks(trimmed).filter((b) => b.body.trim() !== '');
  if (blocks.length === 0) return content.replace(/^\s*```[^\n]*\n?|\n?```\s*$/g, '');
  // Prose around code: the longest block is the file (a second, short block is usually a usage example).
  const longest = blocks.reduce((a, b) => (b.body.length > a.body.length ? b : a));
  return longest.body.endsWith('\n') ? longest.body : `${longest.body}\n`;
}

/**
 * Whether Python source ends in the middle of something: a bracket or a string still open. A test
 * file that does so was cut off, whatever the endpoint said about the answer's end.
 */
export function pythonLooksCutOff(content: string): boolean {
  let depth = 0;
  for (let i = 0; i < content.length; i++) {
    const c = content[i]!;
    if (c === '#') {
      const end = content.indexOf('\n', i);
      if (end < 0) return false;
      i = end;
    } else if (c === '"' || c === "'") {
      const quote = content.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      let j = i + quote.length;
      for (; j < content.length; j++) {
        if (content[j] === '\\') j++;
        else if (content.startsWith(quote, j)) break;
        else if (quote.length === 1 && content[j] === '\n') return true;
      }
      if (j >= content.length) return true;
      i = j + quote.length - 1;
    } else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
  }
  return depth > 0;
}

/**
 * A Python test file cut off at max_tokens, back to its last whole test: the last top-level block
 * (a `def`, a `class`, with its decorators) is dropped entire, wherever the cut fell inside it (a
 * list, a string, a call), so the tests before it load and run. Undefined when the file has no
 * earlier top-level block to keep.
 */
export function trimTruncatedPythonTests(content: string): string | undefined {
  const lines = content.split('\n');
  const starts = topLevelStarts(content);
  const defs = starts.filter((i) => /^(def |class |async def )/.test(lines[i]!));
  if (defs.length < 2) return undefined;
  // The last definition, with the decorators stacked on it (each maybe over several lines).
  let cut = defs.at(-1)!;
  for (let k = starts.indexOf(cut) - 1; k >= 0 && lines[starts[k]!]!.startsWith('@'); k--) cut = starts[k]!;
  return `${lines.slice(0, cut).join('\n').trimEnd()}\n`;
}

/** The lines that start a top-level statement: at column 0, outside any bracket or string. */
function topLevelStarts(content: string): number[] {
  const starts: number[] = [];
  let depth = 0;
  let line = 0;
  let lineStart = true;
  for (let i = 0; i < content.length; i++) {
    const c = content[i]!;
    if (lineStart && depth === 0 && !/\s/.test(c) && c !== '#') starts.push(line);
    lineStart = false;
    if (c === '\n') {
      line++;
      lineStart = true;
    } else if (c === '#') {
      const end = content.indexOf('\n', i);
      if (end < 0) break;
      i = end - 1;
    } else if (c === '"' || c === "'") {
      const quote = content.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      let j = i + quote.length;
      for (; j < content.length && !content.startsWith(quote, j); j++) {
        if (content[j] === '\\') j++;
        else if (content[j] === '\n') line++;
      }
      i = j + quote.length - 1;
    } else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth = Math.max(0, depth - 1);
  }
  return starts;
}

/**
 * The end of a file cut off at max_tokens: its last, incomplete line is dropped, and then any
 * trailing definition whose body never started, so what is left parses more often than not.
 */
export function trimTruncatedFile(content: string): string {
  const lines = content.trimEnd().split('\n');
  // The last line was cut (an answer that ends in a newline was cut between lines: keep it).
  if (!/\n\s*$/.test(content) || /[:{(,[]\s*$/.test(lines.at(-1)!)) lines.pop();
  while (
    lines.length > 0 &&
    /^\s*(def |class |async def |function |it\(|test\(|@)|[:{(,[]\s*$|^\s*$/.test(lines.at(-1)!)
  ) {
    lines.pop();
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * Repeated identical assertion lines (a small model's loop until max_tokens) kept once each.
 */
export function dropRepeatedAsserts(content: string): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of content.split('\n')) {
    const key = line.trim();
    if (/^(assert\b|assert\.|expect\()/.test(key)) {
      if (seen.has(key)) continue;
      seen.add(key);
    }
    out.push(line);
  }
  return out.join('\n');
}

/**
 * Files from an answer that ignored the JSON format: each fenced code block becomes a file, named by a
 * path mentioned just before it ("`slugify.py`:", "File: tests/test_x.py", "# slugify.py" as its first
 * line), else by `fallbackPaths` in order. Undefined when the text has no code block.
 */
export function filesFromProse(text: string, fallbackPaths: string[]): { path: string; content: string }[] | undefined {
  const files: { path: string; content: string }[] = [];
  const fallback = [...fallbackPaths];
  let cursor = 0;
  for (const m of text.matchAll(FENCE)) {
    const before = text.slice(cursor, m.index).split('\n').slice(-3).join('\n');
    cursor = (m.index ?? 0) + m[0].length;
    const body = m[2] ?? '';
    if (body.trim() === '' || /^\s*[[{]/.test(body)) continue;
    const firstLine = /^\s*(?:#|\/\/)\s*([\w./-]+\.\w+)\s*\n/.exec(body);
    const named = /([\w./-]+\.(?:py|ts|js|mjs|cjs|tsx|jsx|md|ya?ml|json|toml|txt|cfg|ini|sh))\b[`*]*\s*:?\s*$/i.exec(
      before.trim(),
    );
    const path = named?.[1] ?? firstLine?.[1] ?? fallback.shift();
    if (!path) continue;
    files.push({ path: path.replace(/^\.\//, ''), content: body.endsWith('\n') ? body : `${body}\n` });
  }
  return files.length ? files : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
