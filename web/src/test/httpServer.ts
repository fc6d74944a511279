import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP server on 127.0.0.1 with a swappable handler and a log of requests. */
export async function startServer(handler: Handler) {
  const log: { method: string; url: string; body: string }[] = [];
  let current = handler;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      log.push({ method: req.method ?? '', url: req.url ?? '', body });
      current(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    setHandler: (h: Handler) => (current = h),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export const ok = (data: unknown) => ({ success: true, data, timestamp: new Date().toISOString(), requestId: 'req-ok' });
export const fail = (code: string, error: string, extra: Record<string, unknown> = {}) => ({
  success: false,
  error,
  code,
  timestamp: new Date().toISOString(),
  requestId: 'req-fail',
  ...extra,
});
