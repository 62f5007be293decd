import { type Command, list, print, str } from '../command';
import { EXIT, exitCodeForOutcome } from '../exit-codes';
import { readInputFiles, writeOutputFiles } from '../files';
import { formatAssist } from '../format';
import { assist, type AssistAnswer } from '../jobs';

/** Asks for a coding job in plain words. */
export const askCommand: Command = {
  usage:
    'ask "<message>" [--file path]... [--language python|typescript|javascript] [--project name] [--context text] [--no-wait] [--out dir]',
  summary: 'asks for a coding job in plain words and, unless --no-wait, waits for the answer',
  options: {
    file: { type: 'string', short: 'f', multiple: true },
    language: { type: 'string', short: 'l' },
    project: { type: 'string', short: 'p' },
    context: { type: 'string' },
    'no-wait': { type: 'boolean' },
    out: { type: 'string', short: 'o' },
  },
  arity: [1, 1],
  async run(ctx) {
    const { values: v } = ctx;
    const answer: AssistAnswer = await assist(ctx.api, {
      message: ctx.args[0]!,
      files: await readInputFiles(list(v, 'file')),
      language: str(v, 'language'),
      project: str(v, 'project'),
      context: str(v, 'context'),
      wait: v['no-wait'] !== true,
    });
    const outDir = str(v, 'out');
    const written =
      outDir && answer.code && Object.keys(answer.code).length
        ? await writeOutputFiles(outDir, answer.code)
        : undefined;
    print(ctx, written ? { ...answer, written } : answer, () => formatAssist(answer, written, outDir));
    return answer.success === undefined ? EXIT.ok : exitCodeForOutcome(answer.outcome);
  },
};
