import { useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { useAuth } from '../auth/AuthContext';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { useAction } from '../lib/useApi';
import type { TwoFactorCheckpoint } from '../api';

/** Only same-site paths are accepted as the post-login destination. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
}

function Brand() {
  return (
    <div className="brand login-brand">
      <span className="brand-mark" aria-hidden="true">
        ▶
      </span>
      Ctrl-Alt-Play
    </div>
  );
}

/** The second step: a code from the authenticator app, or a recovery code. */
function SecondFactorForm({
  checkpoint,
  onDone,
  onRestart,
}: {
  checkpoint: TwoFactorCheckpoint;
  onDone: () => void;
  onRestart: () => void;
}) {
  const { completeLogin } = useAuth();
  const [recovery, setRecovery] = useState(false);
  const [value, setValue] = useState('');
  const { busy, error, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const typed = value.trim();
    void run(async () => {
      await completeLogin(checkpoint.checkpointToken, recovery ? { recoveryCode: typed } : { code: typed });
      onDone();
    });
  };
  return (
    <form className="card login-card" onSubmit={submit} aria-labelledby="login-title">
      <Brand />
      <h1 id="login-title">Two-factor sign-in</h1>
      <p className="muted">
        {recovery
          ? 'Enter one of your recovery codes. Each works once.'
          : 'Enter the six-digit code your authenticator app shows.'}
      </p>
      <ErrorMessage error={error} />
      <Field
        key={recovery ? 'recovery' : 'code'}
        label={recovery ? 'Recovery code' : 'Code'}
        name={recovery ? 'recoveryCode' : 'code'}
        autoComplete="one-time-code"
        inputMode={recovery ? 'text' : 'numeric'}
        required
        autoFocus
        value={value}
        onChange={(e) => setValue(e.target.value)}
        errors={error?.field(recovery ? 'recoveryCode' : 'code')}
      />
      <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
        {busy ? 'Checking…' : 'Verify'}
      </button>
      <div className="actions">
        <button
          type="button"
          className="btn btn-link"
          onClick={() => {
            setRecovery(!recovery);
            setValue('');
          }}
        >
          {recovery ? 'Use the authenticator app' : 'Use a recovery code'}
        </button>
        <button type="button" className="btn btn-link" onClick={onRestart}>
          Start over
        </button>
      </div>
    </form>
  );
}

export function LoginPage() {
  const { session, login } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [checkpoint, setCheckpoint] = useState<TwoFactorCheckpoint | null>(null);
  const { busy, error, run } = useAction();
  const next = safeNext(params.get('next'));

  if (session) return <Navigate to={next} replace />;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const pending = await login(name.trim(), password);
      if (pending) {
        setPassword('');
        setCheckpoint(pending);
        return;
      }
      navigate(next, { replace: true });
    });
  };

  if (checkpoint) {
    return (
      <main className="login">
        <SecondFactorForm
          checkpoint={checkpoint}
          onDone={() => navigate(next, { replace: true })}
          onRestart={() => setCheckpoint(null)}
        />
      </main>
    );
  }

  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <Brand />
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
