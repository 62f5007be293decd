import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { config } from '../../common/config';

const execFileAsync = promisify(execFile);

/** The readable policy (checked in) and its compiled BPF program (built by bootstrap, or here on first use). */
export function seccompPaths(root = config().projectRoot): { policy: string; builder: string; filter: string } {
  return {
    policy: path.join(root, 'activities', 'sandbox', 'seccomp-policy.txt'),
    builder: path.join(root, 'scripts', 'build-seccomp.py'),
    filter: path.join(root, '.tools', 'seccomp', 'sandbox.bpf'),
  };
}

/** The system calls a policy file denies, for tests and the start-up log. */
export function deniedSyscalls(policyText: string): string[] {
  const names = policyText
    .split('\n')
    .map((line) => line.split('#')[0]?.trim().split(/\s+/)[1])
    .filter((name): name is string => Boolean(name));
  return [...new Set(names)];
}

/** libseccomp's Python bindings come with Debian's python3, not with a pyenv or venv python on PATH. */
const PYTHONS = ['/usr/bin/python3', 'python3'];

/**
 * The compiled filter, rebuilt when the policy changed since it was built (the policy text is kept
 * next to it as the stamp). Throws with what to install when it can be neither found nor built.
 */
export async function ensureSeccompFilter(): Promise<string> {
  const { policy, builder, filter } = seccompPaths();
  const stamp = `${filter}.policy`;
  const source = fs.existsSync(policy) ? fs.readFileSync(policy, 'utf8') : undefined;
  const fresh =
    fs.existsSync(filter) &&
    (source === undefined || (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === source));
  if (fresh) return filter;
  if (source === undefined || !fs.existsSync(builder)) {
    throw new Error(`the seccomp filter ${filter} is missing; run \`node scripts/bootstrap.mjs tools\``);
  }
  const errors: string[] = [];
  for (const python of PYTHONS) {
    try {
      await execFileAsync(python, [builder, policy, filter], { timeout: 30_000 });
      fs.writeFileSync(stamp, source);
      return filter;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      errors.push(`${python}: ${(e.stderr || e.message).trim().split('\n').pop() ?? ''}`);
    }
  }
  throw new Error(
    `the seccomp filter could not be built from ${policy} (${errors.join('; ')}); install libseccomp's Python bindings (apt-get install python3-seccomp) and run \`node scripts/bootstrap.mjs tools\``,
  );
}
