import type { ParseArgsConfig } from 'node:util';
import type { ApiClient } from './api-client';

/** What every command gets, and the helpers commands share to read options and print. */

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Ctx {
  api: ApiClient;
  json: boolean;
  values: Values;
  /** Positionals after the command name. */
  args: string[];
  out(text: string): void;
}

export interface Command {
  usage: string;
  summary: string;
  options?: Options;
  /** How many positionals the command takes: [min, max]. */
  arity: [number, number];
  run(ctx: Ctx): Promise<number>;
}

/** A bad command line: exit 2 with the command's usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export const GLOBAL_OPTIONS: Options = {
  api: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const str = (v: Values, key: string): string | undefined =>
  typeof v[key] === 'string' ? (v[key] as string) : undefined;
export const list = (v: Values, key: string): string[] => (Array.isArray(v[key]) ? (v[key] as string[]) : []);

export function required(v: Values, key: string, command: string): string {
  const value = str(v, key);
  if (value === undefined || value.trim() === '') throw new UsageError(`--${key} is required.`, command);
  return value;
}

export function milliseconds(v: Values, key: string, command: string): number {
  const raw = str(v, key);
  if (raw === undefined) return 0;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0)
    throw new UsageError(`--${key} takes a number of milliseconds, not "${raw}".`, command);
  return ms;
}

export function print(ctx: Ctx, body: unknown, human: () => string): void {
  ctx.out(ctx.json ? JSON.stringify(body, null, 2) : human());
}

export const ID = '<id>';
