import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { ApplicationFailure } from '@temporalio/common';
import { retryAfterMs, toModelFailure } from '../../activities/llm/model-errors';

function apiError(status: number, headers: Record<string, string> = {}): APIError {
  return APIError.generate(
    status,
    { error: { message: `HTTP ${status}`, code: 'x' } },
    undefined,
    new Headers(headers),
  );
}

describe('toModelFailure', () => {
  it.each([
    [429, 'ModelRateLimited', false],
    [500, 'ModelUnavailable', false],
    [502, 'ModelUnavailable', false],
    [503, 'ModelUnavailable', false],
    [408, 'ModelUnavailable', false],
    [400, 'ModelRequestInvalid', true],
    [404, 'ModelRequestInvalid', true],
    [422, 'ModelRequestInvalid', true],
    [401, 'ModelAuth', true],
    [403, 'ModelAuth', true],
  ])('maps HTTP %i to %s (non-retryable: %s)', (status, type, nonRetryable) => {
    const failure = toModelFailure(apiError(status), { baseURL: 'http://llm/v1', model: 'm' });

    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(nonRetryable);
    expect(failure.message).toContain('http://llm/v1');
    expect(failure.details?.[0]).toMatchObject({ status });
  });

  it('gives a 429 the retry-after header as its next retry delay', () => {
    const failure = toModelFailure(apiError(429, { 'retry-after': '2' }));

    expect(failure.nextRetryDelay).toBe(2000);
  });

  it('leaves the next retry delay to Temporal when a 429 names no wait', () => {
    expect(toModelFailure(apiError(429)).nextRetryDelay).toBeUndefined();
  });

  it('maps connection errors and timeouts to retryable ModelUnavailable', () => {
    for (const err of [new APIConnectionError({ message: 'ECONNREFUSED' }), new APIConnectionTimeoutError()]) {
      const failure = toModelFailure(err);
      expect(failure.type).toBe('ModelUnavailable');
      expect(failure.nonRetryable).toBe(false);
    }
  });

  it('maps an unreadable response to retryable ModelUnavailable', () => {
    const failure = toModelFailure(new SyntaxError('Unexpected end of JSON input'));

    expect(failure.type).toBe('ModelUnavailable');
    expect(failure.message).toContain('Unexpected end of JSON input');
  });

  it('passes an ApplicationFailure through unchanged', () => {
    const original = ApplicationFailure.create({ type: 'ModelRefused', message: 'no', nonRetryable: true });

    expect(toModelFailure(original)).toBe(original);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads retry-after-ms before retry-after', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
  });

  it('reads retry-after as seconds, fractions included', () => {
    expect(retryAfterMs({ 'retry-after': '1.5' }, now)).toBe(1500);
  });

  it('reads retry-after as an HTTP date', () => {
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, now)).toBe(30_000);
  });

  it('ignores missing, past, zero and unparsable values', () => {
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': '0' }, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' }, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
  });
});
