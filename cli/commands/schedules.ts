import { type Command, print, required, str, UsageError } from '../command';
import { seg } from '../api-client';
import { EXIT } from '../exit-codes';

/** Scheduled reviews of a repository. */
export const schedulesCommand: Command = {
  usage:
    'schedules list | show <id> | create --repo /abs/path --language l [--id id] [--project p] [--cron expr | --interval s] [--run-tests] | trigger|pause|unpause|latest|delete <id>',
  summary: 'scheduled reviews of a repository',
  options: {
    repo: { type: 'string' },
    language: { type: 'string', short: 'l' },
    id: { type: 'string' },
    project: { type: 'string', short: 'p' },
    cron: { type: 'string' },
    interval: { type: 'string' },
    'run-tests': { type: 'boolean' },
  },
  arity: [1, 2],
  async run(ctx) {
    const [action, id] = ctx.args as [string, string | undefined];
    const needId = (): string => {
      if (!id) throw new UsageError(`schedules ${action} needs a schedule id.`, 'schedules');
      return seg(id);
    };
    const dump = (body: unknown) => print(ctx, body, () => JSON.stringify(body, null, 2));
    switch (action) {
      case 'list': {
        const { body } = await ctx.api.get<{
          schedules: {
            scheduleId: string;
            repositoryPath: string;
            language: string;
            paused: boolean;
            nextRunTimes: string[];
          }[];
        }>('/api/schedules');
        print(ctx, body, () =>
          body.schedules.length === 0
            ? 'no schedules'
            : body.schedules
                .map(
                  (s) =>
                    `${s.scheduleId}  ${s.language}  ${s.repositoryPath}  ${s.paused ? 'paused' : `next ${s.nextRunTimes[0] ?? '—'}`}`,
                )
                .join('\n'),
        );
        return EXIT.ok;
      }
      case 'create': {
        const v = ctx.values;
        const interval = str(v, 'interval');
        const { body } = await ctx.api.post('/api/schedules', {
          repositoryPath: required(v, 'repo', 'schedules'),
          language: required(v, 'language', 'schedules'),
          scheduleId: str(v, 'id'),
          project: str(v, 'project'),
          cron: str(v, 'cron'),
          intervalSeconds: interval === undefined ? undefined : Number(interval),
          runTests: v['run-tests'] === true ? true : undefined,
        });
        dump(body);
        return EXIT.ok;
      }
      case 'show':
      case 'latest':
        dump((await ctx.api.get(`/api/schedules/${needId()}${action === 'latest' ? '/latest' : ''}`)).body);
        return EXIT.ok;
      case 'trigger':
      case 'pause':
      case 'unpause':
        dump((await ctx.api.post(`/api/schedules/${needId()}/${action}`)).body);
        return EXIT.ok;
      case 'delete':
        await ctx.api.delete(`/api/schedules/${needId()}`);
        print(ctx, { scheduleId: id, deleted: true }, () => `deleted ${id}`);
        return EXIT.ok;
      default:
        throw new UsageError(`Unknown schedules action "${action}".`, 'schedules');
    }
  },
};
