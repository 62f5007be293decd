/**
 * A repository as jobs, index runs and schedules name it: `{ url, ref?, path?, forge? }`, and the
 * names derived from it (the job's branch, the GitHub owner and name). Pure: the API validates with
 * it, the git activities check again, and workflow code may import it.
 */

/** The URL schemes a repository may use. `file://` is held to `SOPHIA_REPO_ROOTS` like any local path. */
export const REPOSITORY_SCHEMES = ['https', 'ssh', 'git', 'file'] as const;

/** The forges whose pull requests, comments and issues Sophia Code can drive. Any git host can be cloned and pushed to. */
export const FORGES = ['github'] as const;
export type ForgeName = (typeof FORGES)[number];

export interface RepositorySpec {
  /** `https://`, `ssh://`, `git://` or `file://`; never with credentials in it (they come from the tenant's secret). */
  url: string;
  /** Branch, tag or commit to work on; the remote's default branch when absent. */
  ref?: string;
  /** A sub-directory of the repository the job works in (its files are relative to it). */
  path?: string;
  /** The forge behind the URL, when the host does not say it (github.com is GitHub). */
  forge?: ForgeName;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\s]/;

/** Why a repository URL is refused, or undefined. */
export function repositoryUrlProblem(url: string): string | undefined {
  if (typeof url !== 'string' || url.length === 0 || url.length > 2_048)
    return 'must be a URL of at most 2,048 characters';
  if (CONTROL.test(url)) return 'must not contain spaces or control characters';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `must be a URL with a scheme among ${REPOSITORY_SCHEMES.join(', ')}`;
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (!(REPOSITORY_SCHEMES as readonly string[]).includes(scheme))
    return `must use one of ${REPOSITORY_SCHEMES.map((s) => `${s}://`).join(', ')}`;
  if (parsed.password || (parsed.username && scheme !== 'ssh'))
    return 'must not carry credentials: they come from the tenant secret (SOPHIA_GIT_CREDENTIALS_FILE)';
  if (scheme === 'file') {
    if (parsed.host !== '') return 'a file:// URL names a local path: file:///absolute/path';
    if (parsed.search || parsed.hash) return 'a file:// URL has no query or fragment';
  } else if (!parsed.hostname) return 'must name a host';
  if (parsed.pathname.split('/').some((s) => s === '..')) return 'must not contain .. segments';
  return undefined;
}

/** Why a ref is refused (a subset of `git check-ref-format`, plus no leading dash), or undefined. */
export function refProblem(ref: string): string | undefined {
  if (!/^[\w./@+-]{1,200}$/.test(ref)) return 'letters, digits and . / _ - @ + (at most 200)';
  if (ref.startsWith('-') || ref.startsWith('/') || ref.endsWith('/') || ref.endsWith('.lock'))
    return 'must not start with - or /, nor end with / or .lock';
  if (ref.includes('..') || ref.includes('//') || ref.includes('@{')) return 'must not contain .., // or @{';
  return undefined;
}

/** Why a sub-directory is refused, or undefined: relative, normalised, not under .git. */
export function subPathProblem(p: string): string | undefined {
  if (!/^[\w.@+-]+(\/[\w.@+-]+)*$/.test(p) || p.length > 500) return 'a relative directory such as src/app';
  if (p.split('/').some((s) => s === '.' || s === '..' || s === '.git')) return 'must not contain ., .. or .git';
  return undefined;
}

/** The whole spec's first problem as `field: why`, or undefined. */
export function repositorySpecProblem(spec: RepositorySpec): string | undefined {
  const url = repositoryUrlProblem(spec.url);
  if (url) return `url ${url}`;
  if (spec.ref !== undefined && refProblem(spec.ref)) return `ref ${refProblem(spec.ref)}`;
  if (spec.path !== undefined && subPathProblem(spec.path)) return `path ${subPathProblem(spec.path)}`;
  if (spec.forge !== undefined && !(FORGES as readonly string[]).includes(spec.forge))
    return `forge must be one of ${FORGES.join(', ')}`;
  return undefined;
}

/** The local path of a `file://` URL, else undefined. */
export function localPathOf(url: string): string | undefined {
  if (!url.startsWith('file:')) return undefined;
  return decodeURIComponent(new URL(url).pathname);
}

/** The forge of a repository: the one it names, GitHub for github.com, else none (git only). */
export function forgeOf(spec: RepositorySpec, githubHost = 'github.com'): ForgeName | undefined {
  if (spec.forge) return spec.forge;
  try {
    return new URL(spec.url).host.toLowerCase() === githubHost.toLowerCase() ? 'github' : undefined;
  } catch {
    return undefined;
  }
}

/** `owner/name` from a forge URL's path (`/owner/name(.git)`), or undefined. */
export function ownerAndName(url: string): { owner: string; name: string } | undefined {
  try {
    const parts = new URL(url).pathname
      .replace(/\.git$/, '')
      .split('/')
      .filter(Boolean);
    if (parts.length < 2) return undefined;
    const [owner, name] = parts.slice(-2) as [string, string];
    return { owner, name };
  } catch {
    return undefined;
  }
}

/** The branch a job's changes go to: `sophia/<job-id>`, with the characters git refuses in a ref replaced. */
export function jobBranch(workflowId: string): string {
  return `sophia/${workflowId.replace(/[^\w.-]/g, '-').replace(/\.{2,}/g, '.')}`;
}
