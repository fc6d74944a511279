const LABELS: Record<string, string> = {
  offline: 'Offline',
  installing: 'Installing',
  install_failed: 'Install failed',
  starting: 'Starting',
  running: 'Running',
  stopping: 'Stopping',
  crashed: 'Crashed',
  online: 'Online',
  degraded: 'Degraded',
  unknown: 'Unknown',
  healthy: 'Healthy',
  unhealthy: 'Unhealthy',
};

/** Coloured dot + word for a server, node or health state (never colour alone). */
export function StateBadge({ state }: { state: string }) {
  return (
    <span className={`badge badge-${state}`}>
      <span className="dot" aria-hidden="true" />
      {LABELS[state] ?? state}
    </span>
  );
}
