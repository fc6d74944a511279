import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api';

export interface ApiState<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => Promise<void>;
  setData: (d: T) => void;
}

/** Converts anything thrown into an ApiError so every failure renders the same way. */
export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(e instanceof Error ? e.message : String(e), { status: 0, code: 'INTERNAL_ERROR' });
}

/** Loads `fn()` now and whenever `deps` change; with `pollMs`, refreshes quietly. */
export function useApi<T>(fn: () => Promise<T>, deps: unknown[], pollMs?: number): ApiState<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const generation = useRef(0);

  const load = useCallback(async (quiet: boolean) => {
    const gen = ++generation.current;
    if (!quiet) setLoading(true);
    try {
      const d = await fnRef.current();
      if (gen === generation.current) {
        setData(d);
        setError(null);
      }
    } catch (e) {
      if (gen === generation.current) setError(asApiError(e));
    } finally {
      if (gen === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void load(false);
    if (!pollMs) return;
    const t = setInterval(() => {
      if (document.visibilityState !== 'hidden') void load(true);
    }, pollMs);
    return () => clearInterval(t);
    // `deps` are the caller's inputs to `fn`; `fn` itself is read through a ref.
  }, [...deps, pollMs]);

  const reload = useCallback(() => load(true), [load]);
  return { data, error, loading, reload, setData };
}

/** Runs an action, tracking busy state and the last error. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = useCallback(async <R>(fn: () => Promise<R>): Promise<R | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(asApiError(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  /** Runs `fn`, then (only if it succeeded) `after`: the "save, close the dialog, reload"
   * shape most forms share. */
  const runThen = useCallback(
    async (fn: () => Promise<unknown>, after: () => unknown | Promise<unknown>) => {
      const ok = await run(async () => {
        await fn();
        return true;
      });
      if (ok) await after();
    },
    [run],
  );
  return { busy, error, setError, run, runThen };
}
