import { useState } from 'react';
import { api } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Pagination } from '../../components/Pagination';
import { Spinner } from '../../components/Spinner';
import { formatDate } from '../../lib/format';
import { useApi } from '../../lib/useApi';

const PER_PAGE = 50;

export function AuditPage() {
  const [page, setPage] = useState(1);
  const log = useApi(() => api.audit({ page, perPage: PER_PAGE }), [page]);
  const items = log.data?.items ?? [];
  return (
    <section className="page">
      <div className="page-head">
        <h1>Audit log</h1>
        <button type="button" className="btn" onClick={() => void log.reload()}>
          Refresh
        </button>
      </div>
      <ErrorMessage error={log.error} />
      {log.loading && !log.data ? (
        <Spinner label="Loading the audit log" />
      ) : items.length === 0 ? (
        <div className="empty">Nothing recorded yet.</div>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>Action</th>
                <th>Target</th>
                <th>IP</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id}>
                  <td>{formatDate(e.createdAt)}</td>
                  <td>{e.user?.username ?? <span className="muted">system</span>}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>
                    {e.targetType ? (
                      <>
                        {e.targetType} <code className="muted">{e.targetId}</code>
                      </>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>{e.ip ?? '—'}</td>
                  <td>
                    {e.details != null && (typeof e.details !== 'object' || Object.keys(e.details as object).length > 0) ? (
                      <details>
                        <summary>View</summary>
                        <pre className="json">{JSON.stringify(e.details, null, 2)}</pre>
                        {e.requestId && <small className="muted">request {e.requestId}</small>}
                      </details>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {log.data && <Pagination page={page} perPage={PER_PAGE} total={log.data.total} onPage={setPage} />}
    </section>
  );
}
