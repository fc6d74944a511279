import { useState } from 'react';
import { api, itemsOf, type Subuser } from '../../api';
import { ConfirmDialog, Dialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { PermissionGrid } from '../../components/PermissionGrid';
import { Spinner } from '../../components/Spinner';
import { useAction, useApi } from '../../lib/useApi';

type Editing = { kind: 'new' } | { kind: 'edit'; subuser: Subuser } | null;

export function SubusersTab({ serverId }: { serverId: string }) {
  const list = useApi(() => api.servers.subusers(serverId), [serverId]);
  const catalogue = useApi(() => api.permissions(), []);
  const [editing, setEditing] = useState<Editing>(null);
  const [removing, setRemoving] = useState<Subuser | null>(null);
  const [username, setUsername] = useState('');
  const [perms, setPerms] = useState<Set<string>>(new Set());
  const action = useAction();
  const subusers = itemsOf(list.data);
  const scoped = catalogue.data?.serverScoped ?? [];

  const openEditor = (e: Editing) => {
    action.setError(null);
    setUsername('');
    setPerms(new Set(e?.kind === 'edit' ? e.subuser.permissions : ['console:view', 'file:read']));
    setEditing(e);
  };

  const done = (fn: () => Promise<unknown>) =>
    action.runThen(fn, async () => {
      setEditing(null);
      setRemoving(null);
      await list.reload();
    });

  return (
    <div>
      <div className="toolbar">
        <p className="muted" style={{ margin: 0 }}>
          Invite people who already have an account and choose what they may do on this server.
        </p>
        <button
          type="button"
          className="btn btn-primary"
          style={{ marginLeft: 'auto' }}
          onClick={() => openEditor({ kind: 'new' })}
        >
          Add subuser
        </button>
      </div>
      <ErrorMessage error={list.error ?? catalogue.error} />
      {list.loading && !list.data ? (
        <Spinner label="Loading subusers" />
      ) : subusers.length === 0 ? (
        <div className="empty">Nobody else has access to this server yet.</div>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>User</th>
                <th>Permissions</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {subusers.map((s) => (
                <tr key={s.id}>
                  <td>{s.username}</td>
                  <td>
                    <small>{s.permissions.join(', ') || 'none'}</small>
                  </td>
                  <td>
                    <div className="btn-group">
                      <button type="button" className="btn btn-small" onClick={() => openEditor({ kind: 'edit', subuser: s })}>
                        Edit
                      </button>
                      <button type="button" className="btn btn-small btn-danger" onClick={() => setRemoving(s)}>
                        Remove
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog
        open={!!editing}
        wide
        title={editing?.kind === 'edit' ? `Permissions of ${editing.subuser.username}` : 'Add subuser'}
        onClose={() => setEditing(null)}
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const keys = [...perms];
            if (editing?.kind === 'edit') void done(() => api.servers.updateSubuser(serverId, editing.subuser.id, keys));
            else void done(() => api.servers.addSubuser(serverId, username.trim(), keys));
          }}
        >
          <ErrorMessage error={action.error} />
          {editing?.kind === 'new' && (
            <Field
              label="Username"
              hint="The account must already exist."
              required
              autoFocus
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              errors={action.error?.field('username')}
            />
          )}
          {catalogue.data && (
            <PermissionGrid
              catalogue={catalogue.data}
              only={scoped}
              checked={perms}
              idPrefix="sub"
              onToggle={(key, on) => {
                const next = new Set(perms);
                if (on) next.add(key);
                else next.delete(key);
                setPerms(next);
              }}
            />
          )}
          <div className="actions">
            <button type="button" className="btn" onClick={() => setEditing(null)}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={action.busy}>
              {editing?.kind === 'edit' ? 'Save' : 'Invite'}
            </button>
          </div>
        </form>
      </Dialog>
      <ConfirmDialog
        open={!!removing}
        title="Remove subuser"
        message={`Remove ${removing?.username}'s access to this server?`}
        confirmLabel="Remove"
        busy={action.busy}
        onClose={() => setRemoving(null)}
        onConfirm={() => removing && void done(() => api.servers.removeSubuser(serverId, removing.id))}
        error={action.error}
      />
    </div>
  );
}
