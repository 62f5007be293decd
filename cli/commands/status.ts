import { type Command, ID, print } from '../command';
import { seg } from '../api-client';
import { EXIT } from '../exit-codes';
import { formatProgress, formatStatus, type TokenChunk, TokenLines } from '../format';
import { jobStatus, type JobStatus } from '../jobs';
import { resultCommand } from './result';

/** A job's status, once or as it changes. */
export const statusCommand: Command = {
  usage: `status ${ID}`,
  summary: 'phase, iteration, last tests, usage and the Web UI link of a job',
  arity: [1, 1],
  async run(ctx) {
    const status = await jobStatus(ctx.api, ctx.args[0]!);
    print(ctx, status, () => formatStatus(status));
    return EXIT.ok;
  },
};

export const followCommand: Command = {
  usage: `follow ${ID} [--out dir]`,
  summary:
    "prints each phase change of a job as it happens, and the model's tokens as they are generated, then its result (exit code as result)",
  options: { out: { type: 'string', short: 'o' } },
  arity: [1, 1],
  async run(ctx) {
    const id = ctx.args[0]!;
    const tokens = new TokenLines(ctx.out);
    await ctx.api.stream(`/api/workflows/${seg(id)}/events?tokens=true`, ({ event, data }) => {
      if (event === 'chunk' && !ctx.json) return tokens.push(data as TokenChunk);
      tokens.flush();
      if (event === 'status') print(ctx, { event, ...(data as object) }, () => formatProgress(data as JobStatus));
      else if (ctx.json) ctx.out(JSON.stringify({ event, ...(data as object) }));
    });
    tokens.flush();
    // The job has closed: show its result the way `result` does, with the same exit code.
    return resultCommand.run({ ...ctx, values: { out: ctx.values.out } });
  },
};
