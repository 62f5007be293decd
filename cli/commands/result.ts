import { type Command, ID, milliseconds, print, required, str } from '../command';
import { EXIT, exitCodeForOutcome } from '../exit-codes';
import { writeOutputFiles } from '../files';
import { formatResult } from '../format';
import { jobFiles, jobPatch, jobResult } from '../jobs';

/** A finished job's result and files. */
export const resultCommand: Command = {
  usage: `result ${ID} [--wait ms] [--out dir] [--patch]`,
  summary:
    "a finished job's result (exit code: its outcome, or its failure type's); --patch prints the unified diff of a job on a repository (pipe it to git apply)",
  options: {
    wait: { type: 'string', short: 'w' },
    out: { type: 'string', short: 'o' },
    patch: { type: 'boolean' },
  },
  arity: [1, 1],
  async run(ctx) {
    const id = ctx.args[0]!;
    const result = await jobResult(ctx.api, id, milliseconds(ctx.values, 'wait', 'result'));
    if (ctx.values.patch === true) {
      const patch = await jobPatch(ctx.api, id);
      // The bare diff, so `sophia result <id> --patch | git apply` works; --json gives the git facts too.
      ctx.out(ctx.json ? JSON.stringify(patch, null, 2) : patch.patch.replace(/\n$/, ''));
      return exitCodeForOutcome(result.result.outcome);
    }
    const outDir = str(ctx.values, 'out');
    const files = result.result.files ? (await jobFiles(ctx.api, id)).files : undefined;
    const written = outDir && files ? await writeOutputFiles(outDir, files) : undefined;
    print(ctx, written ? { ...result, written } : result, () =>
      formatResult(result, written ?? (files && Object.keys(files))),
    );
    return exitCodeForOutcome(result.result.outcome);
  },
};

export const filesCommand: Command = {
  usage: `files ${ID} --out dir`,
  summary: "writes a finished job's files under a directory",
  options: { out: { type: 'string', short: 'o' } },
  arity: [1, 1],
  async run(ctx) {
    const outDir = ctx.json ? str(ctx.values, 'out') : required(ctx.values, 'out', 'files');
    const { files } = await jobFiles(ctx.api, ctx.args[0]!);
    const written = outDir ? await writeOutputFiles(outDir, files) : undefined;
    print(ctx, written ? { workflowId: ctx.args[0], written } : { workflowId: ctx.args[0], files }, () =>
      (written ?? []).map((f) => `wrote ${f}`).join('\n'),
    );
    return EXIT.ok;
  },
};
