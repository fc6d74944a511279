import { Link } from 'react-router';
import { api } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Pagination } from '../../components/Pagination';
import { SearchBox, useListQuery } from '../../components/SearchBox';
import { Spinner } from '../../components/Spinner';
import { StateBadge } from '../../components/StateBadge';
import { formatMb } from '../../lib/format';
import { useApi } from '../../lib/useApi';

const PER_PAGE = 25;

export function AdminServersPage() {
  const { filter, setFilter, query, page, setPage } = useListQuery();
  const list = useApi(() => api.servers.list({ page, perPage: PER_PAGE, name: query }), [page, query], 10000);
  const items = list.data?.items ?? [];
  return (
    <section className="page">
      <div className="page-head">
        <h1>All servers</h1>
        <Link className="btn btn-primary" to="/admin/servers/new">
          Create server
        </Link>
      </div>
      <SearchBox label="Filter servers" value={filter} onChange={setFilter} />
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? (
        <Spinner label="Loading servers" />
      ) : items.length === 0 ? (
        <div className="empty">
          <h2>No servers</h2>
          <p>
            <Link to="/admin/servers/new">Create one</Link> on a node with a template.
          </p>
        </div>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>State</th>
                <th>Owner</th>
                <th>Node</th>
                <th>Template</th>
                <th>Address</th>
                <th className="num">Memory</th>
                <th className="num">Disk</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`/servers/${s.id}`}>{s.name}</Link>
                  </td>
                  <td>
                    <StateBadge state={s.state} />
                  </td>
                  <td>{s.owner.username}</td>
                  <td>{s.node?.name ?? '—'}</td>
                  <td>{s.alt.name}</td>
                  <td>
                    <code>{s.allocation ? `${s.allocation.ip}:${s.allocation.port}` : '—'}</code>
                  </td>
                  <td className="num">{formatMb(s.limits.memoryMb)}</td>
                  <td className="num">{formatMb(s.limits.diskMb)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && <Pagination page={page} perPage={PER_PAGE} total={list.data.total} onPage={setPage} />}
    </section>
  );
}
