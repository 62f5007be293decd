import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  assertSafeBind,
  AuthConfigError,
  Authenticator,
  isLoopback,
  LOCAL_TENANT,
  parseApiKeys,
  parseKeysFile,
} from '../../api/auth';
import { parseConfig, type Config } from '../../common/config';

const cfg = (env: Record<string, string>): Config => parseConfig({ ...env });
const sha = (key: string) => createHash('sha256').update(key).digest('hex');

describe('API keys', () => {
  it('reads tenant:key pairs as members and tenant:role:key as the role given', async () => {
    const auth = new Authenticator(
      cfg({ API_KEYS: 'acme:abcdefgh12,acme:admin:zyxwvuts98, beta:member:k-3:with:colons' }),
    );
    expect(await auth.identify('Bearer abcdefgh12')).toEqual({ tenant: 'acme', role: 'member' });
    expect(await auth.identify('Bearer zyxwvuts98')).toEqual({ tenant: 'acme', role: 'admin' });
    expect(await auth.identify('Bearer k-3:with:colons')).toEqual({ tenant: 'beta', role: 'member' });
    expect(await auth.identify('Bearer abcdefgh1')).toBeUndefined();
    expect(await auth.identify('abcdefgh12')).toBeUndefined();
    expect(await auth.identify(undefined)).toBeUndefined();
    expect(auth.open).toBe(false);
  });

  it('reads tenant:role:sha256 lines from API_KEYS_FILE, skipping comments and blank lines', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-keys-')), 'keys');
    fs.writeFileSync(file, `# team keys\n\nacme:admin:${sha('file-key-1')}\nbeta:member:${sha('file-key-2')}\n`);
    const auth = new Authenticator(cfg({ API_KEYS_FILE: file }));
    expect(await auth.identify('Bearer file-key-1')).toEqual({ tenant: 'acme', role: 'admin' });
    expect(await auth.identify('Bearer file-key-2')).toEqual({ tenant: 'beta', role: 'member' });
    expect(await auth.identify(`Bearer ${sha('file-key-1')}`)).toBeUndefined();
  });

  it('refuses malformed entries, naming the entry but never the key', () => {
    expect(() => parseApiKeys('acme:short')).toThrow(/API_KEYS entry 1/);
    expect(() => parseApiKeys('bad tenant:abcdefghijk')).toThrow(AuthConfigError);
    expect(() => parseApiKeys('acme.corp:abcdefghijk')).toThrow(/tenant/);
    expect(() => parseKeysFile('acme:owner:' + sha('x'))).toThrow(/role "owner"/);
    expect(() => parseKeysFile('acme:admin:not-hex')).toThrow(/line 1/);
    try {
      parseApiKeys('ok:abcdefghijk,bad:tiny1');
    } catch (err) {
      expect(String(err)).toContain('entry 2');
      expect(String(err)).not.toContain('tiny1');
    }
  });

  it('keeps API_TOKEN working as one admin key of tenant local', async () => {
    const auth = new Authenticator(cfg({ API_TOKEN: 'legacy-token' }));
    expect(await auth.identify('Bearer legacy-token')).toEqual({ tenant: LOCAL_TENANT, role: 'admin' });
  });

  it('makes every caller the local admin when no keys are configured', async () => {
    const auth = new Authenticator(cfg({}));
    expect(auth.open).toBe(true);
    expect(await auth.identify(undefined)).toEqual({ tenant: 'local', role: 'admin' });
  });
});

describe('the bind address', () => {
  it('binds 127.0.0.1 by default', () => {
    expect(cfg({}).API_HOST).toBe('127.0.0.1');
  });

  it('refuses to serve another address with no keys, saying what to set', () => {
    expect(() => assertSafeBind(cfg({ API_HOST: '0.0.0.0' }))).toThrow(/API_KEYS.*API_KEYS_FILE.*127\.0\.0\.1/s);
    expect(() => assertSafeBind(cfg({ API_HOST: '0.0.0.0', API_KEYS: 'acme:abcdefghijk' }))).not.toThrow();
    expect(() => assertSafeBind(cfg({ API_HOST: '127.0.0.1' }))).not.toThrow();
    expect(() => assertSafeBind(cfg({ API_HOST: '::' }))).toThrow(AuthConfigError);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', '127.0.0.1.nip.io'].some(isLoopback)).toBe(false);
  });
});

describe('OIDC', () => {
  let server: http.Server;
  let jwksUrl: string;
  let privateKey: KeyObject;
  const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

  beforeAll(async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    privateKey = pair.privateKey;
    const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' };
    server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  function jwt(claims: Record<string, unknown>, key = privateKey, header: Record<string, unknown> = {}): string {
    const head = b64({ alg: 'RS256', typ: 'JWT', kid: 'k1', ...header });
    const body = b64({ exp: Math.floor(Date.now() / 1000) + 300, iss: 'https://idp.test', aud: 'sophia', ...claims });
    return `${head}.${body}.${sign('sha256', Buffer.from(`${head}.${body}`), key).toString('base64url')}`;
  }
  const oidc = () =>
    new Authenticator(
      cfg({ API_OIDC_JWKS_URL: jwksUrl, API_OIDC_ISSUER: 'https://idp.test', API_OIDC_AUDIENCE: 'sophia' }),
    );

  it('takes the tenant from a claim of a JWT signed by a key of the JWKS', async () => {
    const auth = oidc();
    expect(await auth.identify(`Bearer ${jwt({ tenant: 'acme' })}`)).toEqual({ tenant: 'acme', role: 'member' });
    expect(await auth.identify(`Bearer ${jwt({ tenant: 'acme', sophia_role: 'admin' })}`)).toEqual({
      tenant: 'acme',
      role: 'admin',
    });
  });

  it('refuses a token that is expired, for another audience or issuer, signed by another key, unsigned or tenantless', async () => {
    const auth = oidc();
    const past = Math.floor(Date.now() / 1000) - 3600;
    const refused = [
      jwt({ tenant: 'acme', exp: past }),
      jwt({ tenant: 'acme', aud: 'someone-else' }),
      jwt({ tenant: 'acme', iss: 'https://evil.test' }),
      jwt({ tenant: 'acme' }, otherKey),
      jwt({}),
      jwt({ tenant: 'bad.tenant' }),
      `${b64({ alg: 'none', kid: 'k1' })}.${b64({ tenant: 'acme', exp: past + 7200 })}.`,
      `${b64({ alg: 'HS256', kid: 'k1' })}.${b64({ tenant: 'acme', exp: past + 7200 })}.c2ln`,
    ];
    for (const token of refused) expect(await auth.identify(`Bearer ${token}`)).toBeUndefined();
  });
});
