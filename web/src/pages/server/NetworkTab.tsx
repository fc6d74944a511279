import { useState } from 'react';
import { api, type Allocation } from '../../api';
import { ConfirmDialog, Dialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { Spinner } from '../../components/Spinner';
import { allocationRoom } from '../../lib/ports';
import { useAction, useApi } from '../../lib/useApi';

/** A server's allocations: everyone with network:view sees them, network:manage changes them. */
export function NetworkTab({ serverId, canManage }: { serverId: string; canManage: boolean }) {
  const list = useApi(() => api.servers.allocations(serverId), [serverId]);
  const [noting, setNoting] = useState<Allocation | null>(null);
  const [notes, setNotes] = useState('');
  const [removing, setRemoving] = useState<Allocation | null>(null);
  const action = useAction();
  const items = list.data?.items ?? [];
  const room = allocationRoom(items.length, list.data?.allowed ?? 0);

  const apply = (fn: () => Promise<unknown>) =>
    action.runThen(fn, async () => {
      setNoting(null);
      setRemoving(null);
      await list.reload();
    });

  return (
    <div>
      <div className="toolbar">
        <p className="muted" style={{ margin: 0 }} data-testid="allocation-room">
          {list.data ? room.text : ''} Changes reach the game at its next start.
        </p>
        {canManage && (
          <button
            type="button"
            className="btn btn-primary"
            style={{ marginLeft: 'auto' }}
            disabled={!room.canAdd || action.busy}
            onClick={() => void apply(() => api.servers.addAllocation(serverId))}
          >
            Add allocation
          </button>
        )}
      </div>
      <ErrorMessage error={list.error ?? (noting || removing ? null : action.error)} />
      {list.loading && !list.data ? (
        <Spinner label="Loading allocations" />
      ) : items.length === 0 ? (
        <div className="empty">This server has no allocation.</div>
      ) : (
        <div className="table-wrap">
          <table aria-label="Allocations">
            <thead>
              <tr>
                <th>Address</th>
                <th>Variable</th>
                <th>Notes</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.id} data-testid="allocation">
                  <td>
                    <code>
                      {a.ip}:{a.port}
                    </code>{' '}
                    {a.primary && <span className="tag">primary</span>}
                    {a.required && (
                      <span className="tag" title="The template uses this port beside the primary one">
                        needed by template
                      </span>
                    )}
                  </td>
                  <td>
                    <code>{a.variable}</code>
                  </td>
                  <td>{a.notes || <span className="muted">—</span>}</td>
                  <td>
                    {canManage && (
                      <div className="btn-group">
                        <button
                          type="button"
                          className="btn btn-small"
                          onClick={() => {
                            action.setError(null);
                            setNotes(a.notes);
                            setNoting(a);
                          }}
                        >
                          Notes
                        </button>
                        {!a.primary && !a.required && (
                          <>
                            <button
                              type="button"
                              className="btn btn-small"
                              disabled={action.busy}
                              onClick={() => void apply(() => api.servers.makePrimary(serverId, a.id))}
                            >
                              Make primary
                            </button>
                            <button
                              type="button"
                              className="btn btn-small btn-danger"
                              onClick={() => {
                                action.setError(null);
                                setRemoving(a);
                              }}
                            >
                              Remove
                            </button>
                          </>
                        )}
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog open={!!noting} title={`Notes for port ${noting?.port ?? ''}`} onClose={() => setNoting(null)}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (noting) void apply(() => api.servers.setAllocationNotes(serverId, noting.id, notes.trim()));
          }}
        >
          <ErrorMessage error={action.error} />
          <Field
            label="Notes"
            hint="What the port is for, e.g. query or RCON."
            maxLength={191}
            autoFocus
            value={notes}
            onChange={(e) => setNotes(e.target.value)}
            errors={action.error?.field('notes')}
          />
          <div className="actions">
            <button type="button" className="btn" onClick={() => setNoting(null)}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={action.busy}>
              Save
            </button>
          </div>
        </form>
      </Dialog>
      <ConfirmDialog
        open={!!removing}
        title="Remove allocation"
        message={`Remove ${removing?.ip}:${removing?.port} from this server? The port returns to the node.`}
        confirmLabel="Remove"
        busy={action.busy}
        onClose={() => setRemoving(null)}
        onConfirm={() => removing && void apply(() => api.servers.removeAllocation(serverId, removing.id))}
        error={action.error}
      />
    </div>
  );
}
