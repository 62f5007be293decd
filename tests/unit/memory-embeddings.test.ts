import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { codeFeatures, HashEmbedder, OpenAIEmbedder, splitIdentifier } from '../../activities/memory/embeddings';

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}

describe('hashed code embedder', () => {
  test('splits identifiers on camelCase, PascalCase acronyms and snake_case', () => {
    expect(splitIdentifier('ArtifactStore.putJson')).toEqual(['artifact', 'store', 'put', 'json']);
    expect(splitIdentifier('get_file_set')).toEqual(['get', 'file', 'set']);
    expect(splitIdentifier('HTTPServerError')).toEqual(['http', 'server', 'error']);
  });

  test('weights words of identifiers and drops language keywords', () => {
    const features = codeFeatures('export async function readConfigFile() { return readConfigFile; }');
    expect(features.get('w:read')).toBe(2);
    expect(features.get('i:read_config_file')).toBe(1);
    expect(features.has('w:function')).toBe(false);
    expect(features.has('w:return')).toBe(false);
  });

  test('gives deterministic unit vectors of the configured dimension', async () => {
    const embedder = new HashEmbedder(64);
    const [a, b] = await embedder.embed(['parse the config', 'parse the config']);
    expect(a).toHaveLength(64);
    expect(cosine(a!, a!)).toBeCloseTo(1, 5);
    expect(Array.from(a!)).toEqual(Array.from(b!));
  });

  test('ranks the code that shares the query words above unrelated code', async () => {
    const embedder = new HashEmbedder(768);
    const [query, store, retry] = await embedder.embed([
      'content addressed artifact store put',
      'class ArtifactStore { async put(content: string) { const id = sha256(content); /* content-addressed */ } }',
      'export const RETRY_POLICIES = { llm: { initialInterval: "2s", backoffCoefficient: 2 } }',
    ]);
    expect(cosine(query!, store!)).toBeGreaterThan(cosine(query!, retry!) + 0.2);
  });
});

describe('OpenAI-compatible embedder', () => {
  let server: http.Server;
  let baseURL: string;
  let lastBody: { model?: string; input?: string[]; dimensions?: number } = {};
  let answerDimension = 4;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        lastBody = JSON.parse(raw) as typeof lastBody;
        const data = (lastBody.input ?? []).map((_, index) => ({
          object: 'embedding',
          index,
          embedding: Array.from({ length: answerDimension }, (_, j) => (j === index % answerDimension ? 3 : 0)),
        }));
        res.writeHead(200, { 'content-type': 'application/json' });
        // Out of order on purpose: the client must sort by index.
        res.end(
          JSON.stringify({
            object: 'list',
            model: lastBody.model,
            data: data.reverse(),
            usage: { prompt_tokens: 1, total_tokens: 1 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('requests the configured model and dimension and returns normalised vectors in input order', async () => {
    answerDimension = 4;
    const embedder = new OpenAIEmbedder('text-embedding-3-small', 4, { baseURL });
    const vectors = await embedder.embed(['a', 'b']);
    expect(lastBody).toMatchObject({ model: 'text-embedding-3-small', input: ['a', 'b'], dimensions: 4 });
    expect(Array.from(vectors[0]!)).toEqual([1, 0, 0, 0]);
    expect(Array.from(vectors[1]!)).toEqual([0, 1, 0, 0]);
    expect(embedder.name).toBe('openai:text-embedding-3-small');
  });

  test('refuses vectors of another dimension than configured with EmbedderMismatch', async () => {
    answerDimension = 3;
    const embedder = new OpenAIEmbedder('m', 4, { baseURL });
    await expect(embedder.embed(['a'])).rejects.toMatchObject({ type: 'EmbedderMismatch', nonRetryable: true });
  });
});
