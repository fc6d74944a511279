import { useState } from 'react';
import { api, type Schedule, type ScheduleTrigger } from '../../api';
import { ConfirmDialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Spinner } from '../../components/Spinner';
import { formatDate } from '../../lib/format';
import { useAction, useApi } from '../../lib/useApi';
import { ScheduleEditor } from './ScheduleEditor';

function describeTrigger(t: ScheduleTrigger): string {
  switch (t.type) {
    case 'cron':
      return `cron ${t.expression} (${t.timezone})`;
    case 'console_line':
      return `console line matching ${t.pattern}`;
    case 'backup_finished':
      return 'a backup finished';
    default:
      return `server ${t.type}`;
  }
}

/** The runs of one schedule, newest first, with each task's outcome and error. */
function History({ serverId, schedule }: { serverId: string; schedule: Schedule }) {
  const [page, setPage] = useState(1);
  const runs = useApi(() => api.servers.scheduleRuns(serverId, schedule.id, page), [serverId, schedule.id, page], 5000);
  const items = runs.data?.items ?? [];
  const pages = runs.data ? Math.max(1, Math.ceil(runs.data.total / runs.data.perPage)) : 1;
  return (
    <section aria-label={`History of ${schedule.name}`}>
      <h3>History of {schedule.name}</h3>
      <ErrorMessage error={runs.error} />
      {items.length === 0 ? (
        <div className="empty">No runs yet.</div>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Started</th>
                <th>Trigger</th>
                <th>Outcome</th>
                <th>Tasks</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id}>
                  <td>{formatDate(r.startedAt)}</td>
                  <td>{r.trigger}</td>
                  <td>
                    {r.outcome}
                    {r.error && <div className="field-error">{r.error}</div>}
                  </td>
                  <td>
                    <ol>
                      {r.tasks.map((t, i) => (
                        <li key={i}>
                          {t.type}: {t.outcome}
                          {t.error && <span className="field-error"> {t.error}</span>}
                        </li>
                      ))}
                    </ol>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="btn-group">
        <button type="button" className="btn btn-small" disabled={page <= 1} onClick={() => setPage(page - 1)}>
          Newer
        </button>
        <button type="button" className="btn btn-small" disabled={page >= pages} onClick={() => setPage(page + 1)}>
          Older
        </button>
      </div>
    </section>
  );
}

/** A server's schedules, run by its node: list, editor, run now, history. */
export function SchedulesTab({ serverId }: { serverId: string }) {
  const list = useApi(() => api.servers.schedules(serverId), [serverId]);
  const [editing, setEditing] = useState<Schedule | 'new' | null>(null);
  const [removing, setRemoving] = useState<Schedule | null>(null);
  const [watching, setWatching] = useState<Schedule | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const action = useAction();
  const schedules = list.data ?? [];

  if (editing)
    return (
      <ScheduleEditor
        serverId={serverId}
        schedule={editing === 'new' ? null : editing}
        onCancel={() => setEditing(null)}
        onSaved={async () => {
          setEditing(null);
          await list.reload();
        }}
      />
    );

  return (
    <div>
      <div className="toolbar">
        <p className="muted" style={{ margin: 0 }}>
          Schedules run on the node, also while the panel is down.
        </p>
        <button type="button" className="btn btn-primary" style={{ marginLeft: 'auto' }} onClick={() => setEditing('new')}>
          Add schedule
        </button>
      </div>
      <ErrorMessage error={list.error ?? action.error} />
      {notice && (
        <div className="alert alert-success" role="status">
          {notice}
        </div>
      )}
      {list.loading && !list.data ? (
        <Spinner label="Loading schedules" />
      ) : schedules.length === 0 ? (
        <div className="empty">No schedules yet.</div>
      ) : (
        <div className="table-wrap">
          <table aria-label="Schedules">
            <thead>
              <tr>
                <th>Name</th>
                <th>Trigger</th>
                <th>Tasks</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {schedules.map((s) => (
                <tr key={s.id}>
                  <td>
                    {s.name} {!s.active && <span className="muted">(inactive)</span>}
                  </td>
                  <td>{describeTrigger(s.trigger)}</td>
                  <td>{s.tasks.length}</td>
                  <td>
                    <div className="btn-group">
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() =>
                          void action.runThen(
                            () => api.servers.runSchedule(serverId, s.id),
                            () => {
                              setNotice(`${s.name} started.`);
                              setWatching(s);
                            },
                          )
                        }
                      >
                        Run {s.name} now
                      </button>
                      <button type="button" className="btn btn-small" onClick={() => setWatching(s)}>
                        History
                      </button>
                      <button type="button" className="btn btn-small" onClick={() => setEditing(s)}>
                        Edit
                      </button>
                      <button type="button" className="btn btn-small btn-danger" onClick={() => setRemoving(s)}>
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {watching && <History serverId={serverId} schedule={watching} />}
      <ConfirmDialog
        open={!!removing}
        title="Delete schedule"
        message={`Delete ${removing?.name ?? ''} and its history?`}
        confirmLabel="Delete"
        busy={action.busy}
        error={action.error}
        onClose={() => setRemoving(null)}
        onConfirm={() =>
          void action.runThen(
            () => api.servers.removeSchedule(serverId, removing!.id),
            async () => {
              if (watching?.id === removing?.id) setWatching(null);
              setRemoving(null);
              await list.reload();
            },
          )
        }
      />
    </div>
  );
}
