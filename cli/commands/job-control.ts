import { type Command, ID, print, str } from '../command';
import { EXIT } from '../exit-codes';
import { cancelJob, retryJob } from '../jobs';

/** Cancels a running job, or re-runs a failed one from its failed step. */
export const cancelCommand: Command = {
  usage: `cancel ${ID}`,
  summary: 'cancels a running job (the sandbox kills its code and removes its workspace)',
  arity: [1, 1],
  async run(ctx) {
    const body = await cancelJob(ctx.api, ctx.args[0]!);
    print(ctx, body, () => `${body.workflowId}  ${body.status}`);
    return EXIT.ok;
  },
};

export const retryCommand: Command = {
  usage: `retry ${ID} [--reason text]`,
  summary: 're-runs a failed job from the step that failed',
  options: { reason: { type: 'string' } },
  arity: [1, 1],
  async run(ctx) {
    const body = await retryJob(ctx.api, ctx.args[0]!, { reason: str(ctx.values, 'reason') });
    print(ctx, body, () =>
      [
        `job      ${ctx.args[0]} (new run ${body.runId})`,
        `resumed  at ${body.resumedFrom.step}; kept ${body.resumedFrom.keptSteps.join(', ') || 'nothing'}`,
        `Web UI   ${body.links.ui}`,
      ].join('\n'),
    );
    return EXIT.ok;
  },
};
