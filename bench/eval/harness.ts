/**
 * The outcome benchmark's harness: HumanEval problems as real jobs through the Sophia API, in two arms
 * on the same model (single-shot: generate only; loop: tests, review and refactor), each job's final
 * files scored against HumanEval's own tests in the bubblewrap sandbox. The job never sees them.
 *
 * Durable: each (run, model, arm, problem) has a deterministic requestId, so a rerun after a crash or
 * Ctrl-C reattaches to the jobs already started or finished instead of starting them again; every
 * scored job is appended to results.jsonl as it finishes, and a rerun skips what is scored there.
 * The jobs live in a project per run, model and arm, so the Web UI lists them with one query.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { executeSandboxed } from '../../activities/sandbox/run-in-sandbox';
import { ApiClient, ApiError, ApiUnreachableError, seg } from '../../cli/api-client';
import { FAILURES, isFailureType } from '../../common/failures';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import { jobRequestFor, scoringFiles, solutionFile, type HumanEvalProblem } from './human-eval';
import { renderChart, summarise, type Arm, type EvalRecord, type EvalSummary } from './report';

export interface EvalOptions {
  /** The API of a running stack, e.g. http://localhost:8000. */
  apiUrl: string;
  /** Bearer token when the API sets API_TOKEN. */
  token?: string;
  /** The run's name: requestIds, projects and the results folder derive from it. */
  run: string;
  /** The model to evaluate; checked against the one the stack serves when /ready names it. */
  model?: string;
  arms: readonly Arm[];
  problems: HumanEvalProblem[];
  /** Results go to `<outDir>/<run>/<model>/`: results.jsonl, summary.json, chart.svg. */
  outDir: string;
  /** Jobs in flight at once (default 2). */
  concurrency?: number;
  /** The loop arm's maxIterations (refactor rounds); the API's default when unset. */
  maxIterations?: number;
  /** How long to wait for one job before leaving it unscored for a rerun (default 2 h). */
  jobTimeoutMs?: number;
  /** Wall-clock limit of one scoring run in the sandbox (default 20 s). */
  scoreTimeoutMs?: number;
  /** Stops the run: no new jobs, and waiting ones are left running in the stack for a rerun. */
  signal?: AbortSignal;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface EvalRun {
  summary: EvalSummary;
  /** The model the jobs ran on, as labelled in requestIds and results. */
  model: string;
  /** Where the results are. */
  paths: { dir: string; results: string; summary: string; chart: string };
  /** Jobs this run started (not reattached). */
  started: string[];
  /** Jobs that were already there and were reattached to. */
  reattached: string[];
  /** Jobs left running (abort or job timeout): a rerun scores them. */
  pending: { arm: Arm; task_id: string; workflowId: string }[];
  /** The Temporal visibility query that lists this run's jobs (Web UI or `temporal workflow list`). */
  query: string;
  /** The Web UI's workflow list filtered by that query, when the API gave a UI link. */
  uiUrl?: string;
  aborted: boolean;
}

/**
 * The eval cannot go on: the stack is not ready, serves another model, or a job failed for a reason
 * that is the set-up's (model configuration, sandbox, a dependency) rather than the model's answer.
 * The message says what to do.
 */
export class EvalStoppedError extends Error {
  override readonly name = 'EvalStoppedError';
}

/** Failure types that say the set-up is broken, not the model's answer: they stop the run unscored. */
const SETUP_EXIT_CODES = new Set([3, 5, 6]);
function isSetupFailure(code: string): boolean {
  return isFailureType(code) && SETUP_EXIT_CODES.has(FAILURES[code].exitCode);
}

const RUN_NAME = /^[A-Za-z0-9][\w.-]{0,39}$/;

/** Lower-case letters, digits, dot and dash; long names keep a hash so two never collide. */
export function slug(value: string, max: number): string {
  const s = value
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  if (s.length <= max && s) return s;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 8);
  return `${s.slice(0, max - 9).replace(/[-.]+$/, '')}-${hash}`;
}

/** The job's requestId: the same (run, model, arm, problem) is always the same job. */
export function requestIdFor(run: string, model: string, arm: Arm, taskId: string): string {
  return `eval-${run}-${slug(model, 40)}-${arm}-he${/(\d+)$/.exec(taskId)?.[1] ?? slug(taskId, 12)}`;
}

/** The project of an arm's jobs (`SophiaProject`), which also keeps the loop's memory per run and model. */
export function projectFor(run: string, model: string, arm: Arm): string {
  return `eval-${run}-${slug(model, 40)}-${arm}`;
}

interface ReadyBody {
  ready?: boolean;
  status?: string;
  checks?: Record<string, { ok?: boolean; required?: boolean; detail?: string }>;
  /** The serving model, once the API reports it. */
  model?: { name?: string; baseURL?: string; local?: boolean };
}

const SERVE_HINT =
  'To evaluate another model, restart the stack serving it: `SOPHIA_LOCAL_MODEL=0.5b npm start` for the other ' +
  'local model, or `OPENAI_BASE_URL=<endpoint> OPENAI_MODEL=<name> npm start` for any OpenAI-compatible server.';

/** Asks /ready whether the stack can run jobs, and which model it serves. */
async function checkStack(apiUrl: string, token: string | undefined, wanted: string | undefined): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`${apiUrl.replace(/\/+$/, '')}/ready`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ApiUnreachableError(apiUrl, cause?.code ?? cause?.message ?? String(err));
  }
  const body = (await res.json().catch(() => ({}))) as ReadyBody;
  if (!res.ok || body.ready === false) {
    const down = Object.entries(body.checks ?? {})
      .filter(([, c]) => c.ok === false)
      .map(([name, c]) => `${name}: ${c.detail ?? 'down'}`);
    throw new EvalStoppedError(
      `The stack at ${apiUrl} is not ready (HTTP ${res.status}${down.length ? `; ${down.join('; ')}` : ''}). ` +
        'Start it (or wait for it) with `npm start`, then run the eval again.',
    );
  }
  if (body.checks?.model?.ok === false) {
    throw new EvalStoppedError(`The stack at ${apiUrl} has no model: ${body.checks.model.detail ?? ''}. ${SERVE_HINT}`);
  }
  // Until the API reports `model`, its model check names it: "<baseURL> model <name>".
  const served = body.model?.name ?? /\bmodel (\S+)$/.exec(body.checks?.model?.detail ?? '')?.[1];
  if (wanted && served && !served.toLowerCase().includes(wanted.toLowerCase())) {
    throw new EvalStoppedError(`The stack at ${apiUrl} serves ${served}, not ${wanted}. ${SERVE_HINT}`);
  }
  return served ?? wanted ?? 'unknown-model';
}

/**
 * The commit of the code serving the jobs, as /ready reports it (what the API started from), else the
 * checkout's: records made across code changes say which code made them.
 */
async function servingCommit(apiUrl: string, token: string | undefined): Promise<string | undefined> {
  try {
    const res = await fetch(`${apiUrl.replace(/\/+$/, '')}/ready`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const body = (await res.json()) as { commit?: unknown };
    if (typeof body.commit === 'string' && body.commit) return body.commit;
  } catch {
    // Scoring goes on; the checkout's commit stands in.
  }
  return headCommit();
}

/** The checkout's commit. */
function headCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** The records of a results file; a line cut short by a crash is skipped (its job is reattached). */
export function readRecords(file: string): EvalRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      if (!line.trim()) return [];
      try {
        return [JSON.parse(line) as EvalRecord];
      } catch {
        return [];
      }
    });
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** Resolves with `undefined` when the signal fires first; the request itself is left to finish. */
function unlessAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
  if (!signal) return p;
  if (signal.aborted) return Promise.resolve(undefined);
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  // Long runs poll for hours: a listener per poll must not pile up on the signal.
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** How long a running eval waits for an API that went away: `npm start` rebuilding and restarting takes a minute or two. */
const RECONNECT_MS = 5 * 60_000;

/** Retries a request while the API is unreachable (a restart of the stack), for up to RECONNECT_MS, then gives up. */
async function withReconnect<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const since = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ApiUnreachableError) || Date.now() - since >= RECONNECT_MS || signal?.aborted) throw err;
      await sleep(Math.min(2_000 * attempt, 15_000), signal);
    }
  }
}

/**
 * HumanEval's tests against a job's final files, in the project's bubblewrap sandbox on this machine:
 * pass is exit 0 within `timeoutMs`, with no sandbox violation.
 */
export async function scoreFiles(
  problem: HumanEvalProblem,
  files: Record<string, string>,
  timeoutMs: number,
): Promise<Pick<EvalRecord, 'passed' | 'solutionFile' | 'score' | 'detail'>> {
  const solution = solutionFile(problem, files);
  if (!solution) {
    return {
      passed: false,
      score: null,
      detail: `no final non-test .py file defines def ${problem.entry_point}(`,
    };
  }
  const { files: sandboxFiles, program } = scoringFiles(problem, files, solution);
  const run = await executeSandboxed({
    files: sandboxFiles,
    command: ['python3', program],
    language: 'python',
    timeoutMs,
  }).catch((err: unknown) => {
    // The sandbox itself is unusable here (no bwrap, no python): no score would mean anything.
    const type = (err as { type?: string }).type;
    throw new EvalStoppedError(
      `Scoring runs HumanEval's tests in the bubblewrap sandbox of this machine, and it failed` +
        `${type ? ` (${type})` : ''}: ${err instanceof Error ? err.message : String(err)}`,
    );
  });
  const passed = run.exitCode === 0 && !run.timedOut && run.violations.length === 0;
  const output = Buffer.concat([run.stdout, run.stderr]).toString('utf8').trim();
  return {
    passed,
    solutionFile: solution,
    score: { exitCode: run.exitCode, timedOut: run.timedOut, violations: run.violations, durationMs: run.durationMs },
    ...(passed
      ? {}
      : { detail: (run.timedOut ? 'timed out. ' : '') + output.split('\n').slice(-6).join('\n').slice(-600) }),
  };
}

type JobEnd =
  { kind: 'result'; result: CodingJobResult } | { kind: 'failed'; code: string; message: string } | { kind: 'pending' };

/**
 * Runs (or resumes) an eval and writes its results. Resolves with the summary of every selected
 * problem scored so far; rejects with `EvalStoppedError` or `ApiUnreachableError` when it cannot go
 * on (what is scored stays in results.jsonl).
 */
export async function runEval(options: EvalOptions): Promise<EvalRun> {
  if (!RUN_NAME.test(options.run)) {
    throw new EvalStoppedError(
      `--run ${JSON.stringify(options.run)}: use 1–40 letters, digits, dot, dash or underscore.`,
    );
  }
  const log = options.log ?? (() => undefined);
  // Aborted by the caller, or by this run when one job stops it: the other workers stop waiting too.
  const stop = new AbortController();
  if (options.signal?.aborted) stop.abort();
  options.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  const { signal } = stop;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const jobTimeoutMs = options.jobTimeoutMs ?? 2 * 60 * 60 * 1000;
  const scoreTimeoutMs = options.scoreTimeoutMs ?? 20_000;
  const api = new ApiClient({ baseUrl: options.apiUrl, token: options.token });

  const model = await checkStack(options.apiUrl, options.token, options.model);
  const dir = path.join(options.outDir, options.run, slug(model, 64));
  fs.mkdirSync(dir, { recursive: true });
  const paths = {
    dir,
    results: path.join(dir, 'results.jsonl'),
    summary: path.join(dir, 'summary.json'),
    chart: path.join(dir, 'chart.svg'),
  };
  const scored = new Set(readRecords(paths.results).map((r) => `${r.arm}|${r.task_id}`));
  const loopOptions = options.maxIterations ? { maxIterations: options.maxIterations } : undefined;
  // The requestIds do not carry the loop's options: a run resumed with others would mix two set-ups.
  const earlier = fs.existsSync(paths.summary)
    ? (JSON.parse(fs.readFileSync(paths.summary, 'utf8')) as Partial<EvalSummary>).options
    : undefined;
  if (earlier && earlier.maxIterations !== options.maxIterations) {
    throw new EvalStoppedError(
      `Run ${options.run} was made with ${earlier.maxIterations ? `--max-iterations ${String(earlier.maxIterations)}` : 'the default iterations'}; ` +
        'resume it with the same, or give this set-up a new --run name.',
    );
  }

  // Problem-major, so an interrupted run still has both arms of the problems it reached.
  const work = options.problems.flatMap((problem) =>
    options.arms.filter((arm) => !scored.has(`${arm}|${problem.task_id}`)).map((arm) => ({ problem, arm })),
  );
  log(
    `model ${model}; ${options.problems.length} problems × ${options.arms.join(', ')}: ` +
      `${options.problems.length * options.arms.length - work.length} already scored, ${work.length} to run`,
  );

  const started: string[] = [];
  const reattached: string[] = [];
  const pending: EvalRun['pending'] = [];
  let uiBase: string | undefined;
  let stopped: unknown;

  async function runOne(problem: HumanEvalProblem, arm: Arm): Promise<void> {
    const requestId = requestIdFor(options.run, model, arm, problem.task_id);
    const { description, files } = jobRequestFor(problem);
    const body = {
      task: 'generate',
      language: 'python',
      description,
      files,
      project: projectFor(options.run, model, arm),
      requestId,
      ...(arm === 'single-shot' ? { options: { singleShot: true } } : loopOptions ? { options: loopOptions } : {}),
    };
    const start = await withReconnect(
      () => api.post<{ workflowId: string; links?: { ui?: string } }>('/api/workflows', body),
      signal,
    );
    const { workflowId } = start.body;
    const existing = start.status === 200;
    (existing ? reattached : started).push(workflowId);
    uiBase ??= start.body.links?.ui?.replace(/\/workflows\/.*$/, '');

    let end = await waitForJob(workflowId);
    if (end.kind === 'failed' && isSetupFailure(end.code) && existing) {
      // A job an earlier run left failed for a set-up reason: retry it from its failed step, once,
      // now that the set-up may be fixed.
      log(`[${arm}] ${problem.task_id}: ${workflowId} failed earlier (${end.code}); retrying it from its failed step`);
      await withReconnect(
        () => api.post(`/api/workflows/${seg(workflowId)}/retry`, { reason: 'npm run eval' }),
        signal,
      );
      end = await waitForJob(workflowId);
    }
    if (end.kind === 'pending') {
      pending.push({ arm, task_id: problem.task_id, workflowId });
      log(`[${arm}] ${problem.task_id}: ${workflowId} still running; a rerun will score it`);
      return;
    }
    if (end.kind === 'failed' && isSetupFailure(end.code)) {
      throw new EvalStoppedError(
        `${workflowId} failed with ${end.code}: ${end.message} Fix the stack, then run the eval again ` +
          '(it retries such jobs from their failed step).',
      );
    }

    const status = await withReconnect(
      () => api.get<{ startedAt?: string; closedAt?: string | null }>(`/api/workflows/${seg(workflowId)}`),
      signal,
    );
    const wallSeconds =
      status.body.startedAt && status.body.closedAt
        ? (Date.parse(status.body.closedAt) - Date.parse(status.body.startedAt)) / 1000
        : null;
    const result = end.kind === 'result' ? end.result : undefined;
    const finalFiles = result?.files
      ? (
          await withReconnect(
            () => api.get<{ files: Record<string, string> }>(`/api/workflows/${seg(workflowId)}/files`),
            signal,
          )
        ).body.files
      : {};
    const scoring = await scoreFiles(problem, finalFiles, scoreTimeoutMs);
    const commit = await servingCommit(options.apiUrl, options.token);
    const record: EvalRecord = {
      run: options.run,
      model,
      arm,
      task_id: problem.task_id,
      entry_point: problem.entry_point,
      requestId,
      workflowId,
      reattached: existing,
      outcome: result?.outcome ?? 'failed',
      ...(end.kind === 'failed' ? { failure: { code: end.code, message: end.message.slice(0, 500) } } : {}),
      ...scoring,
      refactorRounds: result?.iterations.filter((i) => i.step === 'refactor').length ?? 0,
      usage: {
        promptTokens: result?.usage.promptTokens ?? 0,
        completionTokens: result?.usage.completionTokens ?? 0,
        totalTokens: result?.usage.totalTokens ?? 0,
        costUsd: result?.usage.costUsd ?? 0,
        cachedCalls: result?.usage.cachedCalls ?? 0,
      },
      wallSeconds,
      scoredAt: new Date().toISOString(),
      ...(commit ? { commit } : {}),
    };
    fs.appendFileSync(paths.results, JSON.stringify(record) + '\n');
    log(
      `[${arm}] ${problem.task_id} ${problem.entry_point}: ${record.passed ? 'PASS' : 'fail'} ` +
        `(${record.outcome}${record.failure ? ` ${record.failure.code}` : ''}, ${record.refactorRounds} refactor rounds, ` +
        `${record.usage.totalTokens} tokens${wallSeconds === null ? '' : `, ${wallSeconds.toFixed(1)} s`}${existing ? ', reattached' : ''})`,
    );
  }

  /** Long-polls the job's result until it ends, the job timeout passes or the run is aborted. */
  async function waitForJob(workflowId: string): Promise<JobEnd> {
    const deadline = Date.now() + jobTimeoutMs;
    while (!signal?.aborted && Date.now() < deadline) {
      const waitMs = Math.min(30_000, Math.max(1, deadline - Date.now()));
      try {
        const res = await unlessAborted(
          withReconnect(
            () => api.get<{ result: CodingJobResult }>(`/api/workflows/${seg(workflowId)}/result?wait=${waitMs}`),
            signal,
          ),
          signal,
        );
        if (res) return { kind: 'result', result: res.body.result };
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        // A 5xx is the API's trouble, not the job's: poll again rather than score a running job as failed.
        if (err.status >= 500) {
          await new Promise((r) => setTimeout(r, 1_000));
          continue;
        }
        if (err.code !== 'JobNotFinished') return { kind: 'failed', code: err.code, message: err.message };
      }
    }
    return { kind: 'pending' };
  }

  let next = 0;
  async function worker(): Promise<void> {
    while (!signal.aborted) {
      const item = work[next++];
      if (!item) return;
      try {
        await runOne(item.problem, item.arm);
      } catch (err) {
        stopped ??= err;
        stop.abort();
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, work.length)) }, () => worker()));

  const records = readRecords(paths.results);
  const summary = summarise({
    run: options.run,
    model,
    arms: options.arms,
    problems: options.problems.map((p) => p.task_id),
    records,
    options: { concurrency, ...(loopOptions ?? {}) },
  });
  fs.writeFileSync(paths.summary, JSON.stringify(summary, null, 2) + '\n');
  fs.writeFileSync(paths.chart, renderChart(summary, records));
  if (stopped !== undefined) throw stopped;

  const query = `SophiaProject IN (${options.arms.map((arm) => `'${projectFor(options.run, model, arm)}'`).join(', ')})`;
  return {
    summary,
    model,
    paths,
    started,
    reattached,
    pending,
    query,
    uiUrl: uiBase ? `${uiBase}/workflows?query=${encodeURIComponent(query)}` : undefined,
    aborted: options.signal?.aborted ?? false,
  };
}
