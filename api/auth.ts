import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Config } from '../common/config';
import { HttpError } from './errors';
import { OidcVerifier } from './oidc';

/**
 * Who is calling: the tenant every object they touch belongs to, and their role. Keys come from
 * `API_KEYS` (`tenant:key` or `tenant:role:key` pairs), `API_KEYS_FILE` (`tenant:role:sha256hex` lines)
 * or an OIDC JWT checked against `API_OIDC_JWKS_URL`. With none of these the API is single-tenant
 * (`local`, admin), which `assertSafeBind` allows on a loopback address only.
 */

export const ROLES = ['member', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The tenant of a caller when the API has no keys: one developer on their own machine. */
export const LOCAL_TENANT = 'local';

/** Tenants appear in workflow ids (`job-<tenant>.<requestId>`), so no `.` or `:`, and nothing a query would quote. */
export const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export interface Caller {
  tenant: string;
  role: Role;
}

interface KeyEntry extends Caller {
  /** sha256 of the key: compared in constant time, and the plain key is not kept. */
  digest: Buffer;
}

export class AuthConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthConfigError';
  }
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

function checkTenant(tenant: string, where: string): string {
  if (!TENANT_PATTERN.test(tenant))
    throw new AuthConfigError(`${where}: tenant "${tenant}" must be 1-63 letters, digits, _ or -, starting alnum.`);
  return tenant;
}

function checkRole(role: string, where: string): Role {
  if (!(ROLES as readonly string[]).includes(role))
    throw new AuthConfigError(`${where}: role "${role}" must be one of ${ROLES.join(', ')}.`);
  return role as Role;
}

/**
 * `API_KEYS`: comma-separated `tenant:key` (role member) or `tenant:role:key`. The error names the
 * entry by position only: the value is a secret.
 */
export function parseApiKeys(value: string): KeyEntry[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const where = `API_KEYS entry ${i + 1}`;
      const parts = entry.split(':');
      const [tenant = '', maybeRole = '', ...rest] = parts;
      const hasRole = parts.length >= 3 && (ROLES as readonly string[]).includes(maybeRole);
      const key = hasRole ? rest.join(':') : [maybeRole, ...rest].join(':');
      if (parts.length < 2 || key.length < 8)
        throw new AuthConfigError(`${where}: expected tenant:key or tenant:role:key with a key of 8+ characters.`);
      return {
        tenant: checkTenant(tenant, where),
        role: hasRole ? (maybeRole as Role) : 'member',
        digest: sha256(key),
      };
    });
}

/** `API_KEYS_FILE`: one `tenant:role:sha256hex` per line; blank lines and `#` comments are skipped. */
export function parseKeysFile(text: string, file = 'API_KEYS_FILE'): KeyEntry[] {
  const out: KeyEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const where = `${file} line ${i + 1}`;
    const [tenant = '', role = '', hex = '', ...extra] = line.split(':');
    if (extra.length || !/^[0-9a-f]{64}$/i.test(hex))
      throw new AuthConfigError(`${where}: expected tenant:role:sha256hex (64 hex digits of the key's SHA-256).`);
    out.push({ tenant: checkTenant(tenant, where), role: checkRole(role, where), digest: Buffer.from(hex, 'hex') });
  });
  return out;
}

/** Every configured key: API_KEYS, API_KEYS_FILE, and the deprecated API_TOKEN (an admin key of `local`). */
export function loadKeys(cfg: Pick<Config, 'API_KEYS' | 'API_KEYS_FILE' | 'API_TOKEN'>): KeyEntry[] {
  const keys: KeyEntry[] = [];
  if (cfg.API_KEYS) keys.push(...parseApiKeys(cfg.API_KEYS));
  if (cfg.API_KEYS_FILE) {
    let text: string;
    try {
      text = fs.readFileSync(cfg.API_KEYS_FILE, 'utf8');
    } catch (err) {
      throw new AuthConfigError(
        `API_KEYS_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): check the path and mount.`,
      );
    }
    keys.push(...parseKeysFile(text));
  }
  if (cfg.API_TOKEN) keys.push({ tenant: LOCAL_TENANT, role: 'admin', digest: sha256(cfg.API_TOKEN) });
  return keys;
}

/** Whether the address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Refuses to serve other machines without keys: a message that says what to set. Also checks the
 * keys parse, so a typo stops the start instead of locking everyone out.
 */
export function assertSafeBind(cfg: Config): void {
  const keys = loadKeys(cfg);
  if (keys.length === 0 && !cfg.API_OIDC_JWKS_URL && !isLoopback(cfg.API_HOST)) {
    throw new AuthConfigError(
      `API_HOST=${cfg.API_HOST} would serve the API to other machines with no keys. Set API_KEYS ` +
        '(tenant:key pairs) or API_KEYS_FILE (tenant:role:sha256 lines) or API_OIDC_JWKS_URL, ' +
        'or bind API_HOST=127.0.0.1.',
    );
  }
}

const unauthorized = () =>
  new HttpError(401, 'Unauthorized', 'Send Authorization: Bearer <key> with a key from API_KEYS or API_KEYS_FILE.');

export class Authenticator {
  private readonly keys: KeyEntry[];
  private readonly oidc?: OidcVerifier;

  constructor(private readonly cfg: Config) {
    this.keys = loadKeys(cfg);
    this.oidc = cfg.API_OIDC_JWKS_URL
      ? new OidcVerifier({
          jwksUrl: cfg.API_OIDC_JWKS_URL,
          issuer: cfg.API_OIDC_ISSUER,
          audience: cfg.API_OIDC_AUDIENCE,
        })
      : undefined;
  }

  /** With no keys and no OIDC, everyone is the single local tenant. */
  get open(): boolean {
    return this.keys.length === 0 && !this.oidc;
  }

  /** The caller of a request, or undefined when its credentials are missing or wrong. */
  async identify(header: string | undefined): Promise<Caller | undefined> {
    if (this.open) return { tenant: LOCAL_TENANT, role: 'admin' };
    const match = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(header ?? '');
    if (!match?.[1]) return undefined;
    const token = match[1];
    const digest = sha256(token);
    let found: KeyEntry | undefined;
    // Every entry is compared, so the time does not say which one (or whether any) matched.
    for (const entry of this.keys) if (timingSafeEqual(entry.digest, digest) && !found) found = entry;
    if (found) return { tenant: found.tenant, role: found.role };
    if (this.oidc && token.split('.').length === 3) return this.verifyJwt(this.oidc, token);
    return undefined;
  }

  private async verifyJwt(oidc: OidcVerifier, token: string): Promise<Caller | undefined> {
    const claims = await oidc.verify(token);
    const tenant = claims?.[this.cfg.API_OIDC_TENANT_CLAIM];
    if (typeof tenant !== 'string' || !TENANT_PATTERN.test(tenant)) return undefined;
    const role = claims?.[this.cfg.API_OIDC_ROLE_CLAIM];
    return { tenant, role: role === 'admin' ? 'admin' : 'member' };
  }

  /** Express middleware: sets `res.locals.caller`, or answers 401. */
  middleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      this.identify(req.get('authorization')).then(
        (caller) => {
          if (!caller) {
            res.set('www-authenticate', 'Bearer');
            return next(unauthorized());
          }
          res.locals.caller = caller;
          next();
        },
        (err: unknown) => next(err),
      );
    };
  }
}

/** The authenticated caller of a request (set by the middleware). */
export function callerOf(res: Response): Caller {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) throw unauthorized();
  return caller;
}

/** Middleware: only admins (index, schedules). */
export function requireAdmin(): RequestHandler {
  return (_req, res, next) => {
    if (callerOf(res).role !== 'admin')
      return next(new HttpError(403, 'Forbidden', 'This route needs an admin key of your tenant.'));
    next();
  };
}
