import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** What the fake saw of one request. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface FakeCodacy {
  /** Base URL to use as CODACY_BASE_URL, e.g. `http://127.0.0.1:1234/api/v3`. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Which commit the repository's last analysis is of (the recorded CODACY_COMMIT until set). */
  setLastAnalysed(sha: string): void;
  /** Statuses answered (in order) before the recorded response, e.g. `[429, 503]`. */
  failNext(statuses: number[], retryAfterSeconds?: number): void;
  close(): Promise<void>;
}

export const CODACY_TOKEN = 'recorded-token-123';
const REPO = '/api/v3/analysis/organizations/gh/acme/repositories/widgets';
export const CODACY_COMMIT = '4f1c0de2b9a8e7d6c5b4a39281706f5e4d3c2b1a';
const recordings = path.join(__dirname, 'recordings', 'codacy');

function recording(name: string): string {
  return fs.readFileSync(path.join(recordings, name), 'utf8');
}

/** The recorded response for a request, keyed by method, path and cursor; undefined means 404. */
function route(
  method: string,
  pathname: string,
  query: Record<string, string>,
  lastAnalysed: string,
): string | undefined {
  if (method === 'GET' && pathname === REPO) {
    return recording('repository-with-analysis.json').replaceAll(CODACY_COMMIT, lastAnalysed);
  }
  if (method === 'POST' && pathname === `${REPO}/issues/search`) {
    const firstCursor = (JSON.parse(recording('search-issues-page-1.json')) as { pagination: { cursor: string } })
      .pagination.cursor;
    if (!query.cursor) return recording('search-issues-page-1.json');
    if (query.cursor === firstCursor) return recording('search-issues-page-2.json');
    return undefined;
  }
  return undefined;
}

/** A real HTTP server on 127.0.0.1 that answers like Codacy from the recordings. */
export async function startFakeCodacy(): Promise<FakeCodacy> {
  const requests: RecordedRequest[] = [];
  let faults: number[] = [];
  let retryAfter: number | undefined;
  let lastAnalysed = CODACY_COMMIT;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const raw = Buffer.concat(chunks).toString('utf8');
      const query = Object.fromEntries(url.searchParams.entries());
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        query,
        headers: req.headers,
        body: raw ? (JSON.parse(raw) as unknown) : undefined,
      });
      const send = (status: number, body: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(body);
      };
      const fault = faults.shift();
      if (fault !== undefined) {
        return send(
          fault,
          JSON.stringify({ error: `scripted ${fault}` }),
          retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {},
        );
      }
      if (req.headers['api-token'] !== CODACY_TOKEN) return send(401, recording('unauthorized.json'));
      const body = route(req.method ?? '', url.pathname, query, lastAnalysed);
      return body === undefined ? send(404, JSON.stringify({ error: 'Not Found' })) : send(200, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api/v3`,
    requests,
    setLastAnalysed(sha) {
      lastAnalysed = sha;
    },
    failNext(statuses, seconds) {
      faults = [...statuses];
      retryAfter = seconds;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
