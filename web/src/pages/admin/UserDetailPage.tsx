import { useEffect, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { api, type User } from '../../api';
import { useAuth } from '../../auth/AuthContext';
import { ConfirmDialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { PermissionGrid } from '../../components/PermissionGrid';
import { Spinner } from '../../components/Spinner';
import { formatDate } from '../../lib/format';
import { effective, toggle, type PermissionDraft } from '../../lib/permissionEdit';
import { useAction, useApi } from '../../lib/useApi';
import { UserTwoFactor } from './TwoFactorAdmin';

function AccountForm({ user, roles, onSaved }: { user: User; roles: string[]; onSaved: (u: User) => void }) {
  const [email, setEmail] = useState(user.email);
  const [role, setRole] = useState(user.role);
  const [disabled, setDisabled] = useState(user.disabled);
  const [password, setPassword] = useState('');
  const [saved, setSaved] = useState(false);
  const save = useAction();
  return (
    <form
      className="card"
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        void save.run(async () => {
          onSaved(await api.users.update(user.id, { email: email.trim(), role, disabled, password: password || undefined }));
          setPassword('');
          setSaved(true);
        });
      }}
    >
      <h2 style={{ marginTop: 0 }}>Account</h2>
      <ErrorMessage error={save.error} />
      {saved && (
        <div className="alert alert-success" role="status">
          Saved.
        </div>
      )}
      <Field
        label="Email"
        type="email"
        required
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        errors={save.error?.field('email')}
      />
      <div className="field">
        <label htmlFor="user-role">Role</label>
        <select id="user-role" value={role} onChange={(e) => setRole(e.target.value)}>
          {roles.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </div>
      <label className="check">
        <input type="checkbox" checked={disabled} onChange={(e) => setDisabled(e.target.checked)} />
        Disabled (cannot sign in; existing sessions end)
      </label>
      <Field
        label="New password"
        type="password"
        autoComplete="new-password"
        minLength={8}
        hint="Leave empty to keep the current password."
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        errors={save.error?.field('password')}
      />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={save.busy}>
          Save account
        </button>
      </div>
    </form>
  );
}

/** The 10 categories × 36 permissions of one user: role keys, grants and revocations. */
function PermissionsEditor({ userId }: { userId: string }) {
  const perms = useApi(() => api.users.permissions(userId), [userId]);
  const catalogue = useApi(() => api.permissions(), []);
  const [draft, setDraft] = useState<PermissionDraft | null>(null);
  const savePerms = useAction();
  const id = userId;

  useEffect(() => {
    if (perms.data)
      setDraft({ rolePermissions: perms.data.rolePermissions, grants: perms.data.grants, revocations: perms.data.revocations });
  }, [perms.data]);

  return (
    <>
      <h2>Permissions</h2>
      <p className="muted">
        Ticked boxes are what this user may do: their role's permissions (marked “role”) plus individual grants, minus
        revocations.
      </p>
      <ErrorMessage error={perms.error ?? catalogue.error ?? savePerms.error} />
      {draft && catalogue.data ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void savePerms.run(async () => {
              perms.setData(await api.users.setPermissions(id, draft.grants, draft.revocations));
            });
          }}
        >
          <PermissionGrid
            catalogue={catalogue.data}
            checked={effective(draft)}
            fromRole={draft.rolePermissions}
            onToggle={(key, on) => setDraft(toggle(draft, key, on))}
          />
          {
            <div className="actions">
              <span className="muted">
                {draft.grants.length} granted · {draft.revocations.length} revoked
              </span>
              <button type="submit" className="btn btn-primary" disabled={savePerms.busy}>
                Save permissions
              </button>
            </div>
          }
        </form>
      ) : (
        perms.loading && <Spinner label="Loading permissions" />
      )}
    </>
  );
}

export function UserDetailPage() {
  const { id = '' } = useParams();
  const { can, session } = useAuth();
  const navigate = useNavigate();
  const user = useApi(() => api.users.get(id), [id]);
  const catalogue = useApi(() => api.permissions(), []);
  const [removing, setRemoving] = useState(false);
  const remove = useAction();

  if (user.loading && !user.data) return <Spinner label="Loading user" />;
  if (!user.data) return <ErrorMessage error={user.error} />;
  const u = user.data;
  const roles = catalogue.data?.roles.map((r) => r.name) ?? ['admin', 'moderator', 'user'];

  return (
    <section className="page">
      <div className="page-head">
        <h1>{u.username}</h1>
        <span className="tag">{u.role}</span>
        {can('user:delete') && session?.user.id !== u.id && (
          <button type="button" className="btn btn-danger" onClick={() => setRemoving(true)}>
            Delete user
          </button>
        )}
      </div>
      <p className="muted">
        Created {formatDate(u.createdAt)} · last login {formatDate(u.lastLoginAt)}
      </p>
      <div className="grid-2">
        {can('user:update') && <AccountForm key={u.id + u.role} user={u} roles={roles} onSaved={user.setData} />}
        <UserTwoFactor userId={u.id} username={u.username} />
      </div>
      {can('admin:permissions') && <PermissionsEditor key={u.role} userId={u.id} />}
      <ConfirmDialog
        open={removing}
        title="Delete user"
        message={`Delete ${u.username}? Users who still own servers cannot be deleted.`}
        confirmLabel="Delete user"
        confirmWord={u.username}
        busy={remove.busy}
        onClose={() => setRemoving(false)}
        onConfirm={() =>
          void remove.run(async () => {
            await api.users.remove(u.id);
            navigate('/admin/users', { replace: true });
          })
        }
        error={remove.error}
      />
    </section>
  );
}
