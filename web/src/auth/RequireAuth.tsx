import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useAuth } from './AuthContext';
import { ErrorMessage } from '../components/ErrorMessage';
import { Spinner } from '../components/Spinner';

/** Renders children for a signed-in user, else sends them to /login and back afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { session, loading, error } = useAuth();
  const location = useLocation();
  if (loading) return <Spinner label="Checking your session" />;
  if (error)
    return (
      <main className="centered">
        <ErrorMessage error={error} />
      </main>
    );
  if (!session) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  // The panel answers nothing else until a required two-factor sign-in is on.
  if (session.twoFactorSetupRequired && location.pathname !== '/account') return <Navigate to="/account" replace />;
  return <>{children}</>;
}

/** Renders children only with `permission`; otherwise a plain "not allowed" notice. */
export function RequirePermission({ permission, children }: { permission: string; children: ReactNode }) {
  const { can } = useAuth();
  if (!can(permission)) {
    return (
      <section className="page">
        <h1>Not available</h1>
        <p className="muted">Your account does not have access to this page.</p>
      </section>
    );
  }
  return <>{children}</>;
}
