import { useState } from 'react';
import { api, type DatabaseEngine, type DatabaseHost, type DatabaseHostInput } from '../../api';
import { ConfirmDialog, Dialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { Spinner } from '../../components/Spinner';
import { useAction, useApi } from '../../lib/useApi';

type Editing = { kind: 'new' } | { kind: 'edit'; host: DatabaseHost } | null;

const EMPTY: DatabaseHostInput = {
  name: '',
  engine: 'mysql',
  address: '',
  port: 3306,
  username: '',
  password: '',
  nodeId: null,
  maxDatabases: 100,
};

/** The MySQL/MariaDB and PostgreSQL servers on which servers' databases are created,
 * with their health, and the databases of deleted servers still waiting to be dropped. */
export function DatabaseHostsPage() {
  const hosts = useApi(() => api.databaseHosts.list(), []);
  const orphans = useApi(() => api.databaseHosts.orphans(), []);
  const nodes = useApi(() => api.nodes.list({ perPage: 100 }), []);
  const [editing, setEditing] = useState<Editing>(null);
  const [form, setForm] = useState<DatabaseHostInput>(EMPTY);
  const [removing, setRemoving] = useState<DatabaseHost | null>(null);
  const action = useAction();
  const fieldErrors = (f: string) => action.error?.field(f) ?? [];
  const set = (patch: Partial<DatabaseHostInput>) => setForm((f) => ({ ...f, ...patch }));

  const open = (e: Editing) => {
    action.setError(null);
    setForm(e?.kind === 'edit' ? { ...e.host, password: '' } : EMPTY);
    setEditing(e);
  };
  const reload = async () => {
    setEditing(null);
    setRemoving(null);
    await Promise.all([hosts.reload(), orphans.reload()]);
  };
  const save = () => {
    const body = { ...form, password: form.password || undefined };
    if (editing?.kind === 'edit') {
      const { engine: _fixed, ...rest } = body;
      void action.runThen(() => api.databaseHosts.update(editing.host.id, rest), reload);
    } else void action.runThen(() => api.databaseHosts.create(body), reload);
  };

  return (
    <section className="page">
      <div className="page-head">
        <h1>Database hosts</h1>
        <button type="button" className="btn btn-primary" onClick={() => open({ kind: 'new' })}>
          Add host
        </button>
      </div>
      <p className="muted">
        Servers' databases are created on these hosts. The panel connects with an account that may create databases and users; its
        password is stored encrypted and never shown again.
      </p>
      <ErrorMessage error={hosts.error ?? (editing || removing ? null : action.error)} />
      {hosts.loading && !hosts.data ? (
        <Spinner label="Checking database hosts" />
      ) : (hosts.data ?? []).length === 0 ? (
        <div className="empty">No database hosts yet.</div>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Engine</th>
                <th>Address</th>
                <th>Databases</th>
                <th>Health</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {(hosts.data ?? []).map((h) => (
                <tr key={h.id}>
                  <td>{h.name}</td>
                  <td>{h.engine === 'mysql' ? 'MySQL / MariaDB' : 'PostgreSQL'}</td>
                  <td>
                    <code>
                      {h.username}@{h.address}:{h.port}
                    </code>
                  </td>
                  <td>
                    {h.databases} / {h.maxDatabases}
                  </td>
                  <td data-testid={`health-${h.name}`}>
                    <span className={h.healthy ? 'badge badge-healthy' : 'badge badge-unhealthy'}>
                      <span className="dot" />
                      {h.healthy ? 'healthy' : 'unusable'}
                    </span>{' '}
                    <small className="muted">{h.health}</small>
                  </td>
                  <td>
                    <div className="btn-group">
                      <button type="button" className="btn btn-small" onClick={() => open({ kind: 'edit', host: h })}>
                        Edit
                      </button>
                      <button type="button" className="btn btn-small btn-danger" onClick={() => setRemoving(h)}>
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
      {(orphans.data ?? []).length > 0 && (
        <>
          <h2>Orphaned databases</h2>
          <p className="muted">
            Their servers were deleted while the host could not be reached. They may still exist on it: retry to drop them.
          </p>
          <ErrorMessage error={orphans.error} />
          <div className="table-wrap">
            <table>
              <tbody>
                {(orphans.data ?? []).map((o) => (
                  <tr key={o.id} data-testid="orphan">
                    <td>
                      <code>{o.name}</code>
                    </td>
                    <td>{o.hostName ?? o.hostId}</td>
                    <td>
                      <button
                        type="button"
                        className="btn btn-small"
                        disabled={action.busy}
                        onClick={() => void action.runThen(() => api.databaseHosts.retryOrphan(o.id), reload)}
                      >
                        Retry drop
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <Dialog
        open={!!editing}
        title={editing?.kind === 'edit' ? `Edit ${editing.host.name}` : 'Add database host'}
        onClose={() => setEditing(null)}
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            save();
          }}
        >
          <ErrorMessage error={action.error} />
          <Field
            label="Name"
            required
            value={form.name}
            onChange={(e) => set({ name: e.target.value })}
            errors={fieldErrors('name')}
          />
          <div className="field">
            <label htmlFor="db-engine">Engine</label>
            <select
              id="db-engine"
              value={form.engine}
              disabled={editing?.kind === 'edit'}
              onChange={(e) => {
                const engine = e.target.value as DatabaseEngine;
                set({ engine, port: engine === 'mysql' ? 3306 : 5432 });
              }}
            >
              <option value="mysql">MySQL / MariaDB</option>
              <option value="postgres">PostgreSQL</option>
            </select>
          </div>
          <Field
            label="Address"
            required
            value={form.address}
            onChange={(e) => set({ address: e.target.value })}
            errors={fieldErrors('address')}
          />
          <Field
            label="Port"
            type="number"
            required
            value={form.port}
            onChange={(e) => set({ port: Number(e.target.value) })}
            errors={fieldErrors('port')}
          />
          <Field
            label="Admin username"
            required
            value={form.username}
            onChange={(e) => set({ username: e.target.value })}
            errors={fieldErrors('username')}
          />
          <Field
            label="Admin password"
            type="password"
            required={editing?.kind !== 'edit'}
            hint={editing?.kind === 'edit' ? 'Leave empty to keep the stored password.' : undefined}
            value={form.password ?? ''}
            onChange={(e) => set({ password: e.target.value })}
            errors={fieldErrors('password')}
          />
          <div className="field">
            <label htmlFor="db-node">Serves node first</label>
            <select id="db-node" value={form.nodeId ?? ''} onChange={(e) => set({ nodeId: e.target.value || null })}>
              <option value="">Any node</option>
              {(nodes.data?.items ?? []).map((n) => (
                <option key={n.id} value={n.id}>
                  {n.name}
                </option>
              ))}
            </select>
          </div>
          <Field
            label="Most databases"
            type="number"
            required
            value={form.maxDatabases}
            onChange={(e) => set({ maxDatabases: Number(e.target.value) })}
            errors={fieldErrors('maxDatabases')}
          />
          <div className="actions">
            <button type="button" className="btn" onClick={() => setEditing(null)}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={action.busy}>
              {action.busy ? 'Connecting…' : 'Save'}
            </button>
          </div>
        </form>
      </Dialog>
      <ConfirmDialog
        open={!!removing}
        title="Remove database host"
        message={`Remove ${removing?.name}? Hosts that still hold databases are refused.`}
        confirmLabel="Remove"
        busy={action.busy}
        onClose={() => setRemoving(null)}
        onConfirm={() => removing && void action.runThen(() => api.databaseHosts.remove(removing.id), reload)}
        error={action.error}
      />
    </section>
  );
}
