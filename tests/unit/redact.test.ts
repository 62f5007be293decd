import { configuredSecrets, redactDetails, redactText } from '../../api/redact';

describe('what answers never carry', () => {
  const secrets = configuredSecrets({
    OPENAI_API_KEY: 'sk-live-abcdef',
    API_KEYS: 'acme:admin:key-one-123,beta:key-two-456',
    REDIS_URL: 'redis://:redis-pw-789@redis:6379',
  });

  it('replaces configured secrets, credentials in URLs and host paths', () => {
    const text =
      'EISDIR: /var/lib/sophia/work/pkg/ with sk-live-abcdef via http://user:pw@model.internal/v1 (key-two-456, redis-pw-789)';
    const out = redactText(text, secrets);
    for (const leaked of ['/var/lib/sophia', 'sk-live-abcdef', 'user:pw@', 'key-two-456', 'redis-pw-789'])
      expect(out).not.toContain(leaked);
    expect(out).toContain('http://***@model.internal/v1');
  });

  it("keeps the API's own routes and relative file names", () => {
    expect(redactText('see /api/workflows/job-1/result for src/calc.py', secrets)).toBe(
      'see /api/workflows/job-1/result for src/calc.py',
    );
  });

  it('caps details: long strings cut, at most 20 items of an array', () => {
    const details = redactDetails(
      { fields: Array.from({ length: 500 }, (_, i) => ({ path: `f${i}`, message: 'x'.repeat(5000) })) },
      secrets,
    ) as {
      fields: unknown[];
    };
    expect(details.fields).toHaveLength(21);
    expect(JSON.stringify(details).length).toBeLessThan(50_000);
  });
});
