// The one place that talks HTTP to the panel: envelope parsing, typed errors, and the
// "401 → refresh once → retry, else send to the login page" rule.

export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'AGENT_UNAVAILABLE'
  | 'INTERNAL_ERROR'
  | 'NETWORK_ERROR'
  | 'BAD_RESPONSE';

/** An API failure with everything needed to show it: message, code, request id, and
 * per-field validation messages. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly requestId: string | null;
  readonly details: Record<string, string[]>;

  constructor(
    message: string,
    opts: { status: number; code: ErrorCode; requestId?: string | null; details?: Record<string, string[]> },
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = opts.status;
    this.code = opts.code;
    this.requestId = opts.requestId ?? null;
    this.details = opts.details ?? {};
  }

  /** Messages for one field (e.g. `name` or `variables.SERVER_PORT`). */
  field(name: string): string[] {
    return this.details[name] ?? [];
  }
}

type Unauthorized = (intendedPath: string) => void;

interface ClientConfig {
  /** Prefix for every URL; empty in the browser (same origin), absolute in tests. */
  baseUrl: string;
  onUnauthorized: Unauthorized;
}

const defaultOnUnauthorized: Unauthorized = (intended) => {
  window.location.assign(`/login?next=${encodeURIComponent(intended)}`);
};

const config: ClientConfig = { baseUrl: '', onUnauthorized: defaultOnUnauthorized };

export function configureApi(next: Partial<ClientConfig>): void {
  Object.assign(config, next);
}

export function apiUrl(path: string, query?: Query): string {
  const qs = query ? toQueryString(query) : '';
  return `${config.baseUrl}${path}${qs}`;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function toQueryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

function currentPath(): string {
  if (typeof window === 'undefined' || !window.location) return '/';
  const { pathname, search } = window.location;
  if (pathname.startsWith('/login')) return new URLSearchParams(search).get('next') ?? '/';
  return `${pathname}${search}`;
}

export interface RequestOptions {
  query?: Query;
  /** JSON-serialised unless it is a string/Blob/FormData (sent as-is). */
  body?: unknown;
  /** Return the raw response text instead of the envelope's data. */
  text?: boolean;
  signal?: AbortSignal;
  /** Do not attempt refresh/redirect on 401 (used by the auth calls themselves). */
  noRefresh?: boolean;
  /** Refresh on 401 but leave the redirect to the caller (the initial session check). */
  noRedirect?: boolean;
}

interface Envelope {
  success?: boolean;
  data?: unknown;
  error?: string;
  message?: string;
  code?: string;
  details?: Record<string, string[] | string>;
  requestId?: string;
}

const KNOWN_CODES = new Set<string>([
  'VALIDATION_ERROR',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'AGENT_UNAVAILABLE',
  'INTERNAL_ERROR',
]);

function codeForStatus(status: number): ErrorCode {
  if (status === 400 || status === 422) return 'VALIDATION_ERROR';
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 502 || status === 503) return 'AGENT_UNAVAILABLE';
  return 'INTERNAL_ERROR';
}

function normaliseDetails(raw: Envelope['details']): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!raw || typeof raw !== 'object') return out;
  for (const [k, v] of Object.entries(raw)) {
    out[k] = Array.isArray(v) ? v.map(String) : [String(v)];
  }
  return out;
}

/** Turns a non-2xx response into an ApiError, whatever its body looks like. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  const headerId = res.headers.get('x-request-id');
  const text = await res.text().catch(() => '');
  let env: Envelope | null = null;
  try {
    env = text ? (JSON.parse(text) as Envelope) : null;
  } catch {
    env = null;
  }
  const code = env?.code && KNOWN_CODES.has(env.code) ? (env.code as ErrorCode) : codeForStatus(res.status);
  const message = env?.error ?? env?.message ?? (res.statusText || `Request failed with status ${res.status}`);
  return new ApiError(message, {
    status: res.status,
    code,
    requestId: env?.requestId ?? headerId,
    details: normaliseDetails(env?.details),
  });
}

let refreshing: Promise<boolean> | null = null;

/** One refresh at a time: concurrent 401s share the same attempt. */
function refreshSession(): Promise<boolean> {
  refreshing ??= fetch(apiUrl('/api/auth/refresh'), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
  })
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

function encodeBody(body: unknown): { body?: BodyInit; headers: Record<string, string> } {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body === undefined) return { headers };
  if (typeof body === 'string') return { body, headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' } };
  if (body instanceof Blob || body instanceof FormData) return { body, headers };
  return { body: JSON.stringify(body), headers: { ...headers, 'Content-Type': 'application/json' } };
}

async function send(method: string, path: string, opts: RequestOptions): Promise<Response> {
  const { body, headers } = encodeBody(opts.body);
  try {
    return await fetch(apiUrl(path, opts.query), {
      method,
      body,
      headers,
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError('Cannot reach the panel. Check your connection and try again.', {
      status: 0,
      code: 'NETWORK_ERROR',
    });
  }
}

/** Sends a request and returns the envelope's `data` (or the raw text with `text`). */
export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  let res = await send(method, path, opts);
  if (res.status === 401 && !opts.noRefresh) {
    if (await refreshSession()) res = await send(method, path, opts);
    if (res.status === 401) {
      const err = await errorFromResponse(res);
      if (!opts.noRedirect) config.onUnauthorized(currentPath());
      throw err;
    }
  }
  if (!res.ok) throw await errorFromResponse(res);
  if (opts.text) return (await res.text()) as T;
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let env: Envelope;
  try {
    env = JSON.parse(text) as Envelope;
  } catch {
    throw new ApiError('The panel sent a response that is not JSON.', {
      status: res.status,
      code: 'BAD_RESPONSE',
      requestId: res.headers.get('x-request-id'),
    });
  }
  if (env.success === false) {
    throw new ApiError(env.error ?? 'Request failed', {
      status: res.status,
      code: (env.code as ErrorCode) ?? 'INTERNAL_ERROR',
      requestId: env.requestId,
      details: normaliseDetails(env.details),
    });
  }
  return env.data as T;
}

export const http = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, opts),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('POST', path, { ...opts, body }),
  put: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('PUT', path, { ...opts, body }),
  patch: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('PATCH', path, { ...opts, body }),
  del: <T>(path: string, opts?: RequestOptions) => request<T>('DELETE', path, opts),
};

/** Triggers the redirect-to-login for code outside `request` (e.g. uploads, WebSocket). */
export function notifyUnauthorized(): void {
  config.onUnauthorized(currentPath());
}

export { refreshSession };
