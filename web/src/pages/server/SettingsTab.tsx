import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api, type Server } from '../../api';
import { ConfirmDialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import type { ServerAccess } from '../../lib/access';
import { useAction } from '../../lib/useApi';
import { CrashPolicyForm } from './CrashPolicyForm';

export function SettingsTab({ server, access, onSaved }: { server: Server; access: ServerAccess; onSaved: (s: Server) => void }) {
  const navigate = useNavigate();
  const [name, setName] = useState(server.name);
  const [description, setDescription] = useState(server.description ?? '');
  const [confirm, setConfirm] = useState<'reinstall' | 'delete' | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const save = useAction();
  const danger = useAction();

  return (
    <div className="grid-2">
      {access.rename && (
        <form
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            void save.run(async () => {
              onSaved(await api.servers.update(server.id, { name: name.trim(), description }));
              setNotice('Saved.');
            });
          }}
        >
          <h2 style={{ marginTop: 0 }}>Name and description</h2>
          <ErrorMessage error={save.error} />
          {notice && (
            <div className="alert alert-success" role="status">
              {notice}
            </div>
          )}
          <Field
            label="Server name"
            required
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
            errors={save.error?.field('name')}
          />
          <Field
            label="Description"
            value={description}
            maxLength={500}
            onChange={(e) => setDescription(e.target.value)}
            errors={save.error?.field('description')}
          />
          <div className="actions">
            <button type="submit" className="btn btn-primary" disabled={save.busy}>
              Save
            </button>
          </div>
        </form>
      )}
      {access.rename && <CrashPolicyForm server={server} onSaved={onSaved} />}
      <div className="card">
        <h2 style={{ marginTop: 0 }}>Danger zone</h2>
        <ErrorMessage error={confirm ? null : danger.error} />
        {access.reinstall && (
          <>
            <p className="muted">Reinstalling runs the template's install script again. Files may be overwritten.</p>
            <button type="button" className="btn btn-warn" onClick={() => setConfirm('reinstall')}>
              Reinstall server
            </button>
          </>
        )}
        {access.remove && (
          <>
            <p className="muted">Deleting removes the server and all its files from the node. This cannot be undone.</p>
            <button type="button" className="btn btn-danger" onClick={() => setConfirm('delete')}>
              Delete server
            </button>
          </>
        )}
      </div>
      <ConfirmDialog
        open={confirm === 'reinstall'}
        title="Reinstall server"
        message={`Reinstall ${server.name}? The server is stopped and its install script runs again.`}
        confirmLabel="Reinstall"
        busy={danger.busy}
        onClose={() => setConfirm(null)}
        onConfirm={() =>
          void danger.run(async () => {
            await api.servers.reinstall(server.id);
            setConfirm(null);
            setNotice('Reinstall started.');
          })
        }
        error={danger.error}
      />
      <ConfirmDialog
        open={confirm === 'delete'}
        title="Delete server"
        message={`Delete ${server.name} and all of its files? This cannot be undone.`}
        confirmLabel="Delete server"
        confirmWord={server.name}
        busy={danger.busy}
        onClose={() => setConfirm(null)}
        onConfirm={() =>
          void danger.run(async () => {
            await api.servers.remove(server.id);
            navigate('/', { replace: true });
          })
        }
        error={danger.error}
      />
    </div>
  );
}
