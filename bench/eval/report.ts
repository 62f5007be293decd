/**
 * What a run of the outcome benchmark found: per-arm figures, the problems the loop fixed and broke,
 * a markdown table and a hand-written SVG chart. Pure functions over the scored records.
 */

/** The two ways a problem is run, on the same model. */
export const ARMS = ['single-shot', 'loop'] as const;
export type Arm = (typeof ARMS)[number];

/** One scored job: a line of results.jsonl. */
export interface EvalRecord {
  run: string;
  model: string;
  arm: Arm;
  task_id: string;
  entry_point: string;
  requestId: string;
  workflowId: string;
  /** True when the job already existed (started by an earlier, interrupted run). */
  reattached: boolean;
  /** The job's outcome (succeeded, unverified, budget-exhausted…), or `failed`. */
  outcome: string;
  /** A failed job's failure type and message, from the API. */
  failure?: { code: string; message: string };
  /** HumanEval's tests passed against the job's final files, in the sandbox. */
  passed: boolean;
  /** The scored file, when one defined the entry point. */
  solutionFile?: string;
  /** How the scoring run ended, or why there was none. */
  score: { exitCode: number | null; timedOut: boolean; violations: string[]; durationMs: number } | null;
  /** Last lines of the scoring run's output (or why nothing ran), for a failed problem. */
  detail?: string;
  refactorRounds: number;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number; costUsd: number; cachedCalls: number };
  /** The job's wall time, Temporal start to close (of its last run, when it continued as new). */
  wallSeconds: number | null;
  scoredAt: string;
  /** The commit the eval ran from (the stack's code when both run from one checkout); absent in older records. */
  commit?: string;
}

export interface ArmSummary {
  arm: Arm;
  /** Problems scored in this arm. */
  scored: number;
  passed: number;
  /** passed / scored, 0–1. */
  passAt1: number;
  meanRefactorRounds: number;
  promptTokens: number;
  completionTokens: number;
  meanPromptTokens: number;
  meanCompletionTokens: number;
  cachedCalls: number;
  meanWallSeconds: number | null;
  /** Job outcomes and how many of each. */
  outcomes: Record<string, number>;
}

export interface EvalSummary {
  run: string;
  model: string;
  generatedAt: string;
  /** The problems this run selected, in order. */
  problems: string[];
  arms: ArmSummary[];
  /** Problems scored in both arms: the base of `fixedByLoop`, `brokenByLoop` and `deltaPoints`. */
  paired: number;
  /** Failed single-shot, passed in the loop. */
  fixedByLoop: string[];
  /** Passed single-shot, failed in the loop. */
  brokenByLoop: string[];
  /** Loop pass@1 minus single-shot pass@1 on the paired problems, in percentage points. */
  deltaPoints: number | null;
  /** Selected (arm, problem) pairs with no score yet: rerun the same command to finish them. */
  unscored: number;
  /** What the loop arm's jobs were given besides the problem. */
  options: Record<string, unknown>;
}

/** The issue's target: the loop at least this many points above single-shot, on at least this many problems. */
export const TARGET = { points: 10, problems: 80 } as const;

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** Summarises the records of the selected problems and arms (later records of a pair win). */
export function summarise(input: {
  run: string;
  model: string;
  arms: readonly Arm[];
  problems: string[];
  records: EvalRecord[];
  options?: Record<string, unknown>;
  now?: Date;
}): EvalSummary {
  const selected = new Set(input.problems);
  const byArm = new Map<Arm, Map<string, EvalRecord>>(input.arms.map((a) => [a, new Map()]));
  for (const r of input.records) {
    if (r.model === input.model && selected.has(r.task_id)) byArm.get(r.arm)?.set(r.task_id, r);
  }
  const arms = input.arms.map((arm): ArmSummary => {
    const rs = [...byArm.get(arm)!.values()];
    const walls = rs.map((r) => r.wallSeconds).filter((w): w is number => w !== null);
    const outcomes: Record<string, number> = {};
    for (const r of rs) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    const passed = rs.filter((r) => r.passed).length;
    const sum = (f: (r: EvalRecord) => number) => rs.reduce((acc, r) => acc + f(r), 0);
    return {
      arm,
      scored: rs.length,
      passed,
      passAt1: rs.length ? passed / rs.length : 0,
      meanRefactorRounds: mean(rs.map((r) => r.refactorRounds)),
      promptTokens: sum((r) => r.usage.promptTokens),
      completionTokens: sum((r) => r.usage.completionTokens),
      meanPromptTokens: mean(rs.map((r) => r.usage.promptTokens)),
      meanCompletionTokens: mean(rs.map((r) => r.usage.completionTokens)),
      cachedCalls: sum((r) => r.usage.cachedCalls),
      meanWallSeconds: walls.length ? mean(walls) : null,
      outcomes,
    };
  });
  const single = byArm.get('single-shot');
  const loop = byArm.get('loop');
  const paired = single && loop ? input.problems.filter((id) => single.has(id) && loop.has(id)) : [];
  const fixedByLoop = paired.filter((id) => !single!.get(id)!.passed && loop!.get(id)!.passed);
  const brokenByLoop = paired.filter((id) => single!.get(id)!.passed && !loop!.get(id)!.passed);
  const scoredPairs = input.arms.reduce((n, a) => n + input.problems.filter((id) => byArm.get(a)!.has(id)).length, 0);
  return {
    run: input.run,
    model: input.model,
    generatedAt: (input.now ?? new Date()).toISOString(),
    problems: input.problems,
    arms,
    paired: paired.length,
    fixedByLoop,
    brokenByLoop,
    deltaPoints: paired.length ? (100 * (fixedByLoop.length - brokenByLoop.length)) / paired.length : null,
    unscored: input.arms.length * input.problems.length - scoredPairs,
    options: input.options ?? {},
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const int = (x: number): string => Math.round(x).toLocaleString('en-US');

/** The per-arm table (markdown, ready for the README), the fixed/broken lists and the target line. */
export function formatSummary(s: EvalSummary): string {
  const lines = [
    `HumanEval, model ${s.model}, run ${s.run}: ${s.problems.length} problems selected`,
    '',
    '| arm | problems | pass@1 | mean refactor rounds | tokens per problem (prompt / completion) | mean wall s per problem |',
    '|---|---|---|---|---|---|',
    ...s.arms.map(
      (a) =>
        `| ${a.arm} | ${a.scored} | ${pct(a.passAt1)} (${a.passed}) | ${a.meanRefactorRounds.toFixed(2)} | ` +
        `${int(a.meanPromptTokens)} / ${int(a.meanCompletionTokens)} | ${a.meanWallSeconds === null ? '–' : a.meanWallSeconds.toFixed(1)} |`,
    ),
    '',
  ];
  for (const a of s.arms) {
    const outcomes = Object.entries(a.outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(`${a.arm} outcomes: ${outcomes || '–'}; cached model calls ${a.cachedCalls}`);
  }
  if (s.deltaPoints !== null) {
    const met = s.deltaPoints >= TARGET.points && s.paired >= TARGET.problems;
    lines.push(
      '',
      `fixed by the loop (${s.fixedByLoop.length}): ${s.fixedByLoop.join(', ') || '–'}`,
      `broken by the loop (${s.brokenByLoop.length}): ${s.brokenByLoop.join(', ') || '–'}`,
      `loop − single-shot: ${s.deltaPoints >= 0 ? '+' : ''}${s.deltaPoints.toFixed(1)} points of pass@1 on ${s.paired} paired problems ` +
        `(target ≥ +${TARGET.points} on ≥ ${TARGET.problems}: ${met ? 'met' : 'not met'})`,
    );
  }
  if (s.unscored > 0) lines.push('', `${s.unscored} job(s) not scored yet: run the same command again to finish them.`);
  return lines.join('\n');
}

const esc = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/**
 * A chart of the run, as SVG text: a bar of pass@1 per arm, and below it one cell per problem and
 * arm (green passed, red failed, grey not scored), with the problems the loop fixed or broke marked.
 */
export function renderChart(s: EvalSummary, records: EvalRecord[]): string {
  const width = 760;
  const barTop = 56;
  const barHeight = 26;
  const barLeft = 110;
  const barMax = width - barLeft - 90;
  const colours: Record<Arm, string> = { 'single-shot': '#8c9eb5', loop: '#2f6fb2' };
  const stripTop = barTop + s.arms.length * (barHeight + 12) + 34;
  const n = Math.max(1, s.problems.length);
  const cell = Math.min(14, barMax / n);
  const rowHeight = 16;
  const height = stripTop + s.arms.length * (rowHeight + 4) + 48;
  const status = new Map<string, boolean>();
  for (const r of records) if (r.model === s.model) status.set(`${r.arm}|${r.task_id}`, r.passed);
  const fixed = new Set(s.fixedByLoop);
  const broken = new Set(s.brokenByLoop);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="15" font-weight="bold">${esc(`HumanEval pass@1 — ${s.model}`)}</text>`,
    `<text x="16" y="42" fill="#555">${esc(
      `run ${s.run}, ${s.problems.length} problems` +
        (s.deltaPoints === null
          ? ''
          : `; loop − single-shot ${s.deltaPoints >= 0 ? '+' : ''}${s.deltaPoints.toFixed(1)} points (fixed ${s.fixedByLoop.length}, broken ${s.brokenByLoop.length})`),
    )}</text>`,
  ];
  s.arms.forEach((a, i) => {
    const y = barTop + i * (barHeight + 12);
    const w = Math.round(barMax * a.passAt1);
    out.push(
      `<text x="${barLeft - 8}" y="${y + barHeight / 2 + 4}" text-anchor="end">${esc(a.arm)}</text>`,
      `<rect x="${barLeft}" y="${y}" width="${barMax}" height="${barHeight}" fill="#f0f0f0"/>`,
      `<rect x="${barLeft}" y="${y}" width="${w}" height="${barHeight}" fill="${colours[a.arm]}"><title>${esc(`${a.arm}: ${a.passed}/${a.scored}`)}</title></rect>`,
      `<text x="${barLeft + w + 6}" y="${y + barHeight / 2 + 4}">${esc(`${pct(a.passAt1)} (${a.passed}/${a.scored})`)}</text>`,
    );
  });
  out.push(
    `<text x="16" y="${stripTop - 10}" fill="#555">each problem, in order (green passed, red failed, grey not scored; ▲ fixed by the loop, ▼ broken)</text>`,
  );
  s.arms.forEach((a, i) => {
    const y = stripTop + i * (rowHeight + 4);
    out.push(`<text x="${barLeft - 8}" y="${y + rowHeight - 4}" text-anchor="end">${esc(a.arm)}</text>`);
    s.problems.forEach((id, j) => {
      const passed = status.get(`${a.arm}|${id}`);
      const fill = passed === undefined ? '#d0d0d0' : passed ? '#3a9a4a' : '#c8453b';
      out.push(
        `<rect x="${(barLeft + j * cell).toFixed(2)}" y="${y}" width="${Math.max(1, cell * 0.8).toFixed(2)}" height="${rowHeight}" fill="${fill}"><title>${esc(`${id} ${a.arm}: ${passed === undefined ? 'not scored' : passed ? 'passed' : 'failed'}`)}</title></rect>`,
      );
    });
  });
  const markY = stripTop + s.arms.length * (rowHeight + 4) + 12;
  s.problems.forEach((id, j) => {
    const mark = fixed.has(id) ? '▲' : broken.has(id) ? '▼' : undefined;
    if (mark)
      out.push(
        `<text x="${(barLeft + j * cell + cell / 2).toFixed(2)}" y="${markY}" text-anchor="middle" font-size="10" fill="${mark === '▲' ? '#3a9a4a' : '#c8453b'}">${mark}<title>${esc(`${id} ${mark === '▲' ? 'fixed' : 'broken'} by the loop`)}</title></text>`,
      );
  });
  out.push(
    `<text x="16" y="${height - 10}" fill="#888">${esc(`generated ${s.generatedAt} by npm run eval`)}</text>`,
    '</svg>',
    '',
  );
  return out.join('\n');
}
