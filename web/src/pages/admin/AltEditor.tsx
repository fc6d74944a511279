import { useState } from 'react';
import { api, type Alt, type AltVariable } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { useAction } from '../../lib/useApi';

const NEW_VARIABLE: AltVariable = {
  name: '',
  description: '',
  envVariable: '',
  defaultValue: '',
  rules: 'required|string',
  userViewable: true,
  userEditable: true,
  sortOrder: 0,
};

/** Edits one alt (a concrete server template): startup, stop command, done patterns and
 * its variables. */
export function AltEditor({ alt, onSaved }: { alt: Alt; onSaved: (a: Alt) => void }) {
  const [draft, setDraft] = useState(alt);
  const [patterns, setPatterns] = useState(alt.donePatterns.join('\n'));
  const save = useAction();
  const err = (f: string) => save.error?.field(f) ?? [];
  const setVar = (i: number, patch: Partial<AltVariable>) =>
    setDraft((d) => ({ ...d, variables: d.variables.map((v, j) => (j === i ? { ...v, ...patch } : v)) }));

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void save.run(async () => {
          const updated = await api.alts.update(alt.id, {
            name: draft.name.trim(),
            description: draft.description,
            author: draft.author,
            startup: draft.startup,
            stopCommand: draft.stopCommand,
            donePatterns: patterns
              .split('\n')
              .map((p) => p.trim())
              .filter(Boolean),
            variables: draft.variables.map((v, i) => ({ ...v, sortOrder: i })),
          });
          onSaved(updated);
        });
      }}
    >
      <ErrorMessage error={save.error} />
      <div className="field-row">
        <Field label="Name" required value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} errors={err('name')} />
        <Field label="Author" value={draft.author ?? ''} onChange={(e) => setDraft({ ...draft, author: e.target.value })} errors={err('author')} />
      </div>
      <Field
        label="Description"
        value={draft.description ?? ''}
        onChange={(e) => setDraft({ ...draft, description: e.target.value })}
        errors={err('description')}
      />
      <Field
        label="Startup command"
        hint={
          <>
            Use <code>{'{{VARIABLE}}'}</code> to insert variables.
          </>
        }
        required
        value={draft.startup}
        onChange={(e) => setDraft({ ...draft, startup: e.target.value })}
        errors={err('startup')}
        style={{ fontFamily: 'var(--mono)' }}
      />
      <Field
        label="Stop command"
        hint="Sent to the console to stop gracefully (e.g. stop). ^C sends an interrupt."
        value={draft.stopCommand}
        onChange={(e) => setDraft({ ...draft, stopCommand: e.target.value })}
        errors={err('stopCommand')}
      />
      <div className="field">
        <label htmlFor="done-patterns">Done patterns (one per line)</label>
        <textarea id="done-patterns" rows={3} style={{ minHeight: 70 }} value={patterns} onChange={(e) => setPatterns(e.target.value)} />
        <small className="muted">A console line containing one of these marks the server as running.</small>
      </div>
      <h3>Variables</h3>
      {draft.variables.length === 0 && <p className="muted">No variables.</p>}
      {draft.variables.map((v, i) => (
        <fieldset key={v.id ?? `new-${i}`} className="card" style={{ marginBottom: 10 }}>
          <legend className="sr-only">Variable {v.envVariable || i + 1}</legend>
          <div className="field-row">
            <Field label="Display name" required value={v.name} onChange={(e) => setVar(i, { name: e.target.value })} errors={err(`variables.${i}.name`)} />
            <Field
              label="Environment variable"
              required
              pattern="[A-Z_][A-Z0-9_]*"
              value={v.envVariable}
              onChange={(e) => setVar(i, { envVariable: e.target.value.toUpperCase() })}
              errors={err(`variables.${i}.envVariable`)}
            />
            <Field label="Default" value={v.defaultValue} onChange={(e) => setVar(i, { defaultValue: e.target.value })} />
            <Field label="Rules" value={v.rules} onChange={(e) => setVar(i, { rules: e.target.value })} errors={err(`variables.${i}.rules`)} />
          </div>
          <Field label="Description" value={v.description} onChange={(e) => setVar(i, { description: e.target.value })} />
          <div className="toolbar">
            <label className="check">
              <input type="checkbox" checked={v.userViewable} onChange={(e) => setVar(i, { userViewable: e.target.checked })} />
              Users can see it
            </label>
            <label className="check">
              <input type="checkbox" checked={v.userEditable} onChange={(e) => setVar(i, { userEditable: e.target.checked })} />
              Users can edit it
            </label>
            <button
              type="button"
              className="btn btn-small btn-danger"
              style={{ marginLeft: 'auto' }}
              onClick={() => setDraft((d) => ({ ...d, variables: d.variables.filter((_, j) => j !== i) }))}
            >
              Remove variable
            </button>
          </div>
        </fieldset>
      ))}
      <div className="actions">
        <button
          type="button"
          className="btn"
          onClick={() => setDraft((d) => ({ ...d, variables: [...d.variables, { ...NEW_VARIABLE, sortOrder: d.variables.length }] }))}
        >
          Add variable
        </button>
        <button type="submit" className="btn btn-primary" disabled={save.busy}>
          {save.busy ? 'Saving…' : 'Save template'}
        </button>
      </div>
    </form>
  );
}
