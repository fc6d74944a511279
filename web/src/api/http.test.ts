// @vitest-environment node
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, configureApi, http } from './http';
import { api } from './index';
import { fail, json, ok, startServer } from '../test/httpServer';

let srv: Awaited<ReturnType<typeof startServer>>;
let redirects: string[] = [];

beforeAll(async () => {
  srv = await startServer((_req, res) => json(res, 200, ok(null)));
});
afterAll(() => srv.close());
beforeEach(() => {
  srv.log.length = 0;
  redirects = [];
  configureApi({ baseUrl: srv.url, onUnauthorized: (p) => redirects.push(p) });
});

describe('envelope handling', () => {
  it('returns data from a success envelope and sends JSON bodies', async () => {
    srv.setHandler((req, res, body) => json(res, 201, ok({ echoed: JSON.parse(body), url: req.url })));
    const data = await http.post<{ echoed: unknown; url: string }>('/api/x', { a: 1 }, { query: { page: 2, name: '' } });
    expect(data.echoed).toEqual({ a: 1 });
    expect(data.url).toBe('/api/x?page=2');
  });

  it('turns an error envelope into an ApiError with code, request id and field details', async () => {
    srv.setHandler((_req, res) =>
      json(res, 422, fail('VALIDATION_ERROR', 'Invalid input', { details: { name: ['is too long'], 'variables.PORT': 'bad' } })),
    );
    const err = await api.servers
      .create({ name: 'x', nodeId: 'n', altId: 'a', limits: { memoryMb: 1, cpuPercent: 1, diskMb: 1 }, variables: {} })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.status).toBe(422);
    expect(e.code).toBe('VALIDATION_ERROR');
    expect(e.requestId).toBe('req-fail');
    expect(e.message).toBe('Invalid input');
    expect(e.field('name')).toEqual(['is too long']);
    expect(e.field('variables.PORT')).toEqual(['bad']);
    expect(e.field('other')).toEqual([]);
  });

  it('falls back to the status and X-Request-Id header when the body is not an envelope', async () => {
    srv.setHandler((_req, res) => {
      res.writeHead(503, { 'X-Request-Id': 'hdr-1', 'Content-Type': 'text/plain' });
      res.end('upstream down');
    });
    const e = (await http.get('/api/y').catch((x: unknown) => x)) as ApiError;
    expect(e.code).toBe('AGENT_UNAVAILABLE');
    expect(e.requestId).toBe('hdr-1');
  });

  it('reports an unreachable panel as a network error', async () => {
    configureApi({ baseUrl: 'http://127.0.0.1:1' });
    const e = (await http.get('/api/z').catch((x: unknown) => x)) as ApiError;
    expect(e.code).toBe('NETWORK_ERROR');
  });

  it('returns raw text for file contents', async () => {
    srv.setHandler((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('motd=hello\n');
    });
    expect(await api.files.read('s1', '/server.properties')).toBe('motd=hello\n');
    expect(srv.log[0].url).toBe('/api/servers/s1/files/contents?path=%2Fserver.properties');
  });
});

describe('session refresh', () => {
  it('refreshes once on 401 and retries the original request', async () => {
    let refreshed = false;
    srv.setHandler((req, res) => {
      if (req.url === '/api/auth/refresh') {
        refreshed = true;
        return json(res, 200, ok(null));
      }
      if (!refreshed) return json(res, 401, fail('UNAUTHORIZED', 'expired'));
      json(res, 200, ok({ fine: true }));
    });
    expect(await http.get('/api/servers')).toEqual({ fine: true });
    expect(srv.log.map((l) => `${l.method} ${l.url}`)).toEqual([
      'GET /api/servers',
      'POST /api/auth/refresh',
      'GET /api/servers',
    ]);
    expect(redirects).toEqual([]);
  });

  it('redirects to login with the intended path when refresh fails', async () => {
    srv.setHandler((_req, res) => json(res, 401, fail('UNAUTHORIZED', 'no session')));
    const e = (await http.get('/api/servers').catch((x: unknown) => x)) as ApiError;
    expect(e.code).toBe('UNAUTHORIZED');
    expect(srv.log.map((l) => l.url)).toEqual(['/api/servers', '/api/auth/refresh']);
    expect(redirects).toEqual(['/']);
  });

  it('shares one refresh between concurrent 401s', async () => {
    let refreshed = false;
    srv.setHandler((req, res) => {
      if (req.url === '/api/auth/refresh') {
        setTimeout(() => {
          refreshed = true;
          json(res, 200, ok(null));
        }, 30);
        return;
      }
      if (!refreshed) return json(res, 401, fail('UNAUTHORIZED', 'expired'));
      json(res, 200, ok(req.url));
    });
    const results = await Promise.all([http.get('/api/a'), http.get('/api/b'), http.get('/api/c')]);
    expect(results).toEqual(['/api/a', '/api/b', '/api/c']);
    expect(srv.log.filter((l) => l.url === '/api/auth/refresh')).toHaveLength(1);
  });

  it('does not refresh or redirect for a failed login', async () => {
    srv.setHandler((_req, res) => json(res, 401, fail('UNAUTHORIZED', 'Wrong username or password')));
    const e = (await api.auth.login('admin', 'nope').catch((x: unknown) => x)) as ApiError;
    expect(e.message).toBe('Wrong username or password');
    expect(srv.log).toHaveLength(1);
    expect(redirects).toEqual([]);
  });
});
