import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import { ApiError, configureApi } from './http';
import { api } from './index';
import { fail, ok, startServer } from '../test/httpServer';

// jsdom's XMLHttpRequest makes real requests from http://localhost:3000, so the test
// server answers CORS the way a same-origin panel never needs to.
function cors(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': '*',
    'Access-Control-Allow-Methods': 'POST',
    'Access-Control-Expose-Headers': 'X-Request-Id',
    'Content-Type': 'application/json',
    'X-Request-Id': 'up-1',
  });
  res.end(body === null ? '' : JSON.stringify(body));
}

let srv: Awaited<ReturnType<typeof startServer>>;
let redirects: string[] = [];
beforeAll(async () => {
  srv = await startServer((_req, res) => cors(res, 200, ok(null)));
});
afterAll(() => srv.close());
beforeEach(() => {
  srv.log.length = 0;
  redirects = [];
  configureApi({ baseUrl: srv.url, onUnauthorized: (p) => redirects.push(p) });
});

const files = () => [new File(['hello world'], 'a.txt'), new File(['x'.repeat(5000)], 'b.bin')];

describe('uploadFiles', () => {
  it('streams every file as multipart to the folder and reports progress', async () => {
    srv.setHandler((req, res) => (req.method === 'OPTIONS' ? cors(res, 204, null) : cors(res, 200, ok(null))));
    const progress: number[] = [];
    await api.files.upload('s1', '/plugins', files(), (p) => progress.push(p.loaded));
    const post = srv.log.find((l) => l.method === 'POST');
    expect(post?.url).toBe('/api/servers/s1/files/upload?path=%2Fplugins');
    expect(post?.body).toContain('filename="a.txt"');
    expect(post?.body).toContain('filename="b.bin"');
    expect(post?.body).toContain('hello world');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBeGreaterThan(5000);
  });

  it('turns a rejected upload into an ApiError with the request id', async () => {
    srv.setHandler((req, res) =>
      req.method === 'OPTIONS' ? cors(res, 204, null) : cors(res, 413, fail('VALIDATION_ERROR', 'file too large')),
    );
    const e = (await api.files.upload('s1', '/', files(), () => {}).catch((x: unknown) => x)) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect(e.message).toBe('file too large');
    expect(e.requestId).toBe('req-fail');
  });

  it('refreshes the session once on 401 and then sends the user to login', async () => {
    srv.setHandler((req, res) =>
      req.method === 'OPTIONS' ? cors(res, 204, null) : cors(res, 401, fail('UNAUTHORIZED', 'expired')),
    );
    const e = (await api.files.upload('s1', '/', files(), () => {}).catch((x: unknown) => x)) as ApiError;
    expect(e.code).toBe('UNAUTHORIZED');
    expect(srv.log.filter((l) => l.method === 'POST').map((l) => l.url.split('?')[0])).toEqual([
      '/api/servers/s1/files/upload',
      '/api/auth/refresh',
    ]);
    expect(redirects).toHaveLength(1);
  });
});
