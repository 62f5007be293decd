import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { git, scratchName, type GitAuth } from './git-cli';

/**
 * The sandbox pool's bare-clone cache: one bare repository per tenant and URL, fetched partially
 * (`--filter=blob:none`: commits and trees now, file contents when a worktree needs them), under
 * `SOPHIA_GIT_CACHE_DIR`. Tenants never share a cache entry, so a commit one tenant fetched with its
 * credentials is never served to another. On Kubernetes the directory is on the shared volume, so
 * every sandbox pod sees the commits another made.
 */
export class RepoCache {
  constructor(readonly root: string) {}

  /** The bare repository of a tenant's URL. */
  dirFor(tenant: string, url: string): string {
    const key = createHash('sha256').update(url).digest('hex').slice(0, 24);
    return path.join(this.root, tenant.replace(/[^\w.-]/g, '_'), `${key}.git`);
  }

  /** Creates the bare repository with `origin` → url as a partial-clone promisor; idempotent. */
  async ensure(tenant: string, url: string): Promise<string> {
    const dir = this.dirFor(tenant, url);
    return once(dir, async () => {
      const exists = await fs
        .stat(path.join(dir, 'HEAD'))
        .then(() => true)
        .catch(() => false);
      if (!exists) {
        await fs.mkdir(path.dirname(dir), { recursive: true });
        const tmp = `${dir}.${scratchName()}.tmp`;
        await git(['init', '--quiet', '--bare', tmp]);
        for (const [key, value] of [
          ['remote.origin.url', url],
          ['remote.origin.promisor', 'true'],
          ['remote.origin.partialclonefilter', 'blob:none'],
          ['extensions.partialclone', 'origin'],
          ['core.repositoryformatversion', '1'],
          ['gc.auto', '0'],
          ['protocol.version', '2'],
        ] as const)
          await git(['--git-dir', tmp, 'config', key, value]);
        // Two workers racing: the first rename wins and the other's repository is dropped.
        await fs.rename(tmp, dir).catch(async () => fs.rm(tmp, { recursive: true, force: true }));
      }
      return dir;
    });
  }

  /**
   * The commit a ref names on the remote now, fetched into the cache (with its trees, without file
   * contents), and pinned under `refs/sophia/pins/<sha>` so no gc drops it. A `pin` already in the
   * cache is answered without touching the network: a retry or a replay sees the same code.
   */
  async resolve(dir: string, ref: string | undefined, auth: GitAuth, pin?: string): Promise<string> {
    if (pin && (await this.hasCommit(dir, pin))) return pin;
    const scratch = `refs/sophia/fetch/${scratchName()}`;
    const source = pin ?? ref ?? 'HEAD';
    await git(
      [
        '--git-dir',
        dir,
        'fetch',
        '--quiet',
        '--no-tags',
        '--no-write-fetch-head',
        '--filter=blob:none',
        'origin',
        `+${source}:${scratch}`,
      ],
      { auth },
    );
    const sha = (await git(['--git-dir', dir, 'rev-parse', '--verify', `${scratch}^{commit}`])).stdout.trim();
    await git(['--git-dir', dir, 'update-ref', `refs/sophia/pins/${sha}`, sha]);
    await git(['--git-dir', dir, 'update-ref', '-d', scratch]);
    return sha;
  }

  async hasCommit(dir: string, sha: string): Promise<boolean> {
    if (!/^[0-9a-f]{40}$/.test(sha)) return false;
    return git(['--git-dir', dir, 'cat-file', '-e', `${sha}^{commit}`]).then(
      () => true,
      () => false,
    );
  }

  /**
   * A worktree of the cache at one commit (detached), under `<cache>/worktrees/`; the contents it
   * needs are fetched in one batch by the partial clone. `use` reads it; it is removed afterwards.
   */
  async withWorktree<T>(dir: string, sha: string, auth: GitAuth, use: (root: string) => Promise<T>): Promise<T> {
    const tree = path.join(
      this.root,
      'worktrees',
      `${path.basename(dir, '.git')}-${sha.slice(0, 12)}-${scratchName()}`,
    );
    await fs.mkdir(path.dirname(tree), { recursive: true });
    await git(['--git-dir', dir, 'worktree', 'add', '--quiet', '--detach', '--force', tree, sha], { auth });
    try {
      return await use(tree);
    } finally {
      await git(['--git-dir', dir, 'worktree', 'remove', '--force', tree]).catch(() =>
        fs.rm(tree, { recursive: true, force: true }),
      );
      await git(['--git-dir', dir, 'worktree', 'prune']).catch(() => undefined);
    }
  }
}

const running = new Map<string, Promise<unknown>>();

/** One creation at a time per directory in this process. */
async function once<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = running.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(fn);
  running.set(key, next);
  try {
    return await next;
  } finally {
    if (running.get(key) === next) running.delete(key);
  }
}
