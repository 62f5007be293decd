/**
 * A thin HTTP client of the Sophia REST API, shared by the CLI and the MCP server. The API owns
 * validation, Temporal access and errors; this file only carries requests and typed errors.
 */

/** Where the API listens unless `--api` or `SOPHIA_API_URL` says otherwise. */
export const DEFAULT_API_URL = 'http://localhost:8000';

/** The API's error body `{ error: { code, message, details } }`, with the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The catalogue's hint, when the API sent one. */
  get hint(): string | undefined {
    return typeof this.details.hint === 'string' ? this.details.hint : undefined;
  }
}

/** Nothing answered at the API's address (connection refused, DNS, timeout). */
export class ApiUnreachableError extends Error {
  constructor(
    readonly baseUrl: string,
    cause: string,
  ) {
    super(
      `The Sophia API at ${baseUrl} is unreachable (${cause}). Start it with \`npm start\`, or point --api / SOPHIA_API_URL at a running one.`,
    );
    this.name = 'ApiUnreachableError';
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` when the API has `API_TOKEN` set. */
  token?: string;
}

/** One Server-Sent Event of the API: its name and its JSON data. */
export interface StreamEvent {
  event: string;
  data: unknown;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly token?: string;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
  }

  /** An absolute URL for a link the API returned relative to itself. */
  absolute(link: string): string {
    return /^https?:\/\//.test(link) ? link : `${this.baseUrl}${link}`;
  }

  get<T>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('DELETE', path);
  }

  /**
   * Reads a Server-Sent Events stream of the API to its end, calling `onEvent` for each event. A
   * non-2xx answer throws the API's typed error, as `request` does.
   */
  async stream(path: string, onEvent: (e: StreamEvent) => void): Promise<void> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, { headers });
    } catch (err) {
      throw new ApiUnreachableError(this.baseUrl, networkCause(err));
    }
    if (!res.ok || !res.body) {
      // The error body is JSON: the ordinary path turns it into the API's typed error.
      await this.get(path);
      throw new ApiError(res.status, `Http${res.status}`, `The API answered ${res.status} to ${path}.`);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data !== undefined) onEvent({ event, data: JSON.parse(data) as unknown });
      }
    }
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiUnreachableError(this.baseUrl, networkCause(err));
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new ApiError(
          res.status,
          'InvalidResponse',
          `The API answered ${res.status} with a body that is not JSON.`,
          {
            body: text.slice(0, 500),
          },
        );
      }
    }
    if (!res.ok) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
      throw new ApiError(
        res.status,
        typeof error?.code === 'string' ? error.code : `Http${res.status}`,
        typeof error?.message === 'string' ? error.message : `The API answered ${res.status} ${res.statusText}.`,
        error?.details && typeof error.details === 'object' ? (error.details as Record<string, unknown>) : {},
      );
    }
    return { status: res.status, body: parsed as T };
  }
}

/** One Server-Sent Event: its name and its JSON data. */
export interface StreamEvent {
  event: string;
  data: unknown;
}

function networkCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** Encodes a job or schedule id for a path segment. */
export function seg(id: string): string {
  return encodeURIComponent(id);
}
