import { execFileSync } from 'node:child_process';

let cached: { commit?: string } | undefined;

/**
 * The commit of the code this process runs, read once (at its first call, which the API makes when it
 * starts): `git rev-parse` in the checkout, or undefined where there is no git (an image). /ready
 * reports it, so an eval's records name the code that served each job, not what the checkout holds later.
 */
export function codeCommit(): string | undefined {
  if (!cached) {
    try {
      cached = {
        commit: execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], {
          // Any directory of the checkout will do: this file's (common/ or dist/common/).
          cwd: __dirname,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
          timeout: 5_000,
        }).trim(),
      };
    } catch {
      cached = {};
    }
  }
  return cached.commit || undefined;
}
