import { z } from 'zod';
import { pathProblem } from '../common/path-policy';
import { FORGES, refProblem, repositoryUrlProblem, subPathProblem } from '../common/repository-spec';
import { LANGUAGES, TASK_KINDS } from '../workflows/coding-job/definitions';

/** A file name from a client: the one path policy (common/path-policy.ts). */
const relativePath = z.string().superRefine((p, ctx) => {
  const problem = pathProblem(p);
  if (problem) ctx.addIssue({ code: 'custom', message: `must be a relative path inside the project: it ${problem}` });
});

/** At most `max` entries, counted before any key or value is validated. */
const boundedRecord = (max: number, what: string) =>
  z
    .custom<Record<string, unknown>>(
      (v) => !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length <= max,
      `an object of at most ${max} ${what}`,
    )
    .meta({ type: 'object', maxProperties: max, description: `At most ${max} ${what}.` });

const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 30m, 24h or 7d');

const codacyName = z.string().regex(/^[\w.-]{1,100}$/, 'letters, digits, dot, dash and underscore');

/** The Codacy repository of a schedule's or a review job's code. */
export const codacyRepositorySchema = z
  .object({
    provider: z.enum(['gh', 'ghe', 'gl', 'gle', 'bb', 'bbe']),
    organization: codacyName,
    repository: codacyName,
    branch: z
      .string()
      .regex(/^[\w./-]{1,200}$/, 'a branch name')
      .optional(),
  })
  .strict();

export const jobOptionsSchema = z
  .object({
    maxIterations: z.number().int().min(1).max(20).optional(),
    maxTokens: z.number().int().min(1000).max(10_000_000).optional(),
    maxCostUsd: z.number().min(0).max(1000).optional(),
    requireApproval: z.boolean().optional(),
    approvalTimeout: duration.optional(),
    approvalDefault: z.enum(['approve', 'reject']).optional(),
    continueAsNewAfter: z.number().int().min(1).max(100).optional(),
    drafts: z.number().int().min(1).max(10).optional(),
    singleShot: z.boolean().optional(),
    push: z.boolean().optional(),
    pullRequest: z.boolean().optional(),
    commentOn: z.number().int().min(1).optional(),
  })
  .strict();

const checked = (problem: (v: string) => string | undefined) =>
  z.string().superRefine((v, ctx) => {
    const why = problem(v);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  });

/** `repository: { url, ref?, path?, forge? }` in jobs and schedules. */
export const repositorySchema = z
  .object({
    url: checked(repositoryUrlProblem),
    ref: checked(refProblem).optional(),
    path: checked(subPathProblem).optional(),
    forge: z.enum(FORGES).optional(),
  })
  .strict();

/** `POST /api/workflows`. Task names are accepted in any case ("GENERATE" or "generate"). */
export const startJobSchema = z
  .object({
    task: z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(TASK_KINDS)),
    description: z.string().trim().min(1).max(20_000),
    language: z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(LANGUAGES)).optional(),
    files: boundedRecord(100, 'files')
      .pipe(z.record(relativePath, z.string().max(512_000)))
      .optional(),
    context: z.string().max(50_000).optional(),
    requirements: z.array(z.string().min(1).max(2_000)).max(50).optional(),
    project: z
      .string()
      .regex(/^[\w.-]{1,100}$/, 'letters, digits, dot, dash and underscore')
      .optional(),
    error: z.string().max(50_000).optional(),
    requestId: z
      .string()
      .regex(/^[\w.:-]{1,128}$/, 'letters, digits and . _ : - (at most 128)')
      .optional(),
    options: jobOptionsSchema.optional(),
    // A REVIEW of committed code: Codacy's findings join it only where Codacy analysed this very commit.
    codacy: z
      .object({
        repository: codacyRepositorySchema,
        revision: z.string().regex(/^[0-9a-f]{40,64}$/, 'a full commit sha'),
      })
      .strict()
      .optional(),
    repository: repositorySchema.optional(),
  })
  .strict()
  .refine((b) => b.codacy === undefined || b.task === 'review', {
    message: 'codacy is for a review of committed code (task review): code a job writes was never analysed by Codacy',
    path: ['codacy'],
  })
  .superRefine((body, ctx) => {
    if (body.repository && body.files)
      ctx.addIssue({ code: 'custom', path: ['files'], message: 'give either files or a repository, not both' });
    if ((body.options?.push || body.options?.pullRequest || body.options?.commentOn) && !body.repository)
      ctx.addIssue({ code: 'custom', path: ['options'], message: 'push, pullRequest and commentOn need a repository' });
  });
export type StartJobBody = z.infer<typeof startJobSchema>;

export const workflowIdSchema = z.string().regex(/^[\w.:-]{1,200}$/, 'a workflow id');

/** A path parameter checked by `schema`: a refusal names the parameter (`id`), not the body. */
export function pathParam<T>(schema: z.ZodType<T>, raw: unknown, name = 'id'): T {
  return z.object({ [name]: schema }).parse({ [name]: raw })[name] as T;
}

/** `POST /api/workflows/:id/retry`. */
export const retrySchema = z
  .object({
    requestId: z
      .string()
      .trim()
      .regex(/^[\w.:-]{1,128}$/, 'letters, digits and . _ : - (at most 128)')
      .optional(),
    reason: z.string().max(2_000).optional(),
  })
  .strict();

/** `POST /api/workflows/:id/approve`. */
export const approveSchema = z
  .object({ reviewer: z.string().max(200).optional(), comment: z.string().max(10_000).optional() })
  .strict();

/** `POST /api/workflows/:id/request-changes`. */
export const changesSchema = z
  .object({ reviewer: z.string().max(200).optional(), feedback: z.string().trim().min(1).max(20_000) })
  .strict();
