import { useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { useAuth } from '../auth/AuthContext';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { useAction } from '../lib/useApi';

/** Only same-site paths are accepted as the post-login destination. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
}

export function LoginPage() {
  const { session, login } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();
  const next = safeNext(params.get('next'));

  if (session) return <Navigate to={next} replace />;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      await login(name.trim(), password);
      navigate(next, { replace: true });
    });
  };

  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand login-brand">
          <span className="brand-mark" aria-hidden="true">
            ▶
          </span>
          Ctrl-Alt-Play
        </div>
        <h1 id="login-title">Sign in</h1>
        {params.get('next') && !error && <p className="muted">Your session ended. Sign in to continue.</p>}
        <ErrorMessage error={error} />
        <Field
          label="Username or email"
          name="login"
          autoComplete="username"
          required
          autoFocus
          value={name}
          onChange={(e) => setName(e.target.value)}
          errors={error?.field('login')}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          errors={error?.field('password')}
        />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
