import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, parseConfig } from '../../common/config';
import { connectClient, connectionOptions } from '../../temporal/node/connection';

/**
 * Temporal connection settings come through Temporal's own envconfig: a TOML profile file, the
 * profile TEMPORAL_PROFILE names, and the standard TEMPORAL_* variables over both.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-envconfig-'));
const file = (name: string, text: string) => {
  fs.writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
};
// Not a real certificate: envconfig reads the bytes and hands them to the connection as they are.
const cert = file('client.pem', '-----BEGIN CERTIFICATE-----\nnot-checked-here\n-----END CERTIFICATE-----\n');
const key = file('client.key', '-----BEGIN PRIVATE KEY-----\nnot-checked-here\n-----END PRIVATE KEY-----\n');
const toml = file(
  'temporal.toml',
  `[profile.default]
address = "127.0.0.1:1"
namespace = "from-default"

[profile.cloud]
address = "acme.a1b2c.tmprl.example:7233"
namespace = "acme.a1b2c"
api_key = "profile-key"

[profile.mtls]
address = "temporal.internal:7233"
namespace = "jobs"
[profile.mtls.tls]
client_cert_path = "${cert}"
client_key_path = "${key}"
server_name = "temporal.internal"
[profile.mtls.grpc_meta]
team = "sophia"
`,
);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('Temporal connection settings through envconfig', () => {
  it('defaults to a local server and the default namespace, without TLS, when nothing is set', () => {
    const cfg = parseConfig({ HOME: dir });
    expect(cfg.TEMPORAL_ADDRESS).toBe('127.0.0.1:7233');
    expect(cfg.TEMPORAL_NAMESPACE).toBe('default');
    expect(connectionOptions(cfg)).toMatchObject({ address: '127.0.0.1:7233', tls: undefined, apiKey: undefined });
  });

  it('reads the profile TEMPORAL_PROFILE names from TEMPORAL_CONFIG_FILE; an API key turns TLS on and names the namespace', () => {
    const cfg = parseConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud' });
    expect(cfg.TEMPORAL_ADDRESS).toBe('acme.a1b2c.tmprl.example:7233');
    expect(cfg.TEMPORAL_NAMESPACE).toBe('acme.a1b2c');
    expect(cfg.TEMPORAL_API_KEY).toBe('profile-key');
    expect(connectionOptions(cfg)).toMatchObject({
      address: 'acme.a1b2c.tmprl.example:7233',
      apiKey: 'profile-key',
      tls: true,
      metadata: { 'temporal-namespace': 'acme.a1b2c' },
    });
  });

  it("reads a profile's mTLS files, server name and gRPC metadata", () => {
    const options = connectionOptions(parseConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'mtls' }));
    expect(options.metadata).toEqual({ team: 'sophia' });
    expect(options.tls).toMatchObject({
      serverNameOverride: 'temporal.internal',
      clientCertPair: { crt: fs.readFileSync(cert), key: fs.readFileSync(key) },
    });
  });

  it('lets the standard variables override the profile, and reads our older mTLS variable names', () => {
    const cfg = parseConfig({
      TEMPORAL_CONFIG_FILE: toml,
      TEMPORAL_PROFILE: 'cloud',
      TEMPORAL_ADDRESS: 'elsewhere:7233',
      TEMPORAL_NAMESPACE: 'other',
      TEMPORAL_API_KEY: '',
      TEMPORAL_GRPC_META_X_TEAM: 'ops',
    });
    expect([cfg.TEMPORAL_ADDRESS, cfg.TEMPORAL_NAMESPACE, cfg.TEMPORAL_API_KEY]).toEqual([
      'elsewhere:7233',
      'other',
      // An empty variable is unset: the profile's key stays.
      'profile-key',
    ]);
    expect(connectionOptions(cfg).metadata).toMatchObject({ 'x-team': 'ops' });
    const legacy = connectionOptions(
      parseConfig({ HOME: dir, TEMPORAL_TLS_CERT_PATH: cert, TEMPORAL_TLS_KEY_PATH: key, TEMPORAL_TLS: 'true' }),
    );
    expect(legacy.tls).toMatchObject({ clientCertPair: { crt: fs.readFileSync(cert), key: fs.readFileSync(key) } });
    expect(
      connectionOptions(parseConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud', TEMPORAL_TLS: 'false' }))
        .tls,
    ).toBe(false);
  });

  it('stops with a ConfigError naming the variable when the profile or the file is not there', () => {
    expect(() => parseConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'staging' })).toThrow(ConfigError);
    expect(() => parseConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'staging' })).toThrow(
      /TEMPORAL_PROFILE: .*'staging' not found/,
    );
    expect(() => parseConfig({ TEMPORAL_CONFIG_FILE: path.join(dir, 'missing.toml') })).toThrow(
      /TEMPORAL_CONFIG_FILE: the Temporal client config could not be read/,
    );
  });

  it("connects to the run's real Temporal server through a profile file alone", async () => {
    const profile = file(
      'local.toml',
      `[profile.test]\naddress = "${process.env.TEMPORAL_ADDRESS}"\nnamespace = "${process.env.TEMPORAL_NAMESPACE ?? 'default'}"\n`,
    );
    const cfg = parseConfig({ TEMPORAL_CONFIG_FILE: profile, TEMPORAL_PROFILE: 'test' });
    const client = await connectClient(cfg);
    try {
      const ns = await client.workflowService.describeNamespace({ namespace: cfg.TEMPORAL_NAMESPACE });
      expect(ns.namespaceInfo?.name).toBe(cfg.TEMPORAL_NAMESPACE);
    } finally {
      await client.connection.close();
    }
  });
});
