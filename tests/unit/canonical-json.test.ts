import { requestHash } from '../../activities/llm/request-hash';
import { requestDigest } from '../../api/tenancy';
import { canonicalJson } from '../../common/canonical-json';

describe('canonical JSON, the one rule behind request digests and hashes', () => {
  it('sorts keys at every depth, keeps array order and leaves undefined fields out', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('gives the API digest and the model request hash the same answer for the same value, whatever the key order', () => {
    expect(requestDigest({ task: 'generate', options: { a: 1, b: 2 } })).toBe(
      requestDigest({ options: { b: 2, a: 1 }, task: 'generate' }),
    );
    expect(requestDigest({ task: 'generate' })).not.toBe(requestDigest({ task: 'review' }));
    const request = {
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      schemaName: 's',
      temperature: 0,
      maxTokens: 5,
    };
    const reordered = {
      maxTokens: 5,
      temperature: 0,
      schemaName: 's',
      messages: [{ content: 'x', role: 'user' }],
      model: 'm',
    };
    expect(requestHash(request)).toBe(requestHash(reordered));
    expect(requestHash({ ...request, model: 'n' })).not.toBe(requestHash(request));
    expect(requestHash({ ...request, seed: 2 })).not.toBe(requestHash(request));
    expect(requestHash({ ...request, seed: undefined })).toBe(requestHash(request));
  });
});
