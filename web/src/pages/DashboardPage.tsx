import { Link } from 'react-router';
import { api, normalizeStats } from '../api';
import { useAuth } from '../auth/AuthContext';
import { ErrorMessage } from '../components/ErrorMessage';
import { Pagination } from '../components/Pagination';
import { SearchBox, useListQuery } from '../components/SearchBox';
import { playersCount } from '../components/PlayersCount';
import { PowerButtons } from '../components/PowerButtons';
import { Spinner } from '../components/Spinner';
import { StateBadge } from '../components/StateBadge';
import { formatBytes, formatPercent } from '../lib/format';
import { useApi } from '../lib/useApi';

const PER_PAGE = 25;
export function DashboardPage() {
  const { session, can } = useAuth();
  const { filter, setFilter, query, page, setPage } = useListQuery();
  const list = useApi(() => api.servers.list({ page, perPage: PER_PAGE, name: query }), [page, query], 5000);
  const items = list.data?.items ?? [];
  // Only an empty dashboard asks whether a node exists, to say what to do first.
  const empty = !!list.data && list.data.total === 0 && !query;
  const nodes = useApi(() => (empty && can('admin:nodes') ? api.nodes.list({ perPage: 1 }) : Promise.resolve(null)), [empty]);
  const needsNode = nodes.data?.total === 0;

  return (
    <section className="page">
      <div className="page-head">
        <h1>Servers</h1>
        {can('server:create') && (
          <Link className="btn btn-primary" to="/admin/servers/new">
            New server
          </Link>
        )}
      </div>
      <SearchBox label="Filter servers by name" value={filter} onChange={setFilter} />
      <ErrorMessage error={list.error} />
      {!list.data ? (
        list.loading && <Spinner label="Loading servers" />
      ) : items.length === 0 ? (
        <div className="empty" data-testid="empty-servers">
          {query ? (
            <p>No server matches “{query}”.</p>
          ) : (
            <>
              <h2>No servers yet</h2>
              {can('server:create') ? (
                <p>
                  {needsNode ? (
                    <>
                      Add a <Link to="/admin/nodes">node</Link> (a machine running the agent), then{' '}
                    </>
                  ) : (
                    'Pick a template and node to '
                  )}
                  <Link to="/admin/servers/new">create your first server</Link>.
                </p>
              ) : (
                <p>
                  Hi {session?.user.username}! You have no servers yet. Ask your host or an administrator to create one for you or
                  to invite you to theirs — it will show up here.
                </p>
              )}
            </>
          )}
        </div>
      ) : (
        <ul className="server-grid">
          {items.map((s) => {
            const st = normalizeStats(s.stats);
            return (
              <li key={s.id} className="card server-card">
                <div className="server-card-head">
                  <Link to={`/servers/${s.id}`} className="server-name">
                    {s.name}
                  </Link>
                  <StateBadge state={s.state} />
                </div>
                <dl className="kv">
                  <dt>Node</dt>
                  <dd>{s.node ? s.node.name : '—'}</dd>
                  <dt>Address</dt>
                  <dd>
                    <code>{s.allocation ? `${s.allocation.ip}:${s.allocation.port}` : '—'}</code>
                  </dd>
                  <dt>Players</dt>
                  <dd data-testid="server-players">{playersCount(st?.players)}</dd>
                  <dt>CPU</dt>
                  <dd>{st ? formatPercent(st.cpuPercent) : '—'}</dd>
                  <dt>Memory</dt>
                  <dd>
                    {st
                      ? `${formatBytes(st.memoryBytes)} / ${formatBytes(st.memoryLimitBytes || s.limits.memoryMb * 1048576)}`
                      : '—'}
                  </dd>
                </dl>
                <PowerButtons server={s} compact onDone={() => void list.reload()} />
              </li>
            );
          })}
        </ul>
      )}
      {list.data && <Pagination page={page} perPage={PER_PAGE} total={list.data.total} onPage={setPage} />}
    </section>
  );
}
