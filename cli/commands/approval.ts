import { type Command, ID, print, required, str } from '../command';
import { EXIT } from '../exit-codes';
import { approveJob, rejectJob, requestChanges } from '../jobs';

/** The approval gate's decisions. */
export const approveCommand: Command = {
  usage: `approve ${ID} [--comment text] [--reviewer name]`,
  summary: 'approves a job waiting at its approval gate',
  options: { comment: { type: 'string' }, reviewer: { type: 'string' } },
  arity: [1, 1],
  async run(ctx) {
    const body = await approveJob(ctx.api, ctx.args[0]!, {
      comment: str(ctx.values, 'comment'),
      reviewer: str(ctx.values, 'reviewer'),
    });
    print(ctx, body, () => `${body.workflowId}  ${body.decision}`);
    return EXIT.ok;
  },
};

export const rejectCommand: Command = {
  usage: `reject ${ID} [--comment text] [--reviewer name]`,
  summary: 'rejects a job waiting at its approval gate: it finishes as rejected',
  options: { comment: { type: 'string' }, reviewer: { type: 'string' } },
  arity: [1, 1],
  async run(ctx) {
    const body = await rejectJob(ctx.api, ctx.args[0]!, {
      comment: str(ctx.values, 'comment'),
      reviewer: str(ctx.values, 'reviewer'),
    });
    print(ctx, body, () => `${body.workflowId}  ${body.decision}`);
    return EXIT.ok;
  },
};

export const requestChangesCommand: Command = {
  usage: `request-changes ${ID} --feedback text [--reviewer name]`,
  summary: 'sends a job at its approval gate back for another refactor round',
  options: { feedback: { type: 'string' }, reviewer: { type: 'string' } },
  arity: [1, 1],
  async run(ctx) {
    const body = await requestChanges(ctx.api, ctx.args[0]!, {
      feedback: required(ctx.values, 'feedback', 'request-changes'),
      reviewer: str(ctx.values, 'reviewer'),
    });
    print(ctx, body, () => `${body.workflowId}  ${body.decision}`);
    return EXIT.ok;
  },
};
