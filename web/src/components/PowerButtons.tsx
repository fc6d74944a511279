import { api, type PowerAction, type Server } from '../api';
import { powerAllowed } from '../lib/access';
import { useAction } from '../lib/useApi';
import { ErrorMessage } from './ErrorMessage';

const ACTIONS: { action: PowerAction; label: string; className: string }[] = [
  { action: 'start', label: 'Start', className: 'btn-success' },
  { action: 'restart', label: 'Restart', className: '' },
  { action: 'stop', label: 'Stop', className: 'btn-warn' },
  { action: 'kill', label: 'Kill', className: 'btn-danger' },
];

/** Start/restart/stop/kill, each enabled only when the state allows it. Rendered only
 * for users holding `server:power` on the server. */
export function PowerButtons({
  server,
  compact,
  onDone,
}: {
  server: Pick<Server, 'id' | 'name' | 'state' | 'permissions'>;
  compact?: boolean;
  onDone?: (action: PowerAction) => void;
}) {
  const { busy, error, setError, run } = useAction();
  if (!server.permissions.includes('server:power')) return null;
  const allowed = powerAllowed(server.state);
  return (
    <div className="power">
      <div className="btn-group" role="group" aria-label={`Power controls for ${server.name}`}>
        {ACTIONS.map(({ action, label, className }) => (
          <button
            key={action}
            type="button"
            className={`btn ${compact ? 'btn-small' : ''} ${className}`}
            disabled={busy || !allowed[action]}
            onClick={() =>
              void run(async () => {
                await api.servers.power(server.id, action);
                onDone?.(action);
              })
            }
          >
            {label}
          </button>
        ))}
      </div>
      <ErrorMessage error={error} onDismiss={() => setError(null)} />
    </div>
  );
}
