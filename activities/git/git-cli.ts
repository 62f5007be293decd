import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { GitHostCredentials } from '../../common/git-credentials';

/**
 * Runs the `git` binary for the git activities, with a clean, locked-down environment: no system
 * or global config, no terminal prompt, only the four transports a repository may use, no `ext::`.
 * Credentials reach git through environment config (`http.extraHeader`) or a 0600 key file for
 * ssh, never through argv (visible to every process) or a URL; messages have them redacted.
 */

export interface GitAuth {
  /** Extra environment for git (credentials); empty for an anonymous remote. */
  env: Record<string, string>;
  /** Strings no message may show. */
  secrets: string[];
  /** Removes what the auth left on disk (an ssh key file). */
  dispose(): Promise<void>;
}

export const ANONYMOUS: GitAuth = { env: {}, secrets: [], dispose: async () => undefined };

/** The auth for one git host from the tenant's entry: a token as HTTP basic auth, or an ssh key file. */
export async function gitAuthFor(entry: GitHostCredentials | undefined): Promise<GitAuth> {
  if (!entry) return ANONYMOUS;
  if (entry.token) {
    const basic = Buffer.from(`${entry.username ?? 'x-access-token'}:${entry.token}`).toString('base64');
    return {
      env: {
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.extraHeader',
        GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
      },
      secrets: [entry.token, basic],
      dispose: async () => undefined,
    };
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sophia-ssh-'));
  const key = path.join(dir, 'key');
  await fs.writeFile(key, entry.sshKey!.endsWith('\n') ? entry.sshKey! : `${entry.sshKey!}\n`, { mode: 0o600 });
  return {
    env: {
      GIT_SSH_COMMAND: `ssh -i ${key} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new`,
    },
    secrets: [entry.sshKey!],
    dispose: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

/** The author and committer of every commit the service makes. */
export interface GitIdentity {
  name: string;
  email: string;
}

/** Parses `Name <email>`. */
export function parseIdentity(text: string): GitIdentity {
  const m = /^\s*(.+?)\s*<([^<>\s]+)>\s*$/.exec(text);
  return m ? { name: m[1]!, email: m[2]! } : { name: text.trim() || 'Sophia Code', email: 'sophia@localhost' };
}

export interface GitRun {
  stdout: string;
  stderr: string;
}

export interface GitOptions {
  cwd?: string;
  auth?: GitAuth;
  env?: Record<string, string>;
  input?: string | Buffer;
  /** Output larger than this fails the call (default 64 MB). */
  maxBuffer?: number;
  timeoutMs?: number;
}

function baseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: os.tmpdir(),
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    GIT_ALLOW_PROTOCOL: 'https:ssh:git:file',
    GIT_PROTOCOL_FROM_USER: '0',
  };
}

/** Runs git; a non-zero exit becomes a typed failure (see `classify`), with secrets redacted. */
export async function git(args: string[], options: GitOptions = {}): Promise<GitRun> {
  const auth = options.auth ?? ANONYMOUS;
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      {
        cwd: options.cwd,
        env: { ...baseEnv(), ...auth.env, ...options.env },
        maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024,
        timeout: options.timeoutMs ?? 10 * 60_000,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          return reject(
            ApplicationFailure.create({
              type: 'ToolchainMissing',
              nonRetryable: true,
              message: 'git is not installed on the sandbox worker.',
            }),
          );
        }
        reject(
          classify(
            args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '--git-dir') ?? 'git',
            redact(String(stderr || err.message), auth.secrets),
          ),
        );
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Hides each secret (and the URL userinfo git may echo). */
export function redact(text: string, secrets: string[]): string {
  let out = text.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1***@');
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

const AUTH =
  /Authentication failed|could not read Username|could not read Password|Permission denied \(publickey|HTTP 401|HTTP 403|The requested URL returned error: 40[13]|access denied|Invalid username or password/i;
const MISSING =
  /Repository not found|does not appear to be a git repository|not found|couldn't find remote ref|unknown revision|bad revision|not a valid object name|invalid object name|no such ref|HTTP 404|The requested URL returned error: 404/i;
/** git daemon's and the forges' words for a repository that is not there. */
const NOT_THERE =
  /repository not exported|no such repository|Repository not found|does not appear to be a git repository|couldn't find remote ref/i;
const REJECTED = /\[rejected\]|non-fast-forward|fetch first|\[remote rejected\]|failed to push some refs|stale info/i;
const TRANSIENT =
  /Could not resolve host|Connection refused|Connection reset|Connection timed out|timed out|early EOF|unexpected disconnect|The remote end hung up|RPC failed|HTTP 5\d\d|returned error: 5\d\d|unable to access|Temporary failure|cannot lock ref|Unable to create .*\.lock/i;

/**
 * A git failure as the catalogue types it: wrong credentials → `RepositoryAuth`, a missing repository
 * or ref → `RepositoryInvalid`, a refused push → `PushRejected` (never retried); a network or lock
 * hiccup is a plain error, which Temporal retries.
 */
export function classify(command: string, stderr: string): Error {
  const text = stderr.trim().split('\n').slice(-6).join('\n').slice(0, 2_000);
  const typed = (type: string, message: string) => ApplicationFailure.create({ type, nonRetryable: true, message });
  if (NOT_THERE.test(text))
    return typed('RepositoryInvalid', `The repository does not exist or is not served (git ${command}): ${text}`);
  if (TRANSIENT.test(text) && !AUTH.test(text)) return new Error(`git ${command} failed (will retry): ${text}`);
  if (AUTH.test(text))
    return typed('RepositoryAuth', `The git host refused the tenant's credentials (git ${command}): ${text}`);
  if (REJECTED.test(text)) return typed('PushRejected', `The remote refused the push: ${text}`);
  if (MISSING.test(text))
    return typed('RepositoryInvalid', `The repository or ref does not exist (git ${command}): ${text}`);
  return new Error(`git ${command} failed: ${text}`);
}

/** A short random suffix for scratch names. */
export function scratchName(): string {
  return randomBytes(6).toString('hex');
}
