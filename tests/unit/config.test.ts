import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, envSchema, parseConfig, projectRoot } from '../../common/config';

describe('config', () => {
  it('has a README row for every environment variable', () => {
    const readme = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
    const missing = Object.keys(envSchema.shape).filter((name) => !readme.includes(`| \`${name}\` |`));
    expect(missing).toEqual([]);
  });

  it('coerces numbers and booleans instead of comparing strings', () => {
    const cfg = parseConfig({ API_PORT: '9001', TEMPORAL_TLS: 'true', SANDBOX_ALLOW_UNSANDBOXED: '0' });
    expect(cfg.API_PORT).toBe(9001);
    expect(cfg.TEMPORAL_TLS).toBe(true);
    expect(cfg.SANDBOX_ALLOW_UNSANDBOXED).toBe(false);
  });

  it('stops with a message naming each bad variable', () => {
    expect(() => parseConfig({ API_PORT: 'eighty', OPENAI_BASE_URL: 'not a url', LOG_LEVEL: 'loud' })).toThrow(
      ConfigError,
    );
    try {
      parseConfig({ API_PORT: 'eighty', OPENAI_BASE_URL: 'not a url', LOG_LEVEL: 'loud' });
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toContain('API_PORT');
      expect(message).toContain('OPENAI_BASE_URL');
      expect(message).toContain('LOG_LEVEL');
      expect(message).toContain('README.md');
    }
  });

  it('resolves the data directory against the project root', () => {
    expect(parseConfig({ SOPHIA_DATA_DIR: 'somewhere' }).dataDir).toBe(path.join(projectRoot, 'somewhere'));
  });
});
