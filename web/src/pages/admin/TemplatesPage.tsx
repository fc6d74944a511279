import { useEffect, useState } from 'react';
import { api, itemsOf, type Alt, type Ctrl } from '../../api';
import { ConfirmDialog, Dialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { Spinner } from '../../components/Spinner';
import { useAction, useApi } from '../../lib/useApi';
import { AltEditor } from './AltEditor';

/** An egg pasted or uploaded: JSON is sent as an object, anything else (YAML) as text. */
export function parseEgg(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return t;
    }
  }
  return t;
}

function downloadJson(name: string, data: unknown) {
  const blob = new Blob([typeof data === 'string' ? data : JSON.stringify(data, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The name an egg gives itself, when it is a JSON document. */
function eggName(egg: unknown): string | null {
  return typeof egg === 'object' && egg !== null && typeof (egg as { name?: unknown }).name === 'string'
    ? (egg as { name: string }).name.trim()
    : null;
}

type Modal =
  | { kind: 'ctrl'; ctrl: Ctrl | null }
  /** A new template from an egg, or (`target`) an existing one updated from an egg. */
  | { kind: 'import'; target: Alt | null }
  | { kind: 'alt'; alt: Alt }
  | { kind: 'delete-ctrl'; ctrl: Ctrl }
  | { kind: 'delete-alt'; alt: Alt }
  | null;

export function TemplatesPage() {
  const ctrls = useApi(() => api.ctrls.list(), []);
  const [ctrlId, setCtrlId] = useState<string | null>(null);
  const alts = useApi(() => (ctrlId ? api.alts.list(ctrlId) : Promise.resolve([] as Alt[])), [ctrlId]);
  const [modal, setModal] = useState<Modal>(null);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [egg, setEgg] = useState('');
  /** What the last import or update did, shown in the import dialog. */
  const [imported, setImported] = useState<{ name: string; updated: boolean; warnings: string[] } | null>(null);
  const action = useAction();
  const ctrlItems = ctrls.data?.items ?? [];
  const current = ctrlItems.find((c) => c.id === ctrlId) ?? null;

  useEffect(() => {
    if (!ctrlId && ctrlItems.length > 0) setCtrlId(ctrlItems[0].id);
  }, [ctrlId, ctrlItems]);

  const open = (m: Modal) => {
    action.setError(null);
    if (m?.kind === 'ctrl') {
      setName(m.ctrl?.name ?? '');
      setDescription(m.ctrl?.description ?? '');
    }
    if (m?.kind === 'import') {
      setEgg('');
      setImported(null);
    }
    setModal(m);
  };
  const finish = (fn: () => Promise<unknown>) =>
    action.runThen(fn, async () => {
      setModal(null);
      await Promise.all([ctrls.reload(), alts.reload()]);
    });
  const importEgg = (target: Alt | null) =>
    action.runThen(
      async () => {
        const parsed = parseEgg(egg);
        const result = target
          ? await api.alts.updateFromEgg(target.id, parsed)
          : await api.alts.import(current?.id ?? '', parsed);
        setImported({ name: result.alt.name, updated: target !== null, warnings: result.warnings ?? [] });
      },
      () => alts.reload(),
    );
  // After "already has a template named …": the template of the egg's name, to update instead.
  const sameName =
    modal?.kind === 'import' && !modal.target && action.error?.code === 'CONFLICT'
      ? (itemsOf(alts.data).find((a) => a.name === eggName(parseEgg(egg))) ?? null)
      : null;

  return (
    <section className="page">
      <div className="page-head">
        <h1>Templates</h1>
        <div className="btn-group">
          <button type="button" className="btn" onClick={() => open({ kind: 'ctrl', ctrl: null })}>
            New category
          </button>
          <button
            type="button"
            className="btn btn-primary"
            disabled={!current}
            onClick={() => open({ kind: 'import', target: null })}
          >
            Import egg
          </button>
        </div>
      </div>
      <p className="muted">
        A <strong>ctrl</strong> is a category (e.g. Minecraft); its <strong>alts</strong> are the concrete templates (e.g. Paper,
        Vanilla). Pterodactyl and Pelican eggs import as alts.
      </p>
      <ErrorMessage error={ctrls.error ?? alts.error} />
      {ctrls.loading && !ctrls.data ? (
        <Spinner label="Loading templates" />
      ) : ctrlItems.length === 0 ? (
        <div className="empty">
          <h2>No templates</h2>
          <p>Create a category, then import an egg into it.</p>
        </div>
      ) : (
        <div className="grid-2" style={{ gridTemplateColumns: 'minmax(200px, 1fr) minmax(280px, 3fr)' }}>
          <div className="card">
            <h2 style={{ marginTop: 0 }}>Categories</h2>
            <ul className="choice-list" style={{ gridTemplateColumns: '1fr' }}>
              {ctrlItems.map((c) => (
                <li key={c.id} style={{ listStyle: 'none' }}>
                  <label className="choice">
                    <input type="radio" name="ctrl" checked={c.id === ctrlId} onChange={() => setCtrlId(c.id)} />
                    <span>
                      <strong>{c.name}</strong>
                      {c.description && (
                        <small className="muted" style={{ display: 'block' }}>
                          {c.description}
                        </small>
                      )}
                    </span>
                  </label>
                </li>
              ))}
            </ul>
            {current && (
              <div className="btn-group">
                <button type="button" className="btn btn-small" onClick={() => open({ kind: 'ctrl', ctrl: current })}>
                  Edit category
                </button>
                <button
                  type="button"
                  className="btn btn-small btn-danger"
                  onClick={() => open({ kind: 'delete-ctrl', ctrl: current })}
                >
                  Delete category
                </button>
              </div>
            )}
          </div>
          <div>
            <h2 style={{ marginTop: 0 }}>{current ? `Alts in ${current.name}` : 'Alts'}</h2>
            {itemsOf(alts.data).length === 0 ? (
              <div className="empty">No alts in this category yet. Import an egg to add one.</div>
            ) : (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Author</th>
                      <th className="num">Variables</th>
                      <th>
                        <span className="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {itemsOf(alts.data).map((a) => (
                      <tr key={a.id}>
                        <td>
                          <strong>{a.name}</strong>
                          {a.description && (
                            <small className="muted" style={{ display: 'block' }}>
                              {a.description}
                            </small>
                          )}
                        </td>
                        <td>{a.author ?? '—'}</td>
                        <td className="num">{a.variables?.length ?? 0}</td>
                        <td>
                          <div className="btn-group">
                            <button type="button" className="btn btn-small" onClick={() => open({ kind: 'alt', alt: a })}>
                              Edit
                            </button>
                            <button type="button" className="btn btn-small" onClick={() => open({ kind: 'import', target: a })}>
                              Update from egg
                            </button>
                            <button
                              type="button"
                              className="btn btn-small"
                              onClick={() =>
                                void action.run(async () =>
                                  downloadJson(`${a.name.replace(/[^\w.-]+/g, '-')}.json`, await api.alts.export(a.id)),
                                )
                              }
                            >
                              Export
                            </button>
                            <button
                              type="button"
                              className="btn btn-small btn-danger"
                              onClick={() => open({ kind: 'delete-alt', alt: a })}
                            >
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
            <ErrorMessage error={modal ? null : action.error} onDismiss={() => action.setError(null)} />
          </div>
        </div>
      )}

      <Dialog
        open={modal?.kind === 'ctrl'}
        title={modal?.kind === 'ctrl' && modal.ctrl ? 'Edit category' : 'New category'}
        onClose={() => setModal(null)}
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (modal?.kind !== 'ctrl') return;
            const body = { name: name.trim(), description };
            void finish(() =>
              modal.ctrl ? api.ctrls.update(modal.ctrl.id, body) : api.ctrls.create(body).then((c) => setCtrlId(c.id)),
            );
          }}
        >
          <ErrorMessage error={action.error} />
          <Field
            label="Name"
            required
            autoFocus
            value={name}
            onChange={(e) => setName(e.target.value)}
            errors={action.error?.field('name')}
          />
          <Field label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
          <div className="actions">
            <button type="submit" className="btn btn-primary" disabled={action.busy}>
              Save
            </button>
          </div>
        </form>
      </Dialog>

      <Dialog
        open={modal?.kind === 'import'}
        wide
        title={
          modal?.kind === 'import' && modal.target
            ? `Update ${modal.target.name} from an egg`
            : `Import an egg into ${current?.name ?? ''}`
        }
        onClose={() => setModal(null)}
      >
        {imported ? (
          <div>
            <p role="status">
              {imported.updated
                ? `${imported.name} was updated from the egg; its servers keep their settings.`
                : `${imported.name} was imported.`}
            </p>
            {imported.warnings.length > 0 && (
              <div className="alert alert-info">
                <div className="alert-body">
                  <strong>Notes on this egg</strong>
                  <ul className="alert-fields" aria-label="Import notes">
                    {imported.warnings.map((w) => (
                      <li key={w}>{w}</li>
                    ))}
                  </ul>
                </div>
              </div>
            )}
            <div className="actions">
              <button type="button" className="btn btn-primary" onClick={() => setModal(null)}>
                Done
              </button>
            </div>
          </div>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (modal?.kind !== 'import' || (!modal.target && !current)) return;
              void importEgg(modal.target);
            }}
          >
            {modal?.kind === 'import' && modal.target && (
              <p className="muted">
                The template keeps its name, category and servers; variables are matched by their environment name, so servers
                keep the values they set. Variables the egg no longer has are removed.
              </p>
            )}
            <ErrorMessage error={action.error} />
            {sameName && (
              <div className="actions">
                <button
                  type="button"
                  className="btn"
                  disabled={action.busy}
                  onClick={() => {
                    setModal({ kind: 'import', target: sameName });
                    void importEgg(sameName);
                  }}
                >
                  Update {sameName.name} from this egg instead
                </button>
              </div>
            )}
            <div className="field">
              <label htmlFor="egg-file">Egg file (JSON or YAML)</label>
              <input
                id="egg-file"
                type="file"
                accept=".json,.yaml,.yml,application/json,text/yaml"
                onChange={(e) => {
                  const f = e.target.files?.[0];
                  if (f) void f.text().then(setEgg);
                }}
              />
            </div>
            <div className="field">
              <label htmlFor="egg-text">…or paste it here</label>
              <textarea id="egg-text" rows={12} value={egg} onChange={(e) => setEgg(e.target.value)} spellCheck={false} />
            </div>
            <div className="actions">
              <button type="submit" className="btn btn-primary" disabled={action.busy || !egg.trim()}>
                {modal?.kind === 'import' && modal.target ? 'Update' : 'Import'}
              </button>
            </div>
          </form>
        )}
      </Dialog>

      <Dialog
        open={modal?.kind === 'alt'}
        wide
        title={modal?.kind === 'alt' ? `Edit ${modal.alt.name}` : ''}
        onClose={() => setModal(null)}
      >
        {modal?.kind === 'alt' && (
          <AltEditor
            alt={modal.alt}
            onSaved={() => {
              setModal(null);
              void alts.reload();
            }}
          />
        )}
      </Dialog>

      <ConfirmDialog
        open={modal?.kind === 'delete-ctrl' || modal?.kind === 'delete-alt'}
        title="Delete template"
        message={
          modal?.kind === 'delete-ctrl'
            ? `Delete the category ${modal.ctrl.name}? Categories with alts in use cannot be deleted.`
            : modal?.kind === 'delete-alt'
              ? `Delete ${modal.alt.name}? Templates used by servers cannot be deleted.`
              : ''
        }
        confirmLabel="Delete"
        busy={action.busy}
        onClose={() => setModal(null)}
        onConfirm={() => {
          if (modal?.kind === 'delete-ctrl')
            void finish(async () => {
              await api.ctrls.remove(modal.ctrl.id);
              setCtrlId(null);
            });
          if (modal?.kind === 'delete-alt') void finish(() => api.alts.remove(modal.alt.id));
        }}
        error={action.error}
      />
    </section>
  );
}
