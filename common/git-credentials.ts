import fs from 'node:fs';
import { z } from 'zod';

/**
 * Per-tenant credentials for git hosts and forges, read from one JSON file that a Kubernetes Secret
 * (or the operator) mounts: `SOPHIA_GIT_CREDENTIALS_FILE`. Workflows carry only the tenant; the
 * sandbox pool's git activities and the API's webhook route read the file when they need it, so a
 * token never enters workflow history, an activity's input or result, or a log line.
 *
 * ```json
 * { "tenants": { "acme": {
 *     "git": [{ "host": "git.example.com", "username": "bot", "token": "…" }, { "host": "github.com", "sshKey": "-----BEGIN…" }],
 *     "github": { "token": "ghp_…" },                      // or { "appId": 1, "privateKey": "…", "installationId": 2 }
 *     "webhook": { "secret": "…", "repositories": ["acme/widgets"], "label": "sophia" } } } }
 * ```
 */

const gitEntry = z
  .object({
    host: z.string().min(1),
    username: z.string().optional(),
    token: z.string().min(1).optional(),
    sshKey: z.string().min(1).optional(),
  })
  .strict()
  .refine((e) => e.token || e.sshKey, 'a git entry needs a token or an sshKey');

const githubAuth = z.union([
  z.object({ token: z.string().min(1) }).strict(),
  z
    .object({
      appId: z.union([z.number().int(), z.string().min(1)]),
      privateKey: z.string().min(1),
      installationId: z.number().int(),
    })
    .strict(),
]);

const tenantCredentials = z
  .object({
    git: z.array(gitEntry).optional(),
    github: githubAuth.optional(),
    webhook: z
      .object({
        secret: z.string().min(16, 'a webhook secret of at least 16 characters'),
        repositories: z.array(z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/name')).min(1),
        label: z.string().min(1).default('sophia'),
        language: z.enum(['python', 'typescript', 'javascript']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const credentialsFileSchema = z.object({ tenants: z.record(z.string(), tenantCredentials) }).strict();

export type TenantCredentials = z.infer<typeof tenantCredentials>;
export type GitHostCredentials = z.infer<typeof gitEntry>;
export type GithubAuth = z.infer<typeof githubAuth>;
export type CredentialsFile = z.infer<typeof credentialsFileSchema>;

export class CredentialsFileError extends Error {
  override name = 'CredentialsFileError';
}

/**
 * Reads and checks the file. A bad file throws a message naming the field, never a value. The file
 * is read again when it changes (a rotated Secret), by its modification time.
 */
export function readCredentialsFile(file: string | undefined): CredentialsFile {
  if (!file) return { tenants: {} };
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new CredentialsFileError(`SOPHIA_GIT_CREDENTIALS_FILE names a file that does not exist.`);
  }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.value;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new CredentialsFileError('SOPHIA_GIT_CREDENTIALS_FILE is not valid JSON.');
  }
  const parsed = credentialsFileSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).slice(0, 5);
    throw new CredentialsFileError(`SOPHIA_GIT_CREDENTIALS_FILE is invalid: ${where.join('; ')}`);
  }
  cache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, value: parsed.data });
  return parsed.data;
}

const cache = new Map<string, { mtimeMs: number; size: number; value: CredentialsFile }>();

/** One tenant's credentials (empty when it has none). */
export function tenantCredentialsFor(file: string | undefined, tenant: string): TenantCredentials {
  return readCredentialsFile(file).tenants[tenant] ?? {};
}

/** Every secret string in the file, for redaction of messages and logs. */
export function secretStrings(creds: TenantCredentials): string[] {
  const out: string[] = [];
  for (const g of creds.git ?? []) {
    if (g.token) out.push(g.token);
    if (g.sshKey) out.push(g.sshKey);
  }
  if (creds.github && 'token' in creds.github) out.push(creds.github.token);
  if (creds.github && 'privateKey' in creds.github) out.push(creds.github.privateKey);
  if (creds.webhook) out.push(creds.webhook.secret);
  return out.filter((s) => s.length >= 4);
}
