#!/usr/bin/env node
/**
 * `sophia`: the command-line client of the Sophia REST API. Every command is one or two API calls;
 * the API validates, talks to Temporal and shapes errors. Exit codes: 0 success, the catalogue's
 * `exitCode` for a job's typed failure (`common/failures.ts`), 2 bad usage, 12 API unreachable, 1 the rest.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiClient, DEFAULT_API_URL, seg } from './api-client';
import { EXIT, exitCodeFor, exitCodeForOutcome } from './exit-codes';
import { LocalFileError, readInputFiles, writeOutputFiles } from './files';
import {
  errorJson,
  formatAssist,
  formatError,
  formatProgress,
  formatResult,
  formatStatus,
  TokenLines,
  type TokenChunk,
} from './format';
import {
  approveJob,
  assist,
  cancelJob,
  jobFiles,
  jobPatch,
  jobResult,
  jobStatus,
  requestChanges,
  retryJob,
  startJob,
  type AssistAnswer,
  type JobStatus,
} from './jobs';
import { serveMcp } from './mcp';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

interface Ctx {
  api: ApiClient;
  json: boolean;
  values: Values;
  /** Positionals after the command name. */
  args: string[];
  out(text: string): void;
}

interface Command {
  usage: string;
  summary: string;
  options?: Options;
  /** How many positionals the command takes: [min, max]. */
  arity: [number, number];
  run(ctx: Ctx): Promise<number>;
}

/** A bad command line: exit 2 with the command's usage. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

const GLOBAL_OPTIONS: Options = {
  api: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const str = (v: Values, key: string): string | undefined =>
  typeof v[key] === 'string' ? (v[key] as string) : undefined;
const list = (v: Values, key: string): string[] => (Array.isArray(v[key]) ? (v[key] as string[]) : []);

function required(v: Values, key: string, command: string): string {
  const value = str(v, key);
  if (value === undefined || value.trim() === '') throw new UsageError(`--${key} is required.`, command);
  return value;
}

function milliseconds(v: Values, key: string, command: string): number {
  const raw = str(v, key);
  if (raw === undefined) return 0;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0)
    throw new UsageError(`--${key} takes a number of milliseconds, not "${raw}".`, command);
  return ms;
}

function print(ctx: Ctx, body: unknown, human: () => string): void {
  ctx.out(ctx.json ? JSON.stringify(body, null, 2) : human());
}

const ID = '<id>';

const COMMANDS: Record<string, Command> = {
  ask: {
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
  },
  run: {
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
  },
  status: {
    usage: `status ${ID}`,
    summary: 'phase, iteration, last tests, usage and the Web UI link of a job',
    arity: [1, 1],
    async run(ctx) {
      const status = await jobStatus(ctx.api, ctx.args[0]!);
      print(ctx, status, () => formatStatus(status));
      return EXIT.ok;
    },
  },
  follow: {
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
      return COMMANDS.result!.run({ ...ctx, values: { out: ctx.values.out } });
    },
  },
  result: {
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
  },
  files: {
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
  },
  cancel: {
    usage: `cancel ${ID}`,
    summary: 'cancels a running job (the sandbox kills its code and removes its workspace)',
    arity: [1, 1],
    async run(ctx) {
      const body = await cancelJob(ctx.api, ctx.args[0]!);
      print(ctx, body, () => `${body.workflowId}  ${body.status}`);
      return EXIT.ok;
    },
  },
  retry: {
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
  },
  approve: {
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
  },
  'request-changes': {
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
  },
  schedules: {
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
  },
  mcp: {
    usage: 'mcp',
    summary: 'serves the jobs as MCP tools over stdio, for IDE agents',
    arity: [0, 0],
    async run(ctx) {
      await serveMcp(ctx.api);
      return EXIT.ok;
    },
  },
};

function usageText(command?: string): string {
  const spec = command ? COMMANDS[command] : undefined;
  if (spec) return `usage: sophia ${spec.usage} [--api URL] [--json]\n  ${spec.summary}`;
  return [
    'usage: sophia <command> [options] [--api URL] [--json]',
    '',
    'commands:',
    ...Object.values(COMMANDS).map((c) => `  ${c.usage}\n      ${c.summary}`),
    '',
    `--api URL   the Sophia API (env SOPHIA_API_URL, default ${DEFAULT_API_URL}); SOPHIA_API_TOKEN is sent as a bearer token`,
    '--json      machine output: the API\'s JSON, and errors as { "error": { code, message, details } }',
  ].join('\n');
}

const ALL_OPTIONS: Options = Object.assign({}, GLOBAL_OPTIONS, ...Object.values(COMMANDS).map((c) => c.options ?? {}));

/** Runs one command line and answers its exit code. Expected errors are printed, never thrown. */
export async function runCli(
  argv: string[],
  io: { out(text: string): void; err(text: string): void } = {
    out: (t) => process.stdout.write(t + '\n'),
    err: (t) => process.stderr.write(t + '\n'),
  },
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  // A loose first pass finds the command, wherever the global options stand.
  const loose = parseArgs({ args: argv, options: ALL_OPTIONS, strict: false, allowPositionals: true });
  const name = loose.positionals[0];
  const json = loose.values.json === true;
  if (name === undefined || name === 'help') {
    const wanted = loose.positionals[1];
    if (name === 'help' || loose.values.help === true) {
      io.out(usageText(wanted));
      return EXIT.ok;
    }
    io.err(usageText());
    return EXIT.usage;
  }
  const command = COMMANDS[name];
  let api: ApiClient | undefined;
  try {
    if (!command) throw new UsageError(`Unknown command "${name}".`);
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: { ...GLOBAL_OPTIONS, ...command.options },
        strict: true,
        allowPositionals: true,
      });
    } catch (err) {
      throw new UsageError((err as Error).message, name);
    }
    if (parsed.values.help === true) {
      io.out(usageText(name));
      return EXIT.ok;
    }
    const args = parsed.positionals.slice(1);
    const [min, max] = command.arity;
    if (args.length < min || args.length > max) {
      throw new UsageError(
        args.length < min
          ? `Missing ${command.usage.split(' ')[1] ?? 'argument'}.`
          : `Unexpected argument "${args[max]}".`,
        name,
      );
    }
    const baseUrl = (parsed.values.api as string | undefined) ?? env.SOPHIA_API_URL ?? DEFAULT_API_URL;
    if (!/^https?:\/\/[^/]+/.test(baseUrl))
      throw new UsageError(`--api must be an http(s) URL, not "${baseUrl}".`, name);
    api = new ApiClient({ baseUrl, token: env.SOPHIA_API_TOKEN || undefined });
    return await command.run({ api, json, values: parsed.values as Values, args, out: io.out });
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`sophia: ${err.message}\n${usageText(err.command)}`);
      return EXIT.usage;
    }
    if (err instanceof LocalFileError) {
      io.err(`sophia: ${err.message}`);
      return EXIT.usage;
    }
    const code = exitCodeFor(err);
    if (json) io.out(JSON.stringify(errorJson(err), null, 2));
    else io.err(formatError(err, api));
    return code;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2))
    .then((code) => {
      process.exitCode = code;
    })
    .catch((err: unknown) => {
      // runCli prints every expected error itself; this is a bug, so show it.
      process.stderr.write(`sophia: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = EXIT.failed;
    });
}
