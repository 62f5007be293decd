#!/usr/bin/env node
/**
 * `sophia`: the command-line client of the Sophia REST API. Every command is one or two API calls;
 * the API validates, talks to Temporal and shapes errors. Exit codes: 0 success, the catalogue's
 * `exitCode` for a job's typed failure (`common/failures.ts`), 2 bad usage, 12 API unreachable, 1 the rest.
 */
import { parseArgs } from 'node:util';
import { ApiClient, DEFAULT_API_URL } from './api-client';
import { GLOBAL_OPTIONS, UsageError, type Command, type Options, type Values } from './command';
import { approveCommand, rejectCommand, requestChangesCommand } from './commands/approval';
import { askCommand } from './commands/ask';
import { cancelCommand, retryCommand } from './commands/job-control';
import { mcpCommand } from './commands/mcp';
import { resultCommand, filesCommand } from './commands/result';
import { runCommand } from './commands/run';
import { schedulesCommand } from './commands/schedules';
import { followCommand, statusCommand } from './commands/status';
import { EXIT, exitCodeFor } from './exit-codes';
import { LocalFileError } from './files';
import { errorJson, formatError } from './format';

/** The commands, in the order `sophia help` lists them; each lives in cli/commands/. */
const COMMANDS: Record<string, Command> = {
  ask: askCommand,
  run: runCommand,
  status: statusCommand,
  follow: followCommand,
  result: resultCommand,
  files: filesCommand,
  cancel: cancelCommand,
  retry: retryCommand,
  approve: approveCommand,
  reject: rejectCommand,
  'request-changes': requestChangesCommand,
  schedules: schedulesCommand,
  mcp: mcpCommand,
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
