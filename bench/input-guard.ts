/**
 * What a hostile body costs the API before it is refused: a `files` map of 140,000 keys (the issue's
 * attack) through the body guard and through the job schema, and one valid body of 100 files.
 * Prints milliseconds; asserts nothing. Run: `npx tsx bench/input-guard.ts`.
 */
import type { Request, Response } from 'express';
import { guardBody } from '../api/input-guard';
import { startJobSchema } from '../api/validation';

function time(label: string, fn: () => string): void {
  const runs: number[] = [];
  let outcome = '';
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    outcome = fn();
    runs.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  runs.sort((a, b) => a - b);
  console.log(`${label.padEnd(44)} median ${runs[2]!.toFixed(1)} ms  (${outcome})`);
}

const guard = guardBody();
const throughGuard = (body: unknown) => {
  let status = 'passed';
  guard({ body, query: {} } as Request, {} as Response, (err?: unknown) => {
    if (err) status = `refused ${(err as { status?: number }).status}`;
  });
  return status;
};
const throughSchema = (body: unknown) => {
  const parsed = startJobSchema.safeParse(body);
  return parsed.success ? 'valid' : `invalid, ${JSON.stringify(parsed.error.issues).length}-byte issues`;
};

const hostile = {
  task: 'review',
  description: 'x',
  files: Object.fromEntries(Array.from({ length: 140_000 }, (_, i) => [`f${i}`, ''])),
};
const valid = {
  task: 'review',
  description: 'x',
  files: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`src/module_${i}.py`, 'x = 1\n'.repeat(200)])),
};
time('guard, 140,000-key files map', () => throughGuard(hostile));
time('job schema, 140,000-key files map', () => throughSchema(hostile));
time('guard, 100 files of 1.2 KB', () => throughGuard(valid));
time('job schema, 100 files of 1.2 KB', () => throughSchema(valid));
