/**
 * The outcome benchmark: HumanEval through a running Sophia stack, single-shot against the full loop.
 *
 *   npm run eval -- [--limit N] [--problems 0,5,HumanEval/7] [--stride K] [--arms single-shot,loop]
 *                   [--model NAME] [--run NAME] [--concurrency 2] [--max-iterations N] [--api URL]
 *                   [--out bench/results] [--job-timeout-min 120] [--score-timeout-s 20]
 *
 * It talks to the stack `npm start` brings up (SOPHIA_API_URL or --api, default http://localhost:8000)
 * and scores each job's final files in the bubblewrap sandbox of this machine. Rerun the same command
 * after a crash or Ctrl-C: it reattaches to the jobs already started and skips the ones scored.
 * See bench/eval/harness.ts and the README's "Outcome benchmark".
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ApiError, ApiUnreachableError, DEFAULT_API_URL } from '../cli/api-client';
import { EvalDataError, loadProblems, selectProblems } from './eval/human-eval';
import { EvalStoppedError, runEval } from './eval/harness';
import { checkScorer } from './eval/scorer-check';
import { ARMS, formatSummary, type Arm } from './eval/report';

const USAGE = `usage: npm run eval -- [options]
  --limit N             the first N problems (after --problems and --stride)
  --problems LIST       only these problems: task numbers or ids, comma-separated (0,5,HumanEval/7)
  --stride K            every K-th problem
  --arms LIST           single-shot,loop (default both)
  --model NAME          the model to evaluate; must be (part of) the name the stack serves
  --run NAME            the run's name (default humaneval): same name = resume, a new name = fresh jobs
  --concurrency N       jobs in flight at once (default 2)
  --max-iterations N    the loop arm's refactor rounds (default: the stack's JOB_MAX_ITERATIONS)
  --api URL             the API (default SOPHIA_API_URL or ${DEFAULT_API_URL})
  --out DIR             results folder (default bench/results); results go to DIR/<run>/<model>/
  --job-timeout-min N   leave a job unscored after N minutes (default 120; a rerun picks it up)
  --score-timeout-s N   wall-clock limit of one scoring run in the sandbox (default 20)
  --check-scorer        no stack: check that each selected problem's canonical solution passes in the
                        sandbox and its bare stub fails, then exit`;

class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number ≥ 1 (got ${value})`);
  return n;
}

function list(value: string | undefined): string[] | undefined {
  return value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      limit: { type: 'string' },
      problems: { type: 'string' },
      stride: { type: 'string' },
      arms: { type: 'string' },
      model: { type: 'string' },
      run: { type: 'string', default: 'humaneval' },
      concurrency: { type: 'string' },
      'max-iterations': { type: 'string' },
      api: { type: 'string' },
      out: { type: 'string' },
      'job-timeout-min': { type: 'string' },
      'score-timeout-s': { type: 'string' },
      'check-scorer': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const arms = (list(values.arms) ?? [...ARMS]) as Arm[];
  const badArm = arms.find((a) => !(ARMS as readonly string[]).includes(a));
  if (badArm || arms.length === 0) throw new UsageError(`--arms takes ${ARMS.join(', ')} (got ${values.arms})`);
  const problems = selectProblems(loadProblems(), {
    problems: list(values.problems),
    stride: positiveInt('stride', values.stride),
    limit: positiveInt('limit', values.limit),
  });
  if (problems.length === 0) throw new UsageError('the selection has no problems');
  const scoreTimeoutMs = (positiveInt('score-timeout-s', values['score-timeout-s']) ?? 20) * 1000;
  if (values['check-scorer']) {
    const check = await checkScorer(problems, {
      concurrency: positiveInt('concurrency', values.concurrency),
      timeoutMs: scoreTimeoutMs,
    });
    process.stdout.write(
      `scorer check on ${check.problems} problems: canonical solutions passed ${check.problems - check.canonicalFailed.length}, ` +
        `bare stubs passed ${check.stubPassed.length}; ${Math.round(check.meanRunMs)} ms per sandbox run, ` +
        `${(check.wallMs / 1000).toFixed(1)} s in all\n`,
    );
    for (const f of check.canonicalFailed) process.stdout.write(`canonical failed: ${f.task_id}\n${f.detail ?? ''}\n`);
    if (check.stubPassed.length) process.stdout.write(`a bare stub passed: ${check.stubPassed.join(', ')}\n`);
    return check.canonicalFailed.length || check.stubPassed.length ? 1 : 0;
  }
  const apiUrl = values.api ?? process.env.SOPHIA_API_URL ?? DEFAULT_API_URL;

  const abort = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write(
      '\ninterrupted: no new jobs; the running ones go on in the stack. Ctrl-C again to quit now.\n',
    );
    abort.abort();
    process.once('SIGINT', () => process.exit(130));
  });

  const run = await runEval({
    apiUrl,
    token: process.env.SOPHIA_API_TOKEN,
    run: values.run!,
    model: values.model,
    arms,
    problems,
    outDir: values.out ?? path.join(__dirname, 'results'),
    concurrency: positiveInt('concurrency', values.concurrency),
    maxIterations: positiveInt('max-iterations', values['max-iterations']),
    jobTimeoutMs: (positiveInt('job-timeout-min', values['job-timeout-min']) ?? 120) * 60_000,
    scoreTimeoutMs,
    signal: abort.signal,
    log: (line) => process.stderr.write(`[eval] ${line}\n`),
  });

  process.stdout.write(formatSummary(run.summary) + '\n\n');
  process.stdout.write(`results: ${run.paths.results}\nsummary: ${run.paths.summary}\nchart:   ${run.paths.chart}\n`);
  process.stdout.write(
    `jobs: ${run.started.length} started, ${run.reattached.length} reattached. In the Web UI: ${run.uiUrl ?? run.query}\n` +
      `  or: .tools/pip/bin/temporal workflow list --query "${run.query}"\n`,
  );
  if (run.pending.length) {
    process.stdout.write(
      `${run.pending.length} job(s) still running (${run.pending.map((p) => p.workflowId).join(', ')}): ` +
        'run the same command again to score them.\n',
    );
  }
  return run.aborted ? 130 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ApiUnreachableError) {
      process.stderr.write(
        `eval: ${err.message}\n` +
          'In another terminal, bring the stack up with its model, then run the eval again:\n' +
          '  npm start                                   # the pinned local model\n' +
          '  OPENAI_BASE_URL=<endpoint> OPENAI_MODEL=<name> npm start   # any OpenAI-compatible server\n',
      );
      process.exit(12);
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`eval: ${(err as Error).message}\n${USAGE}\n`);
      process.exit(2);
    }
    if (err instanceof ApiError) {
      // E.g. an API without options.singleShot rejects the single-shot arm's jobs (400, with the field).
      const details = Object.keys(err.details).length ? ` ${JSON.stringify(err.details).slice(0, 1000)}` : '';
      process.stderr.write(`eval: the API answered ${err.status} ${err.code}: ${err.message}${details}\n`);
      process.exit(1);
    }
    if (err instanceof EvalStoppedError || err instanceof EvalDataError) {
      process.stderr.write(`eval: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`eval: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
