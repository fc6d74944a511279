import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api } from '../../api';
import { useAuth } from '../../auth/AuthContext';
import { Dialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { Pagination } from '../../components/Pagination';
import { SearchBox, useListQuery } from '../../components/SearchBox';
import { Spinner } from '../../components/Spinner';
import { formatAgo } from '../../lib/format';
import { useAction, useApi } from '../../lib/useApi';
import { TwoFactorPolicy } from './TwoFactorAdmin';

const PER_PAGE = 25;

export function UsersPage() {
  const { can } = useAuth();
  const navigate = useNavigate();
  const { filter, setFilter, query, page, setPage } = useListQuery();
  const users = useApi(() => api.users.list({ page, perPage: PER_PAGE, name: query }), [page, query]);
  const catalogue = useApi(() => api.permissions(), []);
  const [creating, setCreating] = useState(false);
  const [form, setForm] = useState({ username: '', email: '', password: '', role: 'user' });
  const action = useAction();
  const err = (f: string) => action.error?.field(f) ?? [];
  const roles = catalogue.data?.roles.map((r) => r.name) ?? ['admin', 'moderator', 'user'];

  return (
    <section className="page">
      <div className="page-head">
        <h1>Users</h1>
        {can('user:create') && (
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => {
              action.setError(null);
              setForm({ username: '', email: '', password: '', role: 'user' });
              setCreating(true);
            }}
          >
            New user
          </button>
        )}
      </div>
      {can('admin:settings') && <TwoFactorPolicy />}
      <SearchBox label="Filter users" value={filter} onChange={setFilter} />
      <ErrorMessage error={users.error} />
      {users.loading && !users.data ? (
        <Spinner label="Loading users" />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Username</th>
                <th>Email</th>
                <th>Role</th>
                <th>Status</th>
                <th>Last login</th>
              </tr>
            </thead>
            <tbody>
              {(users.data?.items ?? []).map((u) => (
                <tr key={u.id}>
                  <td>
                    <Link to={`/admin/users/${u.id}`}>{u.username}</Link>
                  </td>
                  <td>{u.email}</td>
                  <td>
                    <span className="tag">{u.role}</span>
                  </td>
                  <td>{u.disabled ? <span className="field-error">Disabled</span> : 'Active'}</td>
                  <td>{formatAgo(u.lastLoginAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {users.data && <Pagination page={page} perPage={PER_PAGE} total={users.data.total} onPage={setPage} />}

      <Dialog open={creating} title="New user" onClose={() => setCreating(false)}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void action.run(async () => {
              const u = await api.users.create({ ...form, username: form.username.trim(), email: form.email.trim() });
              setCreating(false);
              navigate(`/admin/users/${u.id}`);
            });
          }}
        >
          <ErrorMessage error={action.error} />
          <Field
            label="Username"
            required
            autoFocus
            autoComplete="off"
            value={form.username}
            onChange={(e) => setForm({ ...form, username: e.target.value })}
            errors={err('username')}
          />
          <Field
            label="Email"
            type="email"
            required
            value={form.email}
            onChange={(e) => setForm({ ...form, email: e.target.value })}
            errors={err('email')}
          />
          <Field
            label="Password"
            type="password"
            required
            minLength={8}
            autoComplete="new-password"
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
            errors={err('password')}
          />
          <div className="field">
            <label htmlFor="new-user-role">Role</label>
            <select id="new-user-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
              {roles.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </div>
          <div className="actions">
            <button type="submit" className="btn btn-primary" disabled={action.busy}>
              Create user
            </button>
          </div>
        </form>
      </Dialog>
    </section>
  );
}
