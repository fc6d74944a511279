import { useState } from 'react';
import { api, type Backup } from '../../api';
import { ConfirmDialog, Dialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { Spinner } from '../../components/Spinner';
import type { ServerAccess } from '../../lib/access';
import { formatBytes, formatDate } from '../../lib/format';
import { useAction, useApi } from '../../lib/useApi';

/** How often the list is read again while a backup or restore runs. */
const POLL_MS = 1000;

const running = (b: Backup) => b.status === 'pending' || b.status === 'running';

function Status({ backup }: { backup: Backup }) {
  if (running(backup)) {
    return (
      <div>
        <span className="tag">{backup.status}</span>{' '}
        <span className="muted">
          {backup.files} files, {formatBytes(backup.bytes)}
        </span>
        <progress className="progress" aria-label={`Progress of ${backup.name}`} />
      </div>
    );
  }
  if (backup.status === 'failed') {
    return (
      <span className="field-error" title={backup.error ?? undefined}>
        failed{backup.error ? `: ${backup.error}` : ''}
      </span>
    );
  }
  return <span className="tag">completed</span>;
}

/** A server's backups: list with progress, create, lock, download, restore, delete. */
export function BackupsTab({ serverId, access }: { serverId: string; access: ServerAccess }) {
  const [polling, setPolling] = useState(false);
  const list = useApi(
    async () => {
      const data = await api.backups.list(serverId);
      setPolling(data.items.some(running));
      return data;
    },
    [serverId],
    polling ? POLL_MS : undefined,
  );
  const action = useAction();
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [ignored, setIgnored] = useState('');
  const [restoring, setRestoring] = useState<Backup | null>(null);
  const [truncate, setTruncate] = useState(false);
  const [removing, setRemoving] = useState<Backup | null>(null);
  const [notice, setNotice] = useState('');
  const items = list.data?.items ?? [];
  const limit = list.data?.policy.limit ?? 0;
  const held = items.filter((b) => b.status !== 'failed').length;

  const apply = (fn: () => Promise<unknown>, after?: () => void) =>
    action.runThen(fn, async () => {
      setCreating(false);
      setRestoring(null);
      setRemoving(null);
      after?.();
      await list.reload();
    });

  const create = () =>
    apply(
      () =>
        api.backups.create(serverId, {
          name: name.trim() || undefined,
          ignored: ignored
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean),
        }),
      () => {
        setName('');
        setIgnored('');
        setPolling(true);
      },
    );

  return (
    <div>
      <div className="toolbar">
        <p className="muted" style={{ margin: 0 }} data-testid="backup-room">
          {list.data ? `${held} of ${limit} backups kept.` : ''}
          {list.data?.policy.keepLast ? ` The newest ${list.data.policy.keepLast} are kept.` : ''}
          {list.data?.policy.keepDays ? ` Backups older than ${list.data.policy.keepDays} days are removed.` : ''}
        </p>
        {access.createBackups && (
          <button
            type="button"
            className="btn btn-primary"
            style={{ marginLeft: 'auto' }}
            disabled={held >= limit || items.some(running)}
            onClick={() => {
              action.setError(null);
              setCreating(true);
            }}
          >
            Create backup
          </button>
        )}
      </div>
      {notice && (
        <div className="alert" role="status">
          <div className="alert-body">{notice}</div>
        </div>
      )}
      <ErrorMessage error={list.error ?? (creating || restoring || removing ? null : action.error)} />
      {list.loading && !list.data ? (
        <Spinner label="Loading backups" />
      ) : items.length === 0 ? (
        <div className="empty">This server has no backups yet.</div>
      ) : (
        <div className="table-wrap">
          <table aria-label="Backups">
            <thead>
              <tr>
                <th>Name</th>
                <th>Size</th>
                <th>Status</th>
                <th>Created</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((b) => (
                <tr key={b.id} data-testid="backup">
                  <td>
                    {b.name} {b.adapter === 's3' && <span className="tag">S3</span>}
                    {b.locked && <span className="tag">locked</span>}
                  </td>
                  <td>{b.size != null ? formatBytes(b.size) : '—'}</td>
                  <td>
                    <Status backup={b} />
                  </td>
                  <td>{formatDate(b.createdAt)}</td>
                  <td>
                    <div className="btn-group">
                      {b.status === 'completed' && (
                        <a className="btn btn-small" href={api.backups.downloadUrl(serverId, b.id)} download>
                          Download
                        </a>
                      )}
                      {b.status === 'completed' && access.restoreBackups && (
                        <button
                          type="button"
                          className="btn btn-small"
                          onClick={() => {
                            action.setError(null);
                            setTruncate(false);
                            setRestoring(b);
                          }}
                        >
                          Restore
                        </button>
                      )}
                      {access.deleteBackups && (
                        <button
                          type="button"
                          className="btn btn-small"
                          aria-pressed={b.locked}
                          disabled={action.busy}
                          onClick={() => void apply(() => api.backups.setLocked(serverId, b.id, !b.locked))}
                        >
                          {b.locked ? 'Unlock' : 'Lock'}
                        </button>
                      )}
                      {access.deleteBackups && !running(b) && (
                        <button
                          type="button"
                          className="btn btn-small btn-danger"
                          disabled={b.locked}
                          title={b.locked ? 'Unlock it first' : undefined}
                          onClick={() => {
                            action.setError(null);
                            setRemoving(b);
                          }}
                        >
                          Delete
                        </button>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog open={creating} title="Create backup" onClose={() => setCreating(false)}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void create();
          }}
        >
          <ErrorMessage error={action.error} />
          <Field
            label="Name"
            hint="Optional; the date and time by default."
            maxLength={191}
            autoFocus
            value={name}
            onChange={(e) => setName(e.target.value)}
            errors={action.error?.field('name')}
          />
          <div className="field">
            <label htmlFor="backup-ignored">Ignored files</label>
            <textarea
              id="backup-ignored"
              rows={4}
              placeholder={'logs/\n*.tmp'}
              value={ignored}
              onChange={(e) => setIgnored(e.target.value)}
            />
            <small className="muted">
              One pattern a line, gitignore syntax; <code>.capignore</code> and <code>.pteroignore</code> in the server directory
              count too.
            </small>
          </div>
          <div className="actions">
            <button type="button" className="btn" onClick={() => setCreating(false)}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={action.busy}>
              Start backup
            </button>
          </div>
        </form>
      </Dialog>
      <ConfirmDialog
        open={!!restoring}
        title="Restore backup"
        message={`Restore "${restoring?.name ?? ''}"? The server is stopped first if it runs, and stays stopped.`}
        confirmLabel="Restore"
        busy={action.busy}
        onClose={() => setRestoring(null)}
        onConfirm={() =>
          restoring &&
          void apply(
            () => api.backups.restore(serverId, restoring.id, truncate),
            () => setNotice(`Restoring "${restoring.name}"; the console tells when it is done.`),
          )
        }
        error={action.error}
      >
        <label className="check">
          <input type="checkbox" checked={truncate} onChange={(e) => setTruncate(e.target.checked)} />
          Delete every file of the server first (otherwise files the backup does not hold are kept)
        </label>
      </ConfirmDialog>
      <ConfirmDialog
        open={!!removing}
        title="Delete backup"
        message={`Delete "${removing?.name ?? ''}"? Its archive is removed for good.`}
        confirmLabel="Delete"
        busy={action.busy}
        onClose={() => setRemoving(null)}
        onConfirm={() => removing && void apply(() => api.backups.remove(serverId, removing.id))}
        error={action.error}
      />
    </div>
  );
}
