import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { api, ApiError, configureApi, type SecondFactor, type Session, type TwoFactorCheckpoint } from '../api';

interface AuthState {
  session: Session | null;
  /** True until the first `/api/auth/me` answer. */
  loading: boolean;
  /** Set when the session check failed for a reason other than "not signed in". */
  error: ApiError | null;
  /** Signs in; with two-factor sign-in on, answers the checkpoint for the second step. */
  login: (login: string, password: string) => Promise<TwoFactorCheckpoint | null>;
  /** The second step of a login with two-factor sign-in on. */
  completeLogin: (checkpointToken: string, factor: SecondFactor) => Promise<void>;
  logout: () => Promise<void>;
  reload: () => Promise<void>;
  can: (permission: string) => boolean;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const navigate = useNavigate();

  useEffect(() => {
    configureApi({
      onUnauthorized: (intended) => {
        setSession(null);
        navigate(`/login?next=${encodeURIComponent(intended)}`, { replace: true });
      },
    });
  }, [navigate]);

  const reload = useCallback(async () => {
    try {
      setSession(await api.auth.me());
      setError(null);
    } catch (e) {
      setSession(null);
      if (e instanceof ApiError && e.code !== 'UNAUTHORIZED') setError(e);
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  const login = useCallback(async (loginName: string, password: string) => {
    const answer = await api.auth.login(loginName, password);
    if ('twoFactorRequired' in answer) return answer;
    setSession(answer);
    setError(null);
    return null;
  }, []);

  const completeLogin = useCallback(async (checkpointToken: string, factor: SecondFactor) => {
    setSession(await api.auth.loginSecondFactor(checkpointToken, factor));
    setError(null);
  }, []);

  const logout = useCallback(async () => {
    try {
      await api.auth.logout();
    } finally {
      setSession(null);
      navigate('/login', { replace: true });
    }
  }, [navigate]);

  const value = useMemo<AuthState>(
    () => ({
      session,
      loading,
      error,
      login,
      completeLogin,
      logout,
      reload,
      can: (p) => !!session?.permissions.includes(p),
    }),
    [session, loading, error, login, completeLogin, logout, reload],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

/** For tests and stories: provide a fixed session without the network. */
export function StaticAuthProvider({ session, children }: { session: Session | null; children: ReactNode }) {
  const value = useMemo<AuthState>(
    () => ({
      session,
      loading: false,
      error: null,
      login: async () => null,
      completeLogin: async () => {},
      logout: async () => {},
      reload: async () => {},
      can: (p) => !!session?.permissions.includes(p),
    }),
    [session],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
