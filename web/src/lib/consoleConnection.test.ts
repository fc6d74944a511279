// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient, WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { backoffDelay } from './backoff';
import { ConsoleConnection, type ConnectionStatus, type ConsoleMessage } from './consoleConnection';

const servers: WebSocketServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function wsServer(onConnection: (socket: import('ws').WebSocket, n: number) => void) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await new Promise<void>((r) => wss.once('listening', () => r()));
  let n = 0;
  wss.on('connection', (s) => onConnection(s, n++));
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/api/servers/s1/console`;
}

function until(pred: () => boolean, ms = 3000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() - start > ms) return reject(new Error('timed out'));
      setTimeout(tick, 5);
    };
    tick();
  });
}

function connect(url: string) {
  const messages: ConsoleMessage[] = [];
  const statuses: ConnectionStatus[] = [];
  const conn = new ConsoleConnection({
    url,
    onMessage: (m) => messages.push(m),
    onStatus: (s) => statuses.push(s),
    backoff: { baseMs: 20, maxMs: 80, jitter: 0 },
    stableMs: 200,
    WebSocketImpl: WsClient as unknown as typeof WebSocket,
  });
  conn.start();
  return { conn, messages, statuses };
}

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap', () => {
    const p = { baseMs: 500, maxMs: 15000, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, p))).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });

  it('spreads by at most the jitter fraction and never exceeds the cap', () => {
    const p = { baseMs: 1000, maxMs: 3000, jitter: 0.2 };
    expect(backoffDelay(0, p, () => 0)).toBe(800);
    expect(backoffDelay(0, p, () => 0.999999)).toBe(1200);
    expect(backoffDelay(5, p, () => 0.999999)).toBe(3000);
  });
});

describe('ConsoleConnection', () => {
  it('delivers history, console lines and state, and sends commands', async () => {
    const received: string[] = [];
    const url = await wsServer((s) => {
      s.on('message', (d) => received.push(d.toString()));
      s.send(JSON.stringify({ type: 'history', lines: ['old'] }));
      s.send(JSON.stringify({ type: 'console', lines: ['\u001b[32mready\u001b[0m'] }));
      s.send('not json');
      s.send(JSON.stringify({ type: 'state', state: 'running' }));
    });
    const { conn, messages, statuses } = connect(url);
    await until(() => messages.length === 3);
    expect(messages.map((m) => m.type)).toEqual(['history', 'console', 'state']);
    expect(statuses.at(-1)).toEqual({ kind: 'open' });
    expect(conn.send('say hi')).toBe(true);
    await until(() => received.length === 1);
    expect(JSON.parse(received[0])).toEqual({ type: 'command', command: 'say hi' });
    conn.stop();
    expect(conn.send('late')).toBe(false);
  });

  it('reconnects with growing delays while the server keeps dropping, and resets after a stable connection', async () => {
    const url = await wsServer((s, n) => {
      // The first three connections are dropped at once; the fourth stays up for a while.
      if (n < 3) s.close(1011, 'agent restarting');
      else if (n === 3) setTimeout(() => s.close(1011, 'bye'), 300);
    });
    const { conn, statuses } = connect(url);
    await until(() => statuses.filter((s) => s.kind === 'open').length === 5);
    const waits = statuses.filter((s): s is Extract<ConnectionStatus, { kind: 'waiting' }> => s.kind === 'waiting');
    // 3 quick drops back off further each time; the drop after 300 ms (> stableMs) starts over.
    expect(waits.map((w) => w.attempt)).toEqual([1, 2, 3, 1]);
    // Delays 20, 40, 80 ms (jitter off): retryAt grows accordingly.
    const gaps = waits.map((w, i) => (i === 0 ? 0 : w.retryAt - waits[i - 1].retryAt));
    expect(gaps[2]).toBeGreaterThan(gaps[1]);
    const connecting = statuses.filter((s) => s.kind === 'connecting').map((s) => (s as { attempt: number }).attempt);
    expect(connecting).toEqual([0, 1, 2, 3, 1]);
    conn.stop();
    expect(statuses.at(-1)).toEqual({ kind: 'closed' });
  });

  it('stops retrying when the panel refuses the console', async () => {
    let connections = 0;
    const url = await wsServer((s) => {
      connections += 1;
      s.close(4403, 'forbidden');
    });
    const { statuses } = connect(url);
    await until(() => statuses.some((s) => s.kind === 'denied'));
    await new Promise((r) => setTimeout(r, 150));
    expect(connections).toBe(1);
    expect(statuses.at(-1)).toEqual({ kind: 'denied', reason: 'forbidden' });
  });

  it('does not reconnect after stop()', async () => {
    let connections = 0;
    const url = await wsServer(() => {
      connections += 1;
    });
    const { conn, statuses } = connect(url);
    await until(() => statuses.some((s) => s.kind === 'open'));
    conn.stop();
    await new Promise((r) => setTimeout(r, 150));
    expect(connections).toBe(1);
  });
});
