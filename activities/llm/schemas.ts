import { z } from 'zod';
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
  content: z.string(),
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
  summary: z.string(),
});
export type ReviewAnswer = z.infer<typeof reviewAnswerSchema>;
