import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * A real HTTP server on 127.0.0.1 that answers like GitHub's REST API from the responses in
 * `recordings/github/` (documented shapes, not captures: see its README). It keeps what it created, so
 * a second `list` sees the first `create`, and records every request.
 */
export interface FakeGithub {
  /** Use as GITHUB_API_URL. */
  readonly baseUrl: string;
  readonly requests: { method: string; path: string; authorization?: string; body: unknown }[];
  /** The token (or the App installation token) it accepts. */
  readonly token: string;
  readonly installationToken: string;
  readonly pulls: { number: number; head: string; base: string; title: string; body: string }[];
  readonly comments: { issue: number; body: string }[];
  readonly issues: { number: number; title: string; body: string }[];
  close(): Promise<void>;
}

const dir = path.join(__dirname, 'recordings', 'github');
const recording = (name: string, fields: Record<string, string | number> = {}) => {
  const raw = fs.readFileSync(path.join(dir, name), 'utf8');
  const value = JSON.parse(raw) as unknown;
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(/\{\{(\w+)\}\}/g, (_, k: string) => String(fields[k] ?? ''));
    if (Array.isArray(v)) return v.map(fill);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  return fill(value) as Record<string, unknown>;
};

export async function startFakeGithub(owner = 'acme', repo = 'widgets'): Promise<FakeGithub> {
  const token = 'ghp_recordedTokenForTests0000000000000000';
  const installation = recording('app-installation-token.json') as { token: string };
  const state = {
    requests: [] as FakeGithub['requests'],
    pulls: [] as FakeGithub['pulls'],
    comments: [] as FakeGithub['comments'],
    issues: [] as FakeGithub['issues'],
  };
  const base = `/repos/${owner}/${repo}`;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = (raw ? JSON.parse(raw) : undefined) as Record<string, string> | undefined;
      state.requests.push({
        method: req.method ?? 'GET',
        path: url.pathname + url.search,
        authorization: req.headers.authorization,
        body,
      });
      const send = (status: number, value: unknown) => {
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'x-github-api-version-selected': '2022-11-28',
        });
        res.end(JSON.stringify(value));
      };
      const auth = req.headers.authorization ?? '';
      if (req.method === 'POST' && /^\/app\/installations\/\d+\/access_tokens$/.test(url.pathname)) {
        // The App's JWT: three base64url parts, RS256 (its signature is checked by the unit test, not here).
        return /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/.test(auth)
          ? send(201, recording('app-installation-token.json'))
          : send(401, recording('unauthorized.json'));
      }
      if (auth !== `token ${token}` && auth !== `token ${installation.token}`)
        return send(401, recording('unauthorized.json'));
      const p = url.pathname;
      if (req.method === 'GET' && p === base) return send(200, recording('repos-get.json'));
      if (req.method === 'GET' && p === `${base}/pulls`) {
        const head = url.searchParams.get('head')?.replace(`${owner}:`, '');
        return send(
          200,
          state.pulls.filter((x) => !head || x.head === head).map((x) => recording('pulls-create.json', { ...x })),
        );
      }
      if (req.method === 'POST' && p === `${base}/pulls`) {
        const b = body ?? {};
        if (state.pulls.some((x) => x.head === b.head))
          return send(422, recording('pulls-create-exists.json', { head: b.head ?? '' }));
        const pr = {
          number: 7 + state.pulls.length,
          head: b.head ?? '',
          base: b.base ?? '',
          title: b.title ?? '',
          body: b.body ?? '',
        };
        state.pulls.push(pr);
        return send(201, { ...recording('pulls-create.json', { ...pr }), number: pr.number });
      }
      const comments = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/.exec(p);
      if (comments && p.startsWith(base)) {
        const issue = Number(comments[1]);
        if (req.method === 'GET')
          return send(
            200,
            state.comments.filter((c) => c.issue === issue).map((c) => recording('issues-comment-create.json', c)),
          );
        state.comments.push({ issue, body: body?.body ?? '' });
        return send(201, {
          ...recording('issues-comment-create.json', { body: body?.body ?? '' }),
          id: state.comments.length,
        });
      }
      if (p === `${base}/issues`) {
        if (req.method === 'GET')
          return send(
            200,
            state.issues.map((i) => ({ ...recording('issues-create.json', i), number: i.number })),
          );
        const issue = { number: 12 + state.issues.length, title: body?.title ?? '', body: body?.body ?? '' };
        state.issues.push(issue);
        return send(201, { ...recording('issues-create.json', issue), number: issue.number });
      }
      send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    token,
    installationToken: installation.token,
    ...state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
