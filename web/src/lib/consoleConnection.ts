import { backoffDelay, DEFAULT_BACKOFF, type Backoff } from './backoff';
import type { RawStats, ServerState } from '../api';

/** Messages the panel sends on the console socket. */
export type ConsoleMessage =
  | { type: 'history'; lines: string[] }
  | { type: 'console'; lines: string[] }
  | { type: 'state'; state: ServerState; message?: string | null }
  | ({ type: 'stats' } & RawStats)
  | { type: 'error'; message: string };

export type ConnectionStatus =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'open' }
  | { kind: 'waiting'; attempt: number; retryAt: number }
  | { kind: 'denied'; reason: string }
  | { kind: 'closed' };

export interface ConsoleConnectionOptions {
  url: string;
  onMessage: (msg: ConsoleMessage) => void;
  onStatus: (status: ConnectionStatus) => void;
  backoff?: Backoff;
  /** A connection that stayed open this long counts as healthy: back-off starts over. */
  stableMs?: number;
  /** Injectable for tests that run outside a browser. */
  WebSocketImpl?: typeof WebSocket;
  random?: () => number;
}

/** Close codes after which reconnecting cannot help (the session or permission is gone). */
const TERMINAL_CLOSE_CODES = new Set([1008, 4401, 4403, 4404]);

/** The console WebSocket with automatic reconnect and exponential back-off. The attempt
 * counter resets only after a connection stayed up for `stableMs`, so a panel that accepts
 * and immediately drops the socket is not hammered, while a single hiccup after a long
 * healthy session reconnects at once. */
export class ConsoleConnection {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private openedAt: number | null = null;
  private readonly opts: ConsoleConnectionOptions;

  constructor(opts: ConsoleConnectionOptions) {
    this.opts = opts;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Sends a console command; false when the socket is not open. */
  send(command: string): boolean {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify({ type: 'command', command }));
    return true;
  }

  /** Skips the remaining wait and reconnects now. */
  retryNow(): void {
    if (this.stopped || this.ws) return;
    this.clearTimer();
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close();
    }
    this.opts.onStatus({ kind: 'closed' });
  }

  private clearTimer() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private connect() {
    const Impl = this.opts.WebSocketImpl ?? WebSocket;
    this.opts.onStatus({ kind: 'connecting', attempt: this.attempt });
    const ws = new Impl(this.opts.url);
    this.ws = ws;
    ws.onopen = () => {
      this.openedAt = Date.now();
      this.opts.onStatus({ kind: 'open' });
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data !== 'string') return;
      let msg: ConsoleMessage;
      try {
        msg = JSON.parse(ev.data) as ConsoleMessage;
      } catch {
        return;
      }
      if (msg && typeof msg === 'object' && 'type' in msg) this.opts.onMessage(msg);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.openedAt !== null && Date.now() - this.openedAt >= (this.opts.stableMs ?? 5000)) this.attempt = 0;
      this.openedAt = null;
      if (this.stopped) return;
      if (TERMINAL_CLOSE_CODES.has(ev.code)) {
        this.opts.onStatus({ kind: 'denied', reason: ev.reason || 'The console is not available to you.' });
        return;
      }
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      // A close event always follows; reconnecting is handled there.
    };
  }

  private scheduleReconnect() {
    const delay = backoffDelay(this.attempt, this.opts.backoff ?? DEFAULT_BACKOFF, this.opts.random);
    this.attempt += 1;
    this.opts.onStatus({ kind: 'waiting', attempt: this.attempt, retryAt: Date.now() + delay });
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }
}
