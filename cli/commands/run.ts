import { type Command, list, print, required, str } from '../command';
import { EXIT } from '../exit-codes';
import { readInputFiles } from '../files';
import { startJob } from '../jobs';

/** Starts a job of a given kind. */
export const runCommand: Command = {
  usage:
    'run <task> --description text [--file path]... | [--repo url [--ref ref] [--path dir] [--push] [--pull-request]] [--error text] [--language l] [--project name] [--approval] [--request-id id]',
  summary: 'starts a job of a given kind (generate, test, review, refactor, debug, document, deploy)',
  options: {
    description: { type: 'string', short: 'd' },
    file: { type: 'string', short: 'f', multiple: true },
    error: { type: 'string' },
    language: { type: 'string', short: 'l' },
    project: { type: 'string', short: 'p' },
    approval: { type: 'boolean' },
    'request-id': { type: 'string' },
    repo: { type: 'string' },
    ref: { type: 'string' },
    path: { type: 'string' },
    push: { type: 'boolean' },
    'pull-request': { type: 'boolean' },
  },
  arity: [1, 1],
  async run(ctx) {
    const { values: v } = ctx;
    const repo = str(v, 'repo');
    const options = {
      ...(v.approval === true ? { requireApproval: true } : {}),
      ...(v.push === true ? { push: true } : {}),
      ...(v['pull-request'] === true ? { pullRequest: true } : {}),
    };
    const started = await startJob(ctx.api, {
      ...(repo ? { repository: { url: repo, ref: str(v, 'ref'), path: str(v, 'path') } } : {}),
      task: ctx.args[0]!,
      description: required(v, 'description', 'run'),
      files: await readInputFiles(list(v, 'file')),
      error: str(v, 'error'),
      language: str(v, 'language'),
      project: str(v, 'project'),
      requestId: str(v, 'request-id'),
      options: Object.keys(options).length ? options : undefined,
    });
    print(ctx, started, () =>
      [
        `job     ${started.workflowId}${started.existing ? ' (already started with this request id)' : ''}`,
        `next    sophia status ${started.workflowId}   ·   sophia result ${started.workflowId} --wait 60000`,
        `Web UI  ${started.links.ui}`,
      ].join('\n'),
    );
    return EXIT.ok;
  },
};
