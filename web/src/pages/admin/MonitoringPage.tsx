import { api, type ServerCounts } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Spinner } from '../../components/Spinner';
import { StateBadge } from '../../components/StateBadge';
import { formatAgo, formatBytes, formatDate, formatMb, formatPercent, formatUptime } from '../../lib/format';
import { useApi } from '../../lib/useApi';

function Counts({ counts }: { counts: ServerCounts }) {
  const states = Object.entries(counts.states);
  if (counts.total === 0) return <span className="muted">none</span>;
  return (
    <span>
      {counts.total} ({states.map(([s, n]) => `${n} ${s}`).join(', ')})
    </span>
  );
}

export function MonitoringPage() {
  const health = useApi(() => api.monitoring.health(), [], 10000);
  const overview = useApi(() => api.monitoring.overview(), [], 5000);
  const h = health.data;
  const o = overview.data;
  return (
    <section className="page">
      <div className="page-head">
        <h1>Monitoring</h1>
      </div>
      <ErrorMessage error={health.error ?? overview.error} />
      {!h && !o && (health.loading || overview.loading) && <Spinner label="Checking health" />}
      <div className="stats-row">
        {h && (
          <>
            <div className="card stat">
              <div className="stat-label">Panel</div>
              <div className="stat-value">
                <StateBadge state={h.status} />
              </div>
              <small className="muted">as of {formatDate(h.timestamp)}</small>
            </div>
            <div className="card stat">
              <div className="stat-label">Database</div>
              <div className="stat-value">{h.details.database ? 'Reachable' : 'Unreachable'}</div>
              <small className="muted">
                {o?.panel.database}
                {h.details.databaseLatencyMs != null && ` · ${h.details.databaseLatencyMs.toFixed(1)} ms`}
              </small>
            </div>
            <div className="card stat">
              <div className="stat-label">Agents</div>
              <div className="stat-value">
                {h.details.agents.online} / {h.details.agents.total} online
              </div>
              <small className="muted">
                {h.details.agents.degraded} degraded · {h.details.agents.offline} offline
              </small>
            </div>
          </>
        )}
        {o && (
          <div className="card stat">
            <div className="stat-label">Panel process</div>
            <div className="stat-value">{formatBytes(o.panel.rssBytes)}</div>
            <small className="muted">
              CPU {formatPercent(o.panel.cpuPercent)} · up {formatUptime(o.panel.uptime)} · v{o.panel.version}
            </small>
          </div>
        )}
      </div>
      {o && (
        <>
          <h2>Servers</h2>
          <p>
            <Counts counts={o.servers} />
            {o.unassigned.total > 0 && <span className="field-error"> · {o.unassigned.total} on deleted nodes</span>}
          </p>
          <h2>Nodes</h2>
          {o.nodes.length === 0 ? (
            <p className="muted">No nodes yet.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Node</th>
                    <th>Status</th>
                    <th>Last seen</th>
                    <th className="num">Memory</th>
                    <th className="num">Disk</th>
                    <th>Servers</th>
                  </tr>
                </thead>
                <tbody>
                  {o.nodes.map((n) => (
                    <tr key={n.id}>
                      <td>{n.name}</td>
                      <td>
                        <StateBadge state={n.status} />
                      </td>
                      <td>{formatAgo(n.lastSeenAt)}</td>
                      <td className="num">{formatMb(n.memoryMb)}</td>
                      <td className="num">{formatMb(n.diskMb)}</td>
                      <td>
                        <Counts counts={n.servers} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
