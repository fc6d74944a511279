/** Reconnect delay policy: exponential from `baseMs`, capped at `maxMs`, with up to
 * `jitter` (fraction) random spread so many tabs do not reconnect in lockstep. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
  jitter: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 500, maxMs: 15_000, jitter: 0.2 };

/** Delay before reconnect attempt `attempt` (0 = first retry). `random` is injectable so
 * the policy can be checked exactly. */
export function backoffDelay(attempt: number, policy: Backoff = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt));
  const spread = exp * policy.jitter * (random() * 2 - 1);
  return Math.max(0, Math.min(policy.maxMs, Math.round(exp + spread)));
}
