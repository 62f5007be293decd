/**
 * Lifecycle bench: what running a coding job as a durable Temporal workflow costs, on this machine.
 *
 *   npx tsx bench/lifecycle.ts          (npm run bench:lifecycle)
 *
 * Everything is real but the model: a Temporal dev server started in this process (the pinned CLI),
 * the four pool workers in this process, pytest in the bubblewrap sandbox, ruff, the embedded memory.
 * The model is the scripted OpenAI-compatible server over HTTP, answering a small calculator job
 * (green first time, or buggy then fixed, or three refactor rounds), after a fixed delay if asked.
 *
 * 1. Orchestration overhead: job wall time against the sum of its activities' own run times
 *    (ActivityTaskStarted → Completed in the history), the queue waits and the gaps between
 *    activities; baseline in the same process, interleaved: the same activity functions called
 *    directly in the same order, without Temporal.
 * 2. Throughput: K jobs at once, jobs/minute, p95 latency, per-pool queue waits, machine CPU busy.
 * 3. Response cache: the same job twice; model requests and time of the second run.
 * 4. History size: events and bytes per run, with and without continue-as-new after every round.
 *
 * Knobs (environment): LIFECYCLE_BENCH_RUNS (N per variant, default 10), LIFECYCLE_BENCH_CONCURRENCY
 * (K list, default 1,4,16), LIFECYCLE_BENCH_SANDBOX_CONCURRENCY (sandbox slots to compare at the
 * largest K, default 2,4), LIFECYCLE_BENCH_MODEL_DELAY_MS (model latency for 1, 2 and 4, default 0),
 * LIFECYCLE_BENCH_CACHE_DELAY_MS (model latency for 3, default 500), LIFECYCLE_BENCH_SECTIONS (default
 * overhead,throughput,cache,history).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { optionalTsToMs, tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, type NativeConnection } from '@temporalio/worker';
import type * as analysis from '../activities/analysis';
import type { FileSetRef } from '../activities/artifacts/store';
import type * as jobMemory from '../activities/job-memory';
import type * as llm from '../activities/llm';
import type * as sandbox from '../activities/sandbox';
import { config } from '../common/config';
import { installSdkRuntime } from '../temporal/node/runtime';
import { taskQueues, type PoolName } from '../temporal/task-queues';
import {
  startScriptedModelServer,
  type RecordedChatRequest,
  type ScriptedModelServer,
  type ScriptedReply,
} from '../tests/support/scripted-model-server';
import { startLocalTemporal } from '../tests/support/local-temporal';
import { startWorkers, type RunningWorkers } from '../tests/support/workers';
import {
  CODING_LIFECYCLE_WORKFLOW,
  type CodingJobInput,
  type CodingJobResult,
} from '../workflows/coding-job/definitions';
import type { codingLifecycleWorkflow } from '../workflows/coding-job/workflow';

function knob(name: string, fallback: string): string {
  return process.env[name]?.trim() || fallback;
}
const RUNS = Number(knob('LIFECYCLE_BENCH_RUNS', '10'));
const CONCURRENCY = knob('LIFECYCLE_BENCH_CONCURRENCY', '1,4,16').split(',').map(Number);
const SANDBOX_SLOTS = knob('LIFECYCLE_BENCH_SANDBOX_CONCURRENCY', '2,4').split(',').map(Number);
const MODEL_DELAY_MS = Number(knob('LIFECYCLE_BENCH_MODEL_DELAY_MS', '0'));
const CACHE_DELAY_MS = Number(knob('LIFECYCLE_BENCH_CACHE_DELAY_MS', '500'));
const SECTIONS = knob('LIFECYCLE_BENCH_SECTIONS', 'overhead,throughput,cache,history').split(',');
const POOLS: PoolName[] = ['workflows', 'llm', 'sandbox', 'memory'];

// ---------------------------------------------------------------------------------------------------
// The scripted job: a calculator add(a, b), wrong as many times as the mode asks
// ---------------------------------------------------------------------------------------------------

type Mode = 'green' | 'buggy' | 'buggy3';
const MODES: Record<Mode, string> = {
  green: 'green first time',
  buggy: 'buggy, then fixed',
  buggy3: 'three refactor rounds',
};
const body = (expr: string) => `def add(a, b):\n    """Add two numbers."""\n    return ${expr}\n`;
const FIXED = body('a + b');
/** Wrong answers in refactor order; each differs, so no refactor prompt repeats (nor hits the cache). */
const WRONG = ['a - b', 'a * b', 'a ** b'];
const TESTS = 'from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3, "one plus two is three"\n';
const CLEAN_REVIEW = { findings: [], summary: 'Looks correct.' };

let modelDelayMs = MODEL_DELAY_MS;
let nonce = 0;
/** A description of its own per job (the response cache keys on the prompt), carrying the mode. */
function description(mode: Mode): string {
  nonce += 1;
  return `an add(a, b) function [bench ${process.pid}-${nonce} ${mode}]`;
}

function answer(req: RecordedChatRequest): ScriptedReply {
  const mode = (/\[bench \S+ (green|buggy|buggy3)\]/.exec(req.user)?.[1] ?? 'green') as Mode;
  const reply = (content: object): ScriptedReply => ({ content, delayMs: modelDelayMs });
  if (req.system.includes('test engineer'))
    return reply({ files: [{ path: 'test_calc.py', content: TESTS }], explanation: 'pytest for add' });
  if (req.system.includes('code reviewer')) return reply(CLEAN_REVIEW);
  if (req.system.includes('fixing code')) {
    const chain = mode === 'buggy3' ? WRONG : WRONG.slice(0, 1);
    const at = chain.findIndex((expr) => req.user.includes(`return ${expr}\n`));
    const next = at >= 0 && at + 1 < chain.length ? body(chain[at + 1]!) : FIXED;
    return reply({ content: next, explanation: 'next try' });
  }
  return reply({
    files: [{ path: 'calc.py', content: mode === 'green' ? FIXED : body(WRONG[0]!) }],
    explanation: 'first try',
  });
}

// ---------------------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------------------

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : '–');
const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');
const p50p95 = (xs: number[], f = ms) => `${f(percentile(xs, 50))} / ${f(percentile(xs, 95))}`;

function table(header: string[], rows: string[][]): void {
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log('');
}

/** CPU ticks (USER_HZ) of the whole machine, and of this process tree: itself, its exited children
 * (bwrap, pytest, ruff: `cutime`/`cstime`) and its live ones (the Temporal dev server). */
function cpuTicks(): { machineBusy: number; machineTotal: number; bench: number } {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const machineTotal = sum(fields);
    const ticks = (pid: string, withChildren: boolean) => {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name, starting at field 3: utime is field 14, cutime field 16.
      const f = stat
        .slice(stat.lastIndexOf(')') + 2)
        .split(' ')
        .map(Number);
      return f[11]! + f[12]! + (withChildren ? f[13]! + f[14]! : 0);
    };
    const live = fs
      .readdirSync('/proc/self/task')
      .flatMap((tid) => fs.readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
    const bench = ticks('self', true) + sum(live.map((pid) => ticks(pid, true)));
    return { machineBusy: machineTotal - idle, machineTotal, bench };
  } catch {
    return { machineBusy: NaN, machineTotal: NaN, bench: NaN };
  }
}

// ---------------------------------------------------------------------------------------------------
// History analysis
// ---------------------------------------------------------------------------------------------------

const EventType = temporal.api.enums.v1.EventType;
type History = temporal.api.history.v1.IHistory;

interface ActivitySpan {
  name: string;
  queue: string;
  scheduled: number;
  started: number;
  completed: number;
}

interface RunFigures {
  events: number;
  bytes: number;
  /** WorkflowExecutionStarted → the run's last event, server clock. */
  wallMs: number;
  activities: ActivitySpan[];
  /** Σ Started → Completed. */
  activityMs: number;
  /** Σ Scheduled → Started: waiting in a task queue for a worker slot. */
  queueMs: number;
  /** Run start → first activity scheduled, each completion → next scheduled, last completion → run closed. */
  gapsMs: number[];
  workflowTasks: number;
  /** The first workflow task's delay the server set (continue-as-new is held to one run a second)… */
  firstTaskBackoffMs: number;
  /** …and the one seen: run start → first WorkflowTaskScheduled. */
  firstTaskDelayMs: number;
  nextRunId?: string;
}

function analyse(history: History): RunFigures {
  const events = history.events ?? [];
  const at = (e: temporal.api.history.v1.IHistoryEvent) => tsToMs(e.eventTime);
  const byScheduledId = new Map<string, ActivitySpan>();
  let workflowTasks = 0;
  let nextRunId: string | undefined;
  for (const e of events) {
    switch (e.eventType) {
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const a = e.activityTaskScheduledEventAttributes!;
        const span = {
          name: a.activityType?.name ?? '?',
          queue: a.taskQueue?.name ?? '?',
          scheduled: at(e),
          started: NaN,
          completed: NaN,
        };
        byScheduledId.set(String(e.eventId), span);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const span = byScheduledId.get(String(e.activityTaskStartedEventAttributes!.scheduledEventId));
        if (span) span.started = at(e);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const span = byScheduledId.get(String(e.activityTaskCompletedEventAttributes!.scheduledEventId));
        if (span) span.completed = at(e);
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        workflowTasks += 1;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        nextRunId = e.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
        break;
      default:
    }
  }
  const start = at(events[0]!);
  const end = at(events[events.length - 1]!);
  const activities = [...byScheduledId.values()].sort((a, b) => a.scheduled - b.scheduled);
  const gapsMs: number[] = [];
  let previous = start;
  for (const a of activities) {
    gapsMs.push(a.scheduled - previous);
    previous = a.completed;
  }
  gapsMs.push(end - previous);
  return {
    events: events.length,
    bytes: temporal.api.history.v1.History.encode(history).finish().byteLength,
    wallMs: end - start,
    activities,
    activityMs: sum(activities.map((a) => a.completed - a.started)),
    queueMs: sum(activities.map((a) => a.started - a.scheduled)),
    gapsMs,
    workflowTasks,
    firstTaskBackoffMs:
      optionalTsToMs(events[0]!.workflowExecutionStartedEventAttributes?.firstWorkflowTaskBackoff) ?? 0,
    firstTaskDelayMs:
      at(events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) ?? events[0]!) - start,
    nextRunId,
  };
}

// ---------------------------------------------------------------------------------------------------
// Jobs through Temporal, and the same steps called directly
// ---------------------------------------------------------------------------------------------------

type Activities = typeof analysis & typeof jobMemory & typeof llm & typeof sandbox;

interface Bench {
  client: Client;
  connection: NativeConnection;
  model: ScriptedModelServer;
  workers: RunningWorkers;
  activities: Activities;
}

interface JobRun {
  wallMs: number;
  result: CodingJobResult;
  runs: RunFigures[];
  modelRequests: number;
}

let jobCount = 0;

/** Starts a generate job, waits for its result, and reads the history of every run it made. */
async function runJob(
  bench: Bench,
  {
    mode,
    desc = description(mode),
    project,
    options,
  }: { mode: Mode; desc?: string; project?: string; options?: CodingJobInput['options'] },
): Promise<JobRun> {
  jobCount += 1;
  const workflowId = `bench-lifecycle-${process.pid}-${jobCount}`;
  const requestsBefore = bench.model.chatRequests().length;
  const started = performance.now();
  const handle = await bench.client.workflow.start<typeof codingLifecycleWorkflow>(CODING_LIFECYCLE_WORKFLOW, {
    workflowId,
    taskQueue: taskQueues(bench.workers.prefix).workflows,
    // A project of its own unless asked: memory from other jobs would change the prompts.
    args: [{ task: 'generate', language: 'python', description: desc, project: project ?? workflowId, options }],
  });
  const result = await handle.result();
  const wallMs = performance.now() - started;
  const modelRequests = bench.model.chatRequests().length - requestsBefore;
  if (result.outcome !== 'succeeded') throw new Error(`${workflowId} ended ${result.outcome}: ${result.message}`);
  const runs: RunFigures[] = [];
  for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
    const figures = analyse(await bench.client.workflow.getHandle(workflowId, runId).fetchHistory());
    runs.push(figures);
    runId = figures.nextRunId;
  }
  return { wallMs, result, runs, modelRequests };
}

/** The lifecycle's steps for a generate job, in the workflow's order, as plain function calls. */
async function runDirect(bench: Bench, mode: Mode): Promise<{ wallMs: number; stepMs: number[] }> {
  const a = bench.activities;
  const desc = description(mode);
  const project = `direct-${process.pid}-${nonce}`;
  const language = 'python';
  const stepMs: number[] = [];
  const step = async <T>(fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const out = await fn();
    stepMs.push(performance.now() - t);
    return out;
  };
  const started = performance.now();
  const recalled = await step(() => a.recallForJob({ query: `${desc}\n`, project, language }));
  const memoryContext = recalled.context || undefined;
  let code: FileSetRef = (
    await step(() => a.generateCode({ task: 'generate', description: desc, language, memoryContext }))
  ).files;
  code = (await step(() => a.writeTests({ task: 'generate', description: desc, language, files: code, memoryContext })))
    .files;
  for (let iteration = 0; iteration < 10; iteration++) {
    const files = code;
    const run = await step(() => a.runTests({ files, language }));
    const analysis = await step(() => a.analyzeCode({ files, language, ruleset: 'default' }));
    const review = await step(() =>
      a.reviewCode({
        description: desc,
        language,
        files,
        analysis: analysis.findings.map((f) => `${f.file}:${f.line} [${f.tool}] ${f.rule}: ${f.message}`).join('\n'),
        tests: run.summary,
      }),
    );
    const green = run.report.failed === 0 && run.report.errors === 0 && run.report.passed > 0;
    const blocking =
      analysis.findings.some((f) => f.severity === 'error') || review.findings.some((f) => f.severity === 'blocking');
    if (green && !blocking) {
      await step(() =>
        a.rememberJob({
          jobId: project,
          project,
          language,
          task: 'generate',
          description: desc,
          files,
          survived: true,
        }),
      );
      return { wallMs: performance.now() - started, stepMs };
    }
    const failures = run.report.failures
      .map((f) => `- ${f.name}: ${f.message}${f.trace ? `\n${f.trace}` : ''}`)
      .join('\n');
    code = (
      await step(() =>
        a.refactorCode({
          description: desc,
          language,
          files,
          targets: ['calc.py'],
          failures,
          findings: '',
          memoryContext,
        }),
      )
    ).files;
  }
  throw new Error('the direct job never went green');
}

// ---------------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------------

async function overhead(bench: Bench): Promise<void> {
  console.log(
    `## 1. Orchestration overhead (N = ${RUNS} per job, interleaved with the direct baseline; model delay ${MODEL_DELAY_MS} ms)\n`,
  );
  const rows: string[][] = [];
  const gapRows: string[][] = [];
  for (const mode of ['green', 'buggy'] as const) {
    // Warm-up: the first job pays for module loads, toolchain probes and the page cache.
    await runJob(bench, { mode });
    await runDirect(bench, mode);
    const jobs: JobRun[] = [];
    const direct: { wallMs: number; stepMs: number[] }[] = [];
    for (let i = 0; i < RUNS; i++) {
      jobs.push(await runJob(bench, { mode }));
      direct.push(await runDirect(bench, mode));
    }
    const run = (j: JobRun) => j.runs[0]!;
    const wall = jobs.map((j) => j.wallMs);
    const directWall = direct.map((d) => d.wallMs);
    rows.push([
      `${MODES[mode]} (${run(jobs[0]!).activities.length} activities)`,
      p50p95(wall),
      p50p95(jobs.map((j) => run(j).activityMs)),
      p50p95(jobs.map((j) => run(j).queueMs)),
      p50p95(jobs.map((j) => sum(run(j).gapsMs))),
      p50p95(
        jobs.map((j) => j.wallMs / run(j).activityMs),
        ratio,
      ),
      p50p95(directWall),
      `${ratio(percentile(wall, 50) / percentile(directWall, 50))} / ${ratio(percentile(wall, 95) / percentile(directWall, 95))}`,
      `+${ms(percentile(wall, 50) - percentile(directWall, 50))}`,
    ]);
    gapRows.push([
      MODES[mode],
      p50p95(jobs.flatMap((j) => run(j).gapsMs.slice(1, -1))),
      p50p95(jobs.map((j) => run(j).gapsMs[0]!)),
      p50p95(jobs.map((j) => run(j).gapsMs[run(j).gapsMs.length - 1]!)),
      p50p95(jobs.flatMap((j) => run(j).activities.map((a) => a.started - a.scheduled))),
      p50p95(jobs.flatMap((j) => run(j).activities.map((a) => a.completed - a.started))),
      p50p95(direct.flatMap((d) => d.stepMs)),
      p50p95(jobs.map((j) => j.wallMs - run(j).wallMs)),
    ]);
  }
  table(
    [
      'job',
      'job wall p50 / p95',
      'Σ activities',
      'Σ queue waits',
      'Σ gaps',
      'job / Σ activities',
      'direct calls (baseline)',
      'Temporal / direct',
      'cost per job (p50)',
    ],
    rows,
  );
  table(
    [
      'job',
      'gap between activities',
      'start → 1st activity',
      'last activity → closed',
      'queue wait per activity',
      'activity run time',
      'same step called directly',
      'client wall − server wall',
    ],
    gapRows,
  );
}

async function throughput(bench: Bench): Promise<void> {
  console.log(
    `## 2. Throughput (buggy-then-fixed jobs, all started at once; model delay ${MODEL_DELAY_MS} ms; ${os.cpus().length} CPUs)\n`,
  );
  const rows: string[][] = [];
  const maxK = Math.max(...CONCURRENCY);
  for (const slots of SANDBOX_SLOTS) {
    await restartWorkers(bench, { WORKER_SANDBOX_CONCURRENCY: String(slots) });
    await runJob(bench, { mode: 'buggy' });
    for (const k of slots === SANDBOX_SLOTS[0] ? CONCURRENCY : [maxK]) {
      const cpu0 = cpuTicks();
      const started = performance.now();
      const jobs = await Promise.all(Array.from({ length: k }, () => runJob(bench, { mode: 'buggy' })));
      const makespan = performance.now() - started;
      const cpu1 = cpuTicks();
      const cpuShare = (ticks: number) => `${((100 * ticks) / (cpu1.machineTotal - cpu0.machineTotal)).toFixed(0)} %`;
      const spans = jobs.flatMap((j) => j.runs.flatMap((r) => r.activities));
      const wait = (pool: PoolName) =>
        spans.filter((a) => a.queue.endsWith(`-${pool}`)).map((a) => a.started - a.scheduled);
      const sandboxBusy = sum(spans.filter((a) => a.queue.endsWith('-sandbox')).map((a) => a.completed - a.started));
      rows.push([
        String(k),
        String(slots),
        ms(makespan),
        (k / (makespan / 60_000)).toFixed(1),
        p50p95(jobs.map((j) => j.wallMs)),
        p50p95(wait('sandbox')),
        p50p95(wait('llm')),
        ms(sandboxBusy / k),
        `${((100 * sandboxBusy) / (makespan * slots)).toFixed(0)} %`,
        `${cpuShare(cpu1.bench - cpu0.bench)} / ${cpuShare(cpu1.machineBusy - cpu0.machineBusy)}`,
      ]);
    }
  }
  table(
    [
      'K jobs',
      'sandbox slots',
      'makespan',
      'jobs/min',
      'job latency p50 / p95',
      'sandbox queue wait p50 / p95',
      'llm queue wait p50 / p95',
      'sandbox time per job',
      'sandbox slots busy',
      'CPU: bench / whole machine',
    ],
    rows,
  );
  await restartWorkers(bench, { WORKER_SANDBOX_CONCURRENCY: undefined });
}

const PURPOSES: [RegExp, string][] = [
  [/test engineer/, 'write tests'],
  [/code reviewer/, 'review'],
  [/fixing code/, 'refactor'],
];
const purposeOf = (req: RecordedChatRequest) => PURPOSES.find(([re]) => re.test(req.system))?.[1] ?? 'generate';

async function cache(bench: Bench): Promise<void> {
  console.log(
    `## 3. Response cache (in-process; buggy-then-fixed job, 5 model calls; model delay ${CACHE_DELAY_MS} ms)\n`,
  );
  modelDelayMs = CACHE_DELAY_MS;
  try {
    const rows: string[][] = [];
    const row = (label: string, j: JobRun, requests: RecordedChatRequest[]) =>
      rows.push([
        label,
        ms(j.wallMs),
        ms(sum(j.runs.map((r) => r.activityMs))),
        String(j.modelRequests),
        String(j.result.usage.cachedCalls),
        requests.map(purposeOf).join(', ') || '–',
        `$${j.result.usage.costUsd.toFixed(6)}`,
      ]);
    const job = async (label: string, spec: Parameters<typeof runJob>[1]) => {
      const before = bench.model.chatRequests().length;
      const j = await runJob(bench, spec);
      row(label, j, bench.model.chatRequests().slice(before));
      return j;
    };
    const desc = description('buggy');
    const first = await job('first run', { mode: 'buggy', desc });
    const repeats: JobRun[] = [];
    for (let i = 1; i <= 3; i++)
      repeats.push(await job(`same description again (#${i}), new project`, { mode: 'buggy', desc }));
    // Another description, twice in one project: the second job recalls the first one's memory.
    const other = description('buggy');
    const project = `bench-cache-${process.pid}`;
    await job('another description, in project P', { mode: 'buggy', desc: other, project });
    await job('the same again in project P (memory recalled)', { mode: 'buggy', desc: other, project });
    table(
      ['run', 'job wall', 'Σ activities', 'model requests', 'calls from the cache', 'requests made for', 'cost billed'],
      rows,
    );
    const wall = percentile(
      repeats.map((j) => j.wallMs),
      50,
    );
    console.log(
      `repeat / first run (p50 of ${repeats.length}): ${ratio(wall / first.wallMs)} wall time, ` +
        `${percentile(
          repeats.map((j) => j.modelRequests),
          50,
        )} of ${first.modelRequests} model requests\n`,
    );
  } finally {
    modelDelayMs = MODEL_DELAY_MS;
  }
}

async function historySize(bench: Bench): Promise<void> {
  console.log('## 4. History size per job\n');
  const rows: string[][] = [];
  const add = (label: string, j: JobRun) => {
    const longest = j.runs.reduce((a, b) => (b.events > a.events ? b : a));
    rows.push([
      label,
      String(j.runs.length),
      j.runs.map((r) => r.events).join(' + '),
      String(longest.events),
      `${(longest.bytes / 1024).toFixed(1)} KiB`,
      `${(sum(j.runs.map((r) => r.bytes)) / 1024).toFixed(1)} KiB`,
      String(sum(j.runs.map((r) => r.workflowTasks))),
      `${ms(sum(j.runs.map((r) => r.firstTaskBackoffMs)))} / ${ms(sum(j.runs.map((r) => r.firstTaskDelayMs)))}`,
      ms(j.wallMs),
    ]);
  };
  add(MODES.green, await runJob(bench, { mode: 'green' }));
  add(MODES.buggy, await runJob(bench, { mode: 'buggy' }));
  add(`${MODES.buggy3}, one run`, await runJob(bench, { mode: 'buggy3' }));
  add(
    `${MODES.buggy3}, continueAsNewAfter: 1`,
    await runJob(bench, { mode: 'buggy3', options: { continueAsNewAfter: 1 } }),
  );
  table(
    [
      'job',
      'runs',
      'events per run',
      'longest run: events',
      'longest run: bytes',
      'all runs: bytes',
      'workflow tasks',
      'first task held back: set / seen',
      'job wall',
    ],
    rows,
  );
}

// ---------------------------------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------------------------------

/** New workers (on a new task-queue prefix) with `env` applied; the old ones drain first. */
async function restartWorkers(bench: Bench, env: Record<string, string | undefined>): Promise<void> {
  await bench.workers.stop();
  bench.workers = await startWorkers(POOLS, env, { connection: bench.connection });
}

async function main(): Promise<void> {
  process.env.LOG_LEVEL ??= 'warn';
  // The bench's artifacts, memory and workflow bundle go to a throwaway directory, never the project's data dir.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-bench-lifecycle-'));
  process.env.SOPHIA_DATA_DIR = scratch;
  // SDK and core logs through pino at LOG_LEVEL, as the workers do, so only the figures reach stdout.
  installSdkRuntime(config());
  const env = await startLocalTemporal();
  const model = await startScriptedModelServer();
  model.respondWith(answer);
  let bench: Bench | undefined;
  try {
    // Bundled once, as the tests do: each worker restart would otherwise bundle again.
    const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietLogger });
    const bundle = path.join(scratch, 'workflow-bundle.js');
    fs.writeFileSync(bundle, code);
    const workers = await startWorkers(
      POOLS,
      {
        WORKER_WORKFLOW_BUNDLE: bundle,
        OPENAI_BASE_URL: model.url,
        OPENAI_API_KEY: 'bench-key',
        TEMPORAL_NAMESPACE: 'default',
      },
      { connection: env.nativeConnection },
    );
    // Loaded once LOG_LEVEL and the data dir are set: loading the LLM activities builds the logger.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const activities = {
      ...(require('../activities/analysis') as object),
      ...(require('../activities/job-memory') as object),
      ...(require('../activities/llm') as object),
      ...(require('../activities/sandbox') as object),
    } as Activities;
    /* eslint-enable @typescript-eslint/no-require-imports */
    bench = { client: env.client, connection: env.nativeConnection, model, workers, activities };
    const load = () =>
      os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ');
    console.log(
      `# Lifecycle bench: Temporal dev server (the pinned CLI), real pool workers, bwrap + pytest, ruff, scripted model\n\n` +
        `${os.cpus().length} CPUs, node ${process.version}, load average before: ${load()}\n`,
    );
    const t0 = performance.now();
    if (SECTIONS.includes('overhead')) await overhead(bench);
    if (SECTIONS.includes('throughput')) await throughput(bench);
    if (SECTIONS.includes('cache')) await cache(bench);
    if (SECTIONS.includes('history')) await historySize(bench);
    console.log(`bench took ${((performance.now() - t0) / 1000).toFixed(0)} s; load average after: ${load()}`);
  } finally {
    await bench?.workers.stop();
    await model.close();
    await env.teardown();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
