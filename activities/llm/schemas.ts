import { z } from 'zod';

/** One file the model writes. An array, not a record: strict JSON schema mode has no free-form keys. */
export const generatedFileSchema = z.object({
  path: z
    .string()
    .min(1)
    .max(300)
    .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'a relative path inside the project'),
  content: z.string(),
});

/** What every code-writing step answers: files plus an explanation. */
export const codeAnswerSchema = z.object({
  files: z.array(generatedFileSchema).min(1).max(50),
  explanation: z.string(),
});
export type CodeAnswer = z.infer<typeof codeAnswerSchema>;
