import { useCallback, useEffect, useRef, useState } from 'react';
import { api, normalizeStats, type ServerState, type Stats } from '../api';
import { ConsoleConnection, type ConnectionStatus } from './consoleConnection';
import { LineFeed } from './lineFeed';

export const STATS_POINTS = 60;

export interface ServerLive {
  status: ConnectionStatus;
  state: ServerState | null;
  stats: Stats | null;
  cpu: number[];
  memory: number[];
  feed: LineFeed;
  lastError: string | null;
  /** Why the server is in its state, when the agent says (e.g. a crash reason). */
  stateMessage: string | null;
  send: (command: string) => boolean;
  retryNow: () => void;
}

function pushCapped(arr: number[], v: number): number[] {
  const next = arr.length >= STATS_POINTS ? arr.slice(arr.length - STATS_POINTS + 1) : arr.slice();
  next.push(v);
  return next;
}

/** Live data for one server: the console socket (lines, state, stats) when the user may
 * watch the console, otherwise stats polled once a second. */
export function useServerLive(serverId: string, consoleEnabled: boolean): ServerLive {
  const feedRef = useRef<LineFeed>(new LineFeed());
  const connRef = useRef<ConsoleConnection | null>(null);
  const [status, setStatus] = useState<ConnectionStatus>({ kind: 'closed' });
  const [state, setState] = useState<ServerState | null>(null);
  const [stats, setStats] = useState<Stats | null>(null);
  const [cpu, setCpu] = useState<number[]>([]);
  const [memory, setMemory] = useState<number[]>([]);
  const [lastError, setLastError] = useState<string | null>(null);
  const [stateMessage, setStateMessage] = useState<string | null>(null);

  const onStats = useCallback((s: Stats) => {
    setStats(s);
    setCpu((a) => pushCapped(a, s.cpuPercent));
    setMemory((a) => pushCapped(a, s.memoryBytes));
  }, []);

  useEffect(() => {
    setCpu([]);
    setMemory([]);
    setStats(null);
    setState(null);
    feedRef.current.reset([]);
    if (!consoleEnabled) {
      let alive = true;
      const poll = async () => {
        try {
          const s = await api.servers.stats(serverId);
          if (alive && s) onStats(s);
        } catch {
          // Stats are best-effort; the header shows the server state from the API.
        }
      };
      void poll();
      const t = setInterval(() => void poll(), 1000);
      return () => {
        alive = false;
        clearInterval(t);
      };
    }
    const conn = new ConsoleConnection({
      url: api.servers.consoleUrl(serverId),
      onStatus: setStatus,
      onMessage: (m) => {
        switch (m.type) {
          case 'history':
            feedRef.current.reset(m.lines);
            break;
          case 'console':
            feedRef.current.append(m.lines);
            break;
          case 'state':
            setState(m.state);
            setStateMessage(m.message ?? null);
            break;
          case 'stats': {
            const s = normalizeStats(m);
            if (s) onStats(s);
            break;
          }
          case 'error':
            setLastError(m.message);
            break;
        }
      },
    });
    connRef.current = conn;
    conn.start();
    return () => {
      conn.stop();
      connRef.current = null;
    };
  }, [serverId, consoleEnabled, onStats]);

  return {
    status,
    state,
    stats,
    cpu,
    memory,
    feed: feedRef.current,
    lastError,
    stateMessage,
    send: (c) => connRef.current?.send(c) ?? false,
    retryNow: () => connRef.current?.retryNow(),
  };
}
