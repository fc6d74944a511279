import { useState } from 'react';
import { api, type ServerDatabase } from '../../api';
import { ConfirmDialog, Dialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { SecretDialog } from '../../components/SecretDialog';
import { Spinner } from '../../components/Spinner';
import { useAction, useApi } from '../../lib/useApi';

export interface DatabaseRights {
  create: boolean;
  remove: boolean;
}

/** A server's databases: create (within the admin's limit), copy the connection string,
 * reveal and rotate the password (both written to the audit log), delete. */
export function DatabasesTab({ serverId, rights }: { serverId: string; rights: DatabaseRights }) {
  const list = useApi(() => api.databases.list(serverId), [serverId]);
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [remote, setRemote] = useState('');
  const [password, setPassword] = useState<{ db: ServerDatabase; password: string } | null>(null);
  const [removing, setRemoving] = useState<ServerDatabase | null>(null);
  const action = useAction();
  const databases = list.data?.databases ?? [];
  const limit = list.data?.limit ?? 0;
  const full = databases.length >= limit;

  const reveal = (db: ServerDatabase) =>
    void action.run(async () => setPassword({ db, password: (await api.databases.reveal(serverId, db.id)).password }));
  const rotate = (db: ServerDatabase) =>
    void action.run(async () => {
      await api.databases.rotate(serverId, db.id);
      setPassword({ db, password: (await api.databases.reveal(serverId, db.id)).password });
    });

  return (
    <div>
      <div className="toolbar">
        <p className="muted" style={{ margin: 0 }} data-testid="database-limit">
          {limit === 0
            ? 'This server may not have databases; an administrator sets how many it may have.'
            : `${databases.length} of ${limit} database${limit === 1 ? '' : 's'} used.`}
        </p>
        {rights.create && (
          <button
            type="button"
            className="btn btn-primary"
            style={{ marginLeft: 'auto' }}
            disabled={full}
            onClick={() => {
              action.setError(null);
              setName('');
              setRemote('');
              setCreating(true);
            }}
          >
            New database
          </button>
        )}
      </div>
      <ErrorMessage error={list.error ?? (creating || removing ? null : action.error)} />
      {list.loading && !list.data ? (
        <Spinner label="Loading databases" />
      ) : databases.length === 0 ? (
        <div className="empty">No databases yet.</div>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Database</th>
                <th>User</th>
                <th>Host</th>
                <th>Connection</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {databases.map((db) => (
                <tr key={db.id}>
                  <td>
                    <code>{db.name}</code>
                  </td>
                  <td>
                    <code>{db.username}</code>
                    {db.engine === 'mysql' && <small className="muted"> from {db.remote}</small>}
                  </td>
                  <td>
                    {db.hostName} <small className="muted">({db.engine === 'mysql' ? 'MySQL' : 'PostgreSQL'})</small>
                  </td>
                  <td>
                    <code data-testid="connection-string">{db.connectionString}</code>{' '}
                    <button
                      type="button"
                      className="btn btn-small"
                      onClick={() => void navigator.clipboard?.writeText(db.connectionString)}
                    >
                      Copy
                    </button>
                  </td>
                  <td>
                    <div className="btn-group">
                      <button type="button" className="btn btn-small" disabled={action.busy} onClick={() => reveal(db)}>
                        Show password
                      </button>
                      {rights.create && (
                        <button type="button" className="btn btn-small" disabled={action.busy} onClick={() => rotate(db)}>
                          Rotate password
                        </button>
                      )}
                      {rights.remove && (
                        <button type="button" className="btn btn-small btn-danger" onClick={() => setRemoving(db)}>
                          Delete
                        </button>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog open={creating} title="New database" onClose={() => setCreating(false)}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const body = { name: name.trim(), ...(remote.trim() ? { remote: remote.trim() } : {}) };
            void action.runThen(
              () => api.databases.create(serverId, body),
              async () => {
                setCreating(false);
                await list.reload();
              },
            );
          }}
        >
          <ErrorMessage error={action.error} />
          <Field
            label="Name"
            hint="Letters, digits and underscores; the server's prefix is added in front."
            required
            autoFocus
            value={name}
            onChange={(e) => setName(e.target.value)}
            errors={action.error?.field('name')}
          />
          <Field
            label="Connections from"
            hint="MySQL hosts: an address or pattern such as 10.0.0.% (default: anywhere). PostgreSQL hosts decide this themselves."
            value={remote}
            onChange={(e) => setRemote(e.target.value)}
            errors={action.error?.field('remote')}
          />
          <div className="actions">
            <button type="button" className="btn" onClick={() => setCreating(false)}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={action.busy}>
              Create
            </button>
          </div>
        </form>
      </Dialog>
      <SecretDialog
        title={`Password of ${password?.db.username ?? ''}`}
        secret={password?.password}
        onClose={() => setPassword(null)}
        testId="database-password"
      >
        <p className="muted">Viewing a password is written to the audit log.</p>
      </SecretDialog>
      <ConfirmDialog
        open={!!removing}
        title="Delete database"
        message={`Delete ${removing?.name} and everything in it? This cannot be undone.`}
        confirmLabel="Delete"
        confirmWord={removing?.name}
        busy={action.busy}
        onClose={() => setRemoving(null)}
        onConfirm={() =>
          removing &&
          void action.runThen(
            () => api.databases.remove(serverId, removing.id),
            async () => {
              setRemoving(null);
              await list.reload();
            },
          )
        }
        error={action.error}
      />
    </div>
  );
}
