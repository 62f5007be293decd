import { ApiError, ApiUnreachableError, type ApiClient } from './api-client';
import type { AssistAnswer, JobResult, JobStatus, TestSummary, Usage } from './jobs';

/** Human output of the CLI: a few aligned lines per answer, always ending with the Web UI link. */

function rows(pairs: [string, string | undefined][]): string {
  const shown = pairs.filter((p): p is [string, string] => p[1] !== undefined && p[1] !== '');
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

function firstLine(text: string | undefined, max = 200): string | undefined {
  const line = text
    ?.split('\n')
    .find((l) => l.trim() !== '')
    ?.trim();
  return line && line.length > max ? line.slice(0, max - 1) + '…' : line;
}

export function formatTests(tests: TestSummary | undefined): string | undefined {
  if (!tests) return undefined;
  // The counts say it all when everything passed; a failure's first line says what broke.
  const summary = tests.failed > 0 ? firstLine(tests.summary) : undefined;
  return `${tests.passed} passed, ${tests.failed} failed${summary ? ` (${summary})` : ''}`;
}

function formatUsage(usage: Usage | undefined): string | undefined {
  if (!usage?.totalTokens) return undefined;
  return `${usage.totalTokens} tokens${usage.costUsd !== undefined ? `, $${usage.costUsd.toFixed(4)}` : ''}`;
}

export function formatStatus(s: JobStatus): string {
  return rows([
    ['job', s.workflowId],
    ['status', s.status],
    ['task', s.task],
    ['phase', `${s.phase ?? '?'}, iteration ${s.iteration}${s.awaitingApproval ? ' (awaiting approval)' : ''}`],
    ['outcome', s.outcome],
    ['tests', formatTests(s.lastTests)],
    ['usage', formatUsage(s.usage)],
    ['message', s.message],
    ['started', s.startedAt],
    ['closed', s.closedAt ?? undefined],
    ['Web UI', s.links.ui],
  ]);
}

/** One line per phase change, for `sophia follow`: time, phase and iteration, what the job says. */
export function formatProgress(s: JobStatus): string {
  const time = new Date().toISOString().slice(11, 19);
  const where = `${s.phase ?? '?'}${s.iteration ? ` #${s.iteration}` : ''}`.padEnd(20);
  const tests = s.lastTests && s.phase !== 'RUN_TESTS' ? `  [${formatTests(s.lastTests)}]` : '';
  return `${time}  ${where}${s.message ?? s.status}${tests}`;
}

export function formatResult(r: JobResult, fileNames?: string[]): string {
  const tested = r.result.iterations.filter((i) => i.tests);
  const last = tested[tested.length - 1];
  return rows([
    ['job', r.workflowId],
    ['outcome', r.result.outcome],
    ['task', `${r.result.task} (${r.result.language})`],
    ['steps', r.result.iterations.map((i) => i.step).join(' → ')],
    ['tests', formatTests(last?.tests)],
    ['usage', formatUsage(r.result.usage)],
    ['message', r.result.message],
    ['explanation', firstLine(r.result.explanation, 300)],
    ['files', fileNames?.join(', ')],
    ['Web UI', r.links.ui],
  ]);
}

export function formatAssist(a: AssistAnswer, written?: string[], outDir?: string): string {
  if (a.success === undefined) {
    return rows([
      ['job', a.workflowId],
      ['status', `${a.status ?? 'RUNNING'} (${a.task}, ${a.language})`],
      ['next', `sophia result ${a.workflowId} --wait 60000${outDir ? ` --out ${outDir}` : ''}`],
      ['Web UI', a.links.ui],
    ]);
  }
  return rows([
    ['job', a.workflowId],
    ['outcome', `${a.outcome} (${a.task}, ${a.language})`],
    ['tests', formatTests(a.tests)],
    ['usage', formatUsage(a.usage)],
    ['message', a.message],
    ['explanation', firstLine(a.explanation, 300)],
    ['files', Object.keys(a.code ?? {}).join(', ')],
    ['written', written?.join(', ')],
    ['suggestions', a.suggestions?.length ? a.suggestions.slice(0, 5).join('; ') : undefined],
    ['Web UI', a.links.ui],
  ]);
}

/** One line saying what went wrong, then the hint and, for bad input, each field. */
export function formatError(err: unknown, api?: ApiClient): string {
  if (err instanceof ApiUnreachableError) return `sophia: ${err.message}`;
  if (err instanceof ApiError) {
    const lines = [`sophia: ${err.code}: ${err.message}`];
    if (err.hint) lines.push(`  hint: ${err.hint}`);
    const fields = err.details.fields;
    if (Array.isArray(fields)) {
      for (const f of fields as { path?: string; message?: string }[])
        lines.push(`  ${f.path ?? '?'}: ${f.message ?? ''}`);
    }
    const workflowId = err.details.workflowId;
    if (typeof workflowId === 'string')
      lines.push(`  job: ${workflowId}${api ? ` (sophia status ${workflowId})` : ''}`);
    return lines.join('\n');
  }
  return `sophia: ${err instanceof Error ? err.message : String(err)}`;
}

/** The machine form of an error, with the same shape as the API's. */
export function errorJson(err: unknown): {
  error: { code: string; message: string; details: Record<string, unknown> };
} {
  if (err instanceof ApiError) return { error: { code: err.code, message: err.message, details: err.details } };
  if (err instanceof ApiUnreachableError) {
    return { error: { code: 'ApiUnreachable', message: err.message, details: { api: err.baseUrl } } };
  }
  return { error: { code: 'CliError', message: err instanceof Error ? err.message : String(err), details: {} } };
}

/** One piece of a model answer, as the events stream sends it. */
export interface TokenChunk {
  id: string;
  purpose: string;
  call: string;
  content: string;
}

/**
 * Prints a job's model tokens under its status lines as they arrive: a `┌ purpose` line when a model
 * call starts, then each finished line of the answer as `│ line`. `flush` ends a line left open (before
 * a status line, at the end).
 */
export class TokenLines {
  private call?: string;
  private open = '';

  constructor(private readonly out: (text: string) => void) {}

  push(chunk: TokenChunk): void {
    if (chunk.call !== this.call) {
      this.flush();
      this.call = chunk.call;
      this.out(`          ┌ ${chunk.purpose}`);
    }
    const lines = (this.open + chunk.content).split('\n');
    this.open = lines.pop() ?? '';
    for (const line of lines) this.out(`          │ ${line}`);
  }

  flush(): void {
    if (this.open) this.out(`          │ ${this.open}`);
    this.open = '';
  }
}
