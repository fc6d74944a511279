import { lazy, Suspense, useState, type DragEvent } from 'react';
import { useSearchParams } from 'react-router';
import { api, type ArchiveFormat, type FileEntry, type UploadProgress } from '../../api';
import { ConfirmDialog, Dialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { Spinner } from '../../components/Spinner';
import type { ServerAccess } from '../../lib/access';
import { formatBytes, formatDate, joinPath, parentPath } from '../../lib/format';
import { useAction, useApi } from '../../lib/useApi';

const CodeEditor = lazy(() => import('../../components/CodeEditor'));

const ARCHIVE = /\.(zip|tar|tar\.gz|tgz|tar\.xz|tar\.bz2|gz)$/i;

type Pending =
  | { kind: 'mkdir' }
  | { kind: 'rename'; entry: FileEntry }
  | { kind: 'delete'; paths: string[] }
  | { kind: 'compress'; paths: string[] }
  | { kind: 'extract'; entry: FileEntry }
  | null;

function sortEntries(entries: FileEntry[]): FileEntry[] {
  return entries.slice().sort((a, b) => {
    const da = a.kind === 'dir' ? 0 : 1;
    const db = b.kind === 'dir' ? 0 : 1;
    return da - db || a.name.localeCompare(b.name);
  });
}

function Breadcrumbs({ path, onGo }: { path: string; onGo: (p: string) => void }) {
  const parts = path.split('/').filter(Boolean);
  return (
    <nav className="breadcrumbs" aria-label="Current folder">
      <button type="button" onClick={() => onGo('/')}>
        /
      </button>
      {parts.map((part, i) => {
        const to = '/' + parts.slice(0, i + 1).join('/');
        return (
          <span key={to}>
            <button type="button" onClick={() => onGo(to)} aria-current={i === parts.length - 1 ? 'location' : undefined}>
              {part}
            </button>
            {i < parts.length - 1 && '/'}
          </span>
        );
      })}
    </nav>
  );
}

function EditorView({
  serverId,
  path,
  writable,
  onClose,
}: {
  serverId: string;
  path: string;
  writable: boolean;
  onClose: () => void;
}) {
  const file = useApi(() => api.files.read(serverId, path), [serverId, path]);
  const [text, setText] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const save = useAction();
  const dirty = text !== null && text !== file.data;
  const doSave = () => {
    if (text === null || !writable) return;
    void save.run(async () => {
      await api.files.write(serverId, path, text);
      file.setData(text);
      setSaved(true);
    });
  };
  return (
    <div>
      <div className="toolbar">
        <button type="button" className="btn" onClick={onClose}>
          ← Back to folder
        </button>
        <code>{path}</code>
        <span className="muted" role="status">
          {dirty ? 'Unsaved changes' : saved ? 'Saved' : ''}
        </span>
        {writable && (
          <button
            type="button"
            className="btn btn-primary"
            style={{ marginLeft: 'auto' }}
            disabled={!dirty || save.busy}
            onClick={doSave}
          >
            {save.busy ? 'Saving…' : 'Save'}
          </button>
        )}
      </div>
      <ErrorMessage error={file.error ?? save.error} onDismiss={() => save.setError(null)} />
      {file.data !== undefined && (
        <Suspense fallback={<Spinner label="Loading editor" />}>
          <CodeEditor
            path={path}
            initial={file.data}
            readOnly={!writable}
            onChange={(t) => {
              setText(t);
              setSaved(false);
            }}
            onSave={doSave}
          />
        </Suspense>
      )}
      {file.loading && <Spinner label="Opening file" />}
    </div>
  );
}

export function FilesTab({ serverId, access }: { serverId: string; access: ServerAccess }) {
  const [params, setParams] = useSearchParams();
  const path = params.get('path') || '/';
  const editing = params.get('edit');
  const list = useApi(() => api.files.list(serverId, path), [serverId, path]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [pending, setPending] = useState<Pending>(null);
  const [name, setName] = useState('');
  const [format, setFormat] = useState<ArchiveFormat>('tar.gz');
  const [dragging, setDragging] = useState(false);
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const action = useAction();

  const go = (p: string) => {
    setSelected(new Set());
    setParams({ path: p });
  };
  const open = (e: FileEntry) => (e.kind === 'dir' ? go(e.path) : setParams({ path, edit: e.path }));

  if (editing) {
    return <EditorView serverId={serverId} path={editing} writable={access.writeFiles} onClose={() => setParams({ path })} />;
  }

  const finish = (fn: () => Promise<unknown>) =>
    action.runThen(fn, async () => {
      setPending(null);
      setSelected(new Set());
      await list.reload();
    });

  const upload = (files: File[]) => {
    if (!files.length || !access.writeFiles) return;
    setProgress({ loaded: 0, total: files.reduce((n, f) => n + f.size, 0) });
    void finish(() => api.files.upload(serverId, path, files, setProgress)).finally(() => setProgress(null));
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    upload(Array.from(e.dataTransfer.files));
  };

  const entries = sortEntries(list.data ?? []);
  const chosen = [...selected];
  const startDialog = (p: Pending, initialName = '') => {
    action.setError(null);
    setName(initialName);
    setPending(p);
  };

  return (
    <div
      className={dragging ? 'dropzone dragging' : 'dropzone'}
      onDragOver={(e) => {
        if (!access.writeFiles) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={onDrop}
    >
      <div className="toolbar">
        <Breadcrumbs path={path} onGo={go} />
        <div className="btn-group" style={{ marginLeft: 'auto' }}>
          {access.writeFiles && (
            <>
              <button type="button" className="btn btn-small" onClick={() => startDialog({ kind: 'mkdir' })}>
                New folder
              </button>
              <label className="btn btn-small">
                Upload
                <input
                  type="file"
                  multiple
                  className="sr-only"
                  onChange={(e) => {
                    upload(Array.from(e.target.files ?? []));
                    e.target.value = '';
                  }}
                />
              </label>
            </>
          )}
          {access.archiveFiles && (
            <button
              type="button"
              className="btn btn-small"
              disabled={chosen.length === 0}
              onClick={() => startDialog({ kind: 'compress', paths: chosen }, 'archive')}
            >
              Compress
            </button>
          )}
          {access.deleteFiles && (
            <button
              type="button"
              className="btn btn-small btn-danger"
              disabled={chosen.length === 0}
              onClick={() => startDialog({ kind: 'delete', paths: chosen })}
            >
              Delete
            </button>
          )}
        </div>
      </div>
      {progress && (
        <div className="alert alert-info" role="status">
          <div className="alert-body">
            Uploading… {formatBytes(progress.loaded)} of {formatBytes(progress.total)}
            <progress className="progress" max={progress.total || 1} value={progress.loaded} aria-label="Upload progress" />
          </div>
        </div>
      )}
      <ErrorMessage error={pending ? null : (action.error ?? list.error)} onDismiss={() => action.setError(null)} />
      {list.loading && !list.data ? (
        <Spinner label="Loading files" />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th style={{ width: 32 }}>
                  <span className="sr-only">Select</span>
                </th>
                <th>Name</th>
                <th className="num">Size</th>
                <th>Modified</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {path !== '/' && (
                <tr>
                  <td />
                  <td colSpan={4}>
                    <button type="button" className="btn-link" onClick={() => go(parentPath(path))}>
                      ↑ Parent folder
                    </button>
                  </td>
                </tr>
              )}
              {entries.length === 0 && (
                <tr>
                  <td colSpan={5} className="muted">
                    This folder is empty.{access.writeFiles && ' Drop files here to upload them.'}
                  </td>
                </tr>
              )}
              {entries.map((e) => (
                <tr key={e.path}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select ${e.name}`}
                      checked={selected.has(e.path)}
                      onChange={(ev) => {
                        const next = new Set(selected);
                        if (ev.target.checked) next.add(e.path);
                        else next.delete(e.path);
                        setSelected(next);
                      }}
                    />
                  </td>
                  <td>
                    <button type="button" className="btn-link file-name" onClick={() => open(e)}>
                      <span aria-hidden="true">{e.kind === 'dir' ? '📁' : e.kind === 'symlink' ? '🔗' : '📄'}</span>
                      {e.name}
                    </button>
                  </td>
                  <td className="num">{e.kind === 'dir' ? '—' : formatBytes(e.size)}</td>
                  <td>{formatDate(e.modified)}</td>
                  <td>
                    <div className="btn-group">
                      {e.kind === 'file' && (
                        <a className="btn btn-small" href={api.files.downloadUrl(serverId, e.path)} download={e.name}>
                          Download
                        </a>
                      )}
                      {access.archiveFiles && e.kind === 'file' && ARCHIVE.test(e.name) && (
                        <button
                          type="button"
                          className="btn btn-small"
                          onClick={() => startDialog({ kind: 'extract', entry: e }, path)}
                        >
                          Extract
                        </button>
                      )}
                      {access.writeFiles && (
                        <button
                          type="button"
                          className="btn btn-small"
                          onClick={() => startDialog({ kind: 'rename', entry: e }, e.name)}
                        >
                          Rename
                        </button>
                      )}
                      {access.deleteFiles && (
                        <button
                          type="button"
                          className="btn btn-small btn-danger"
                          aria-label={`Delete ${e.name}`}
                          onClick={() => startDialog({ kind: 'delete', paths: [e.path] })}
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

      <ConfirmDialog
        open={pending?.kind === 'delete'}
        title="Delete files"
        message={
          pending?.kind === 'delete'
            ? `Delete ${pending.paths.length === 1 ? pending.paths[0] : `${pending.paths.length} items`}? This cannot be undone.`
            : ''
        }
        confirmLabel="Delete"
        busy={action.busy}
        onClose={() => setPending(null)}
        onConfirm={() => pending?.kind === 'delete' && void finish(() => api.files.remove(serverId, pending.paths))}
        error={action.error}
      />

      <Dialog
        open={!!pending && pending.kind !== 'delete'}
        title={
          pending?.kind === 'mkdir'
            ? 'New folder'
            : pending?.kind === 'rename'
              ? `Rename ${pending.entry.name}`
              : pending?.kind === 'compress'
                ? `Compress ${pending.paths.length} item(s)`
                : pending?.kind === 'extract'
                  ? `Extract ${pending.entry.name}`
                  : ''
        }
        onClose={() => setPending(null)}
      >
        <form
          onSubmit={(ev) => {
            ev.preventDefault();
            const n = name.trim();
            if (!pending || !n) return;
            if (pending.kind === 'mkdir') void finish(() => api.files.mkdir(serverId, joinPath(path, n)));
            if (pending.kind === 'rename')
              void finish(() => api.files.rename(serverId, pending.entry.path, joinPath(parentPath(pending.entry.path), n)));
            if (pending.kind === 'compress')
              void finish(() => api.files.compress(serverId, pending.paths, joinPath(path, `${n}.${format}`), format));
            if (pending.kind === 'extract') void finish(() => api.files.decompress(serverId, pending.entry.path, n));
          }}
        >
          <ErrorMessage error={action.error} />
          <Field
            label={pending?.kind === 'extract' ? 'Extract into folder' : pending?.kind === 'compress' ? 'Archive name' : 'Name'}
            required
            autoFocus
            value={name}
            onChange={(e) => setName(e.target.value)}
            errors={
              action.error
                ? [...action.error.field('path'), ...action.error.field('to'), ...action.error.field('destination')]
                : undefined
            }
          />
          {pending?.kind === 'compress' && (
            <div className="field">
              <label htmlFor="archive-format">Format</label>
              <select id="archive-format" value={format} onChange={(e) => setFormat(e.target.value as ArchiveFormat)}>
                <option value="tar.gz">tar.gz</option>
                <option value="zip">zip</option>
              </select>
            </div>
          )}
          <div className="actions">
            <button type="button" className="btn" onClick={() => setPending(null)}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={action.busy}>
              {pending?.kind === 'mkdir'
                ? 'Create'
                : pending?.kind === 'rename'
                  ? 'Rename'
                  : pending?.kind === 'compress'
                    ? 'Compress'
                    : 'Extract'}
            </button>
          </div>
        </form>
      </Dialog>
    </div>
  );
}
