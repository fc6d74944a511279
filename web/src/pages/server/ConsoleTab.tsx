import { lazy, Suspense, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { Spinner } from '../../components/Spinner';
import { CommandHistory } from '../../lib/commandHistory';
import type { ConnectionStatus } from '../../lib/consoleConnection';
import type { ServerLive } from '../../lib/useServerLive';

const Terminal = lazy(() => import('./Terminal'));

function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

export function ConnectionState({ status, onRetry }: { status: ConnectionStatus; onRetry: () => void }) {
  const now = useNow(status.kind === 'waiting');
  let badge = 'offline';
  let text = 'Disconnected';
  switch (status.kind) {
    case 'open':
      badge = 'online';
      text = 'Connected';
      break;
    case 'connecting':
      badge = 'degraded';
      text = status.attempt > 0 ? `Reconnecting (attempt ${status.attempt + 1})…` : 'Connecting…';
      break;
    case 'waiting':
      badge = 'crashed';
      text = `Connection lost · retrying in ${Math.max(0, Math.ceil((status.retryAt - now) / 1000))}s`;
      break;
    case 'denied':
      badge = 'crashed';
      text = `Console unavailable: ${status.reason}`;
      break;
  }
  return (
    <span className="conn-state" role="status" data-testid="console-status" data-state={status.kind}>
      <span className={`badge badge-${badge}`}>
        <span className="dot" aria-hidden="true" />
        {text}
      </span>
      {status.kind === 'waiting' && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Retry now
        </button>
      )}
    </span>
  );
}

export function CommandInput({ onSend, disabled }: { onSend: (command: string) => boolean; disabled: boolean }) {
  const [value, setValue] = useState('');
  const [failed, setFailed] = useState(false);
  const history = useRef(new CommandHistory());
  const submit = () => {
    const command = value.trim();
    if (!command) return;
    if (onSend(command)) {
      history.current.push(command);
      setValue('');
      setFailed(false);
    } else {
      setFailed(true);
    }
  };
  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowUp') {
      e.preventDefault();
      setValue(history.current.up(value));
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      setValue(history.current.down());
    }
  };
  return (
    <form
      className="console-input"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <label htmlFor="console-command" className="sr-only">
        Console command
      </label>
      <input
        id="console-command"
        placeholder={disabled ? 'Waiting for the connection…' : 'Type a command… (↑/↓ for history)'}
        autoComplete="off"
        spellCheck={false}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        onKeyDown={onKey}
        aria-invalid={failed || undefined}
      />
      <button type="submit" className="btn btn-primary" disabled={disabled || !value.trim()}>
        Send
      </button>
    </form>
  );
}

export function ConsoleTab({ live, canSend }: { live: ServerLive; canSend: boolean }) {
  return (
    <div className="console">
      <div className="toolbar">
        <ConnectionState status={live.status} onRetry={live.retryNow} />
      </div>
      {live.stateMessage && (
        <div className="alert alert-info" role="status">
          {live.stateMessage}
        </div>
      )}
      {live.lastError && (
        <div className="alert alert-error" role="alert">
          {live.lastError}
        </div>
      )}
      <Suspense fallback={<Spinner label="Loading terminal" />}>
        <Terminal feed={live.feed} />
      </Suspense>
      {canSend && <CommandInput onSend={live.send} disabled={live.status.kind !== 'open'} />}
    </div>
  );
}
