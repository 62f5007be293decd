import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

/**
 * OIDC bearer tokens: a JWT signed by a key from a JWKS URL (the identity provider's), checked for
 * signature, expiry, not-before, issuer and audience. Node's crypto does the maths; this file only
 * picks the algorithm from a fixed list (never `none`, never an HMAC a public key could forge).
 */

const ALGORITHMS: Record<string, { kty: string; hash: string; options?: object }> = {
  RS256: { kty: 'RSA', hash: 'sha256' },
  RS384: { kty: 'RSA', hash: 'sha384' },
  RS512: { kty: 'RSA', hash: 'sha512' },
  PS256: { kty: 'RSA', hash: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } },
  PS384: { kty: 'RSA', hash: 'sha384', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 } },
  ES256: { kty: 'EC', hash: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  ES384: { kty: 'EC', hash: 'sha384', options: { dsaEncoding: 'ieee-p1363' } },
};

/** Clock skew allowed on exp and nbf. */
const LEEWAY_SECONDS = 30;
/** Keys are fetched again after this, or when a token names a key id not seen yet (at most every 30 s). */
const JWKS_TTL_MS = 10 * 60_000;
const JWKS_REFRESH_MIN_MS = 30_000;

export interface OidcOptions {
  jwksUrl: string;
  issuer?: string;
  audience?: string;
  /** For tests: the clock, in seconds. */
  now?: () => number;
}

type Jwk = JsonWebKey & { kid?: string; kty?: string; use?: string };

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export class OidcVerifier {
  private keys: Jwk[] = [];
  private fetchedAt = 0;
  private inflight?: Promise<void>;

  constructor(private readonly opts: OidcOptions) {}

  private async refresh(force: boolean): Promise<void> {
    const age = Date.now() - this.fetchedAt;
    if (!force && age < JWKS_TTL_MS) return;
    if (force && age < JWKS_REFRESH_MIN_MS) return;
    this.inflight ??= (async () => {
      try {
        const res = await fetch(this.opts.jwksUrl, { signal: AbortSignal.timeout(5_000) });
        if (!res.ok) return;
        const body = (await res.json()) as { keys?: unknown };
        if (Array.isArray(body.keys)) this.keys = body.keys.filter((k): k is Jwk => !!k && typeof k === 'object');
        this.fetchedAt = Date.now();
      } catch {
        // The provider is down: keep the keys we have; a token signed by an unknown key fails.
      } finally {
        this.inflight = undefined;
      }
    })();
    await this.inflight;
  }

  private publicKey(kid: string | undefined, kty: string): KeyObject | undefined {
    const candidates = this.keys.filter((k) => k.kty === kty && (k.use === undefined || k.use === 'sig'));
    const jwk =
      kid === undefined ? (candidates.length === 1 ? candidates[0] : undefined) : candidates.find((k) => k.kid === kid);
    if (!jwk) return undefined;
    try {
      return createPublicKey({ key: jwk, format: 'jwk' });
    } catch {
      return undefined;
    }
  }

  /** The token's claims when it is valid, else undefined. Never throws. */
  async verify(token: string): Promise<Record<string, unknown> | undefined> {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
    const header = decodeJson(headerPart);
    const payload = decodeJson(payloadPart);
    const alg = typeof header?.alg === 'string' ? ALGORITHMS[header.alg] : undefined;
    if (!header || !payload || !alg) return undefined;
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    await this.refresh(false);
    let key = this.publicKey(kid, alg.kty);
    if (!key) {
      await this.refresh(true);
      key = this.publicKey(kid, alg.kty);
    }
    if (!key) return undefined;
    const signed = Buffer.from(`${headerPart}.${payloadPart}`);
    let ok = false;
    try {
      ok = verify(alg.hash, signed, { key, ...alg.options }, Buffer.from(signaturePart, 'base64url'));
    } catch {
      return undefined;
    }
    if (!ok) return undefined;
    const now = this.opts.now?.() ?? Date.now() / 1000;
    if (typeof payload.exp !== 'number' || payload.exp + LEEWAY_SECONDS < now) return undefined;
    if (typeof payload.nbf === 'number' && payload.nbf - LEEWAY_SECONDS > now) return undefined;
    if (this.opts.issuer !== undefined && payload.iss !== this.opts.issuer) return undefined;
    if (this.opts.audience !== undefined) {
      const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (!aud.includes(this.opts.audience)) return undefined;
    }
    return payload;
  }
}
