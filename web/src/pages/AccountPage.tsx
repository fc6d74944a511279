import { useState } from 'react';
import { api, itemsOf, type ApiKey, type ApiKeyFamily } from '../api';
import { useAuth } from '../auth/AuthContext';
import { ConfirmDialog } from '../components/Dialog';
import { SecretDialog } from '../components/SecretDialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { useAction, useApi } from '../lib/useApi';
import { CredentialTable } from './account/CredentialTable';
import { SshKeysCard } from './account/SshKeysCard';
import { TwoFactorCard } from './account/TwoFactorCard';

function PasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [done, setDone] = useState(false);
  const save = useAction();
  const mismatch = repeat !== '' && repeat !== next;
  return (
    <form
      className="card"
      onSubmit={(e) => {
        e.preventDefault();
        if (mismatch) return;
        setDone(false);
        void save.run(async () => {
          await api.auth.changePassword(current, next);
          setCurrent('');
          setNext('');
          setRepeat('');
          setDone(true);
        });
      }}
    >
      <h2 style={{ marginTop: 0 }}>Change password</h2>
      <ErrorMessage error={save.error} />
      {done && (
        <div className="alert alert-success" role="status">
          Password changed.
        </div>
      )}
      <Field
        label="Current password"
        type="password"
        autoComplete="current-password"
        required
        value={current}
        onChange={(e) => setCurrent(e.target.value)}
        errors={save.error?.field('currentPassword')}
      />
      <Field
        label="New password"
        type="password"
        autoComplete="new-password"
        required
        minLength={8}
        value={next}
        onChange={(e) => setNext(e.target.value)}
        errors={save.error?.field('newPassword')}
      />
      <Field
        label="Repeat new password"
        type="password"
        autoComplete="new-password"
        required
        value={repeat}
        onChange={(e) => setRepeat(e.target.value)}
        errors={mismatch ? ['The passwords differ.'] : undefined}
      />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={save.busy || mismatch}>
          Change password
        </button>
      </div>
    </form>
  );
}

function ApiKeys() {
  const keys = useApi(() => api.auth.apiKeys(), []);
  const [name, setName] = useState('');
  const [family, setFamily] = useState<ApiKeyFamily>('panel');
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [removing, setRemoving] = useState<ApiKey | null>(null);
  const action = useAction();
  const items = itemsOf(keys.data);
  return (
    <div className="card">
      <h2 style={{ marginTop: 0 }}>API keys</h2>
      <p className="muted">Keys let scripts call the API as you (send them as a Bearer token).</p>
      <ErrorMessage error={keys.error ?? (removing ? null : action.error)} />
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            setCreated(await api.auth.createApiKey(name.trim(), family));
            setName('');
            await keys.reload();
          });
        }}
      >
        <label className="sr-only" htmlFor="key-name">
          Key name
        </label>
        <input
          id="key-name"
          placeholder="Name, e.g. backup script"
          required
          maxLength={100}
          value={name}
          onChange={(e) => setName(e.target.value)}
          style={{ flex: 1 }}
        />
        <label className="sr-only" htmlFor="key-family">
          API
        </label>
        <select id="key-family" value={family} onChange={(e) => setFamily(e.target.value as ApiKeyFamily)}>
          <option value="panel">This panel&apos;s API</option>
          <option value="pterodactyl_client">Pterodactyl-compatible (ptlc_)</option>
        </select>
        <button type="submit" className="btn btn-primary" disabled={action.busy}>
          Create key
        </button>
      </form>
      <CredentialTable
        items={items}
        detail={{
          label: 'API',
          render: (k) => (k.family === 'pterodactyl_client' ? 'Pterodactyl-compatible' : 'Panel'),
        }}
        removeLabel="Revoke"
        onRemove={setRemoving}
      />
      <SecretDialog title="API key created" secret={created?.secret} onClose={() => setCreated(null)}>
        <p>Copy the key now — it is shown only once.</p>
      </SecretDialog>
      <ConfirmDialog
        open={!!removing}
        title="Revoke API key"
        message={`Revoke “${removing?.name}”? Scripts using it stop working immediately.`}
        confirmLabel="Revoke"
        busy={action.busy}
        onClose={() => setRemoving(null)}
        onConfirm={() =>
          removing &&
          void action.run(async () => {
            await api.auth.deleteApiKey(removing.id);
            setRemoving(null);
            await keys.reload();
          })
        }
        error={action.error}
      />
    </div>
  );
}

export function AccountPage() {
  const { session } = useAuth();
  const u = session?.user;
  return (
    <section className="page">
      <div className="page-head">
        <h1>Account</h1>
      </div>
      {u && (
        <dl className="kv card" style={{ marginBottom: 16 }}>
          <dt>Username</dt>
          <dd>{u.username}</dd>
          <dt>Email</dt>
          <dd>{u.email}</dd>
          <dt>Role</dt>
          <dd>{u.role}</dd>
          <dt>Permissions</dt>
          <dd>
            <small>{session.permissions.join(', ')}</small>
          </dd>
        </dl>
      )}
      <div className="grid-2">
        <PasswordForm />
        <TwoFactorCard />
        <ApiKeys />
        <SshKeysCard />
      </div>
    </section>
  );
}
