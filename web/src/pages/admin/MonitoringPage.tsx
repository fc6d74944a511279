import { api, itemsOf } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Spinner } from '../../components/Spinner';
import { StateBadge } from '../../components/StateBadge';
import { formatBytes, formatDate, formatPercent, formatUptime } from '../../lib/format';
import { useApi } from '../../lib/useApi';

function usage(used?: number, total?: number): string {
  if (used == null) return '—';
  return total ? `${formatBytes(used)} / ${formatBytes(total)}` : formatBytes(used);
}

export function MonitoringPage() {
  const health = useApi(() => api.monitoring.health(), [], 10000);
  const nodes = useApi(() => api.monitoring.nodes(), [], 5000);
  const h = health.data;
  const db = h ? (typeof h.details.database === 'string' ? h.details.database : h.details.database.status) : '';
  const items = itemsOf(nodes.data);
  return (
    <section className="page">
      <div className="page-head">
        <h1>Monitoring</h1>
      </div>
      <ErrorMessage error={health.error ?? nodes.error} />
      {!h && health.loading ? (
        <Spinner label="Checking health" />
      ) : (
        h && (
          <div className="stats-row">
            <div className="card stat">
              <div className="stat-label">Panel</div>
              <div className="stat-value">
                <StateBadge state={h.status} />
              </div>
              <small className="muted">as of {formatDate(h.timestamp)}</small>
            </div>
            <div className="card stat">
              <div className="stat-label">Database</div>
              <div className="stat-value">{db}</div>
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
            <div className="card stat">
              <div className="stat-label">Uptime</div>
              <div className="stat-value">{formatUptime(h.details.uptime)}</div>
            </div>
          </div>
        )
      )}
      <h2>Nodes</h2>
      {items.length === 0 ? (
        <p className="muted">{nodes.loading ? 'Loading…' : 'No nodes to report.'}</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Node</th>
                <th>Status</th>
                <th className="num">CPU</th>
                <th className="num">Memory</th>
                <th className="num">Disk</th>
                <th className="num">Servers</th>
              </tr>
            </thead>
            <tbody>
              {items.map((n) => (
                <tr key={n.id}>
                  <td>{n.name}</td>
                  <td>
                    <StateBadge state={n.status} />
                  </td>
                  <td className="num">{formatPercent(n.cpuPercent)}</td>
                  <td className="num">{usage(n.memoryUsedBytes, n.memoryTotalBytes)}</td>
                  <td className="num">{usage(n.diskUsedBytes, n.diskTotalBytes)}</td>
                  <td className="num">
                    {n.runningServers != null ? `${n.runningServers} running / ` : ''}
                    {n.serverCount ?? '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
