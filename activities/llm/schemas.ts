import { z } from 'zod';
import { filesFromProse } from './answer-repair';
import type { AnswerReader } from './structured-output';
import { isSafePath } from '../../common/path-policy';

/** One file the model writes. An array, not a record: strict JSON schema mode has no free-form keys. */
export const generatedFileSchema = z.object({
  path: z
    .string()
    .min(1)
    .max(300)
    .refine(
      (p) => isSafePath(p.replace(/^(\.\/)+/, '')),
      'a relative path inside the project (see common/path-policy.ts)',
    ),
  content: z
    .string()
    // A small model copies the format's placeholder ("<the whole file>") instead of writing the file.
    .refine(
      (c) => !/^\s*[<([][^\n]{0,60}[>)\]]\s*$/.test(c),
      'the content is a placeholder, not the file: write the whole file',
    ),
});

/** What every code-writing step answers: files plus an explanation. */
export const codeAnswerSchema = z.object({
  files: z.array(generatedFileSchema).min(1).max(50),
  explanation: z.string(),
});
export type CodeAnswer = z.infer<typeof codeAnswerSchema>;

/** A whole rewritten file, for per-file refactors. */
export const fileRewriteSchema = z.object({
  content: z.string(),
  explanation: z.string(),
});
export type FileRewrite = z.infer<typeof fileRewriteSchema>;

/** The model's review: findings with a severity; `blocking` ones send the job back to refactor. */
export const reviewAnswerSchema = z.object({
  findings: z.array(
    z.object({
      severity: z.enum(['blocking', 'major', 'minor']),
      file: z.string(),
      line: z.number().int().nullable(),
      message: z.string(),
      suggestion: z.string().nullable(),
    }),
  ),
  /** When tests fail: whether the code, the tests or both are wrong, judged against the task. */
  failingTests: z.enum(['code', 'tests', 'both']).nullable().default(null),
  summary: z.string(),
});
export type ReviewAnswer = z.infer<typeof reviewAnswerSchema>;

// ---------------------------------------------------------------------------------------------------
// Readers: answers of a near shape, mapped onto the schemas (see structured-output.ts)
// ---------------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function fileOf(entry: unknown, fallbackPath: () => string | undefined): unknown {
  if (!isRecord(entry)) return entry;
  const path = text(entry.path) ?? text(entry.filename) ?? text(entry.file) ?? text(entry.name) ?? fallbackPath();
  const content = text(entry.content) ?? text(entry.code) ?? text(entry.text) ?? text(entry.source);
  return { path, content };
}

/**
 * Code answers as models really send them: a `files` map instead of an array, one file at the top
 * level, `code` for `content`, `filename` for `path`, no explanation; or no JSON at all, only fenced
 * code (named by the text before each block, else by `fallbackPaths`).
 */
export function codeAnswerReader(fallbackPaths: string[]): AnswerReader {
  return {
    normalise(value) {
      const fallback = [...fallbackPaths];
      const next = () => fallback.shift();
      if (Array.isArray(value)) value = { files: value };
      if (!isRecord(value)) return value;
      let files = value.files ?? value.file;
      if (isRecord(files) && !('content' in files) && !('code' in files)) {
        files = Object.entries(files).map(([path, content]) => ({ path, content }));
      }
      if (isRecord(files)) files = [files];
      if (files === undefined && (text(value.content) ?? text(value.code)) !== undefined) files = [value];
      return {
        files: Array.isArray(files) ? files.map((f) => fileOf(f, next)) : files,
        explanation: text(value.explanation) ?? text(value.summary) ?? '',
      };
    },
    fromProse(raw) {
      const files = filesFromProse(raw, fallbackPaths);
      return files ? { files, explanation: proseAround(raw) } : undefined;
    },
  };
}

/** The words of an answer outside its code blocks: the explanation of a code-block answer. */
function proseAround(raw: string): string {
  return raw
    .replace(/```[\s\S]*?(```|$)/g, ' ')
    .replace(/^\s*[\w./-]+\.\w+\s*:?\s*$/gm, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 600);
}

/** A rewrite sent as `code`, or as a one-file `files` answer, or as a bare fenced block. */
export const fileRewriteReader: AnswerReader = {
  normalise(value) {
    if (!isRecord(value)) return value;
    const first = Array.isArray(value.files) && isRecord(value.files[0]) ? value.files[0] : undefined;
    return {
      content: text(value.content) ?? text(value.code) ?? text(first?.content) ?? text(first?.code),
      explanation: text(value.explanation) ?? text(value.summary) ?? '',
    };
  },
  fromProse(raw) {
    const files = filesFromProse(raw, ['file']);
    return files?.[0] ? { content: files[0].content, explanation: proseAround(raw) } : undefined;
  },
};

const SEVERITY: Record<string, 'blocking' | 'major' | 'minor'> = {
  blocking: 'blocking',
  blocker: 'blocking',
  critical: 'blocking',
  error: 'blocking',
  high: 'major',
  major: 'major',
  medium: 'major',
  warning: 'minor',
  minor: 'minor',
  low: 'minor',
  info: 'minor',
  style: 'minor',
};

/** Reviews with other severity words, a line as text, missing fields, or a bare list of findings. */
export const reviewAnswerReader: AnswerReader = {
  normalise(value) {
    if (Array.isArray(value)) value = { findings: value };
    if (!isRecord(value)) return value;
    const findings = Array.isArray(value.findings) ? value.findings : Array.isArray(value.issues) ? value.issues : [];
    const verdict = text(value.failingTests)?.toLowerCase();
    return {
      findings: findings.filter(isRecord).map((f) => {
        const line = typeof f.line === 'number' ? f.line : Number.parseInt(text(f.line) ?? '', 10);
        return {
          severity: SEVERITY[(text(f.severity) ?? 'minor').toLowerCase()] ?? 'minor',
          file: text(f.file) ?? text(f.path) ?? '',
          line: Number.isInteger(line) ? line : null,
          message: text(f.message) ?? text(f.description) ?? text(f.issue) ?? '',
          suggestion: text(f.suggestion) ?? text(f.fix) ?? null,
        };
      }),
      failingTests: verdict === 'code' || verdict === 'tests' || verdict === 'both' ? verdict : null,
      summary: text(value.summary) ?? '',
    };
  },
};
