import { lazy, Suspense, useState } from 'react';
import { api, type Alt } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Spinner } from '../../components/Spinner';
import { useAction } from '../../lib/useApi';

const CodeEditor = lazy(() => import('../../components/CodeEditor'));

/** Parses the edited template; returns the object or a message for the user. */
export function parseTemplate(text: string): { template: Record<string, unknown> } | { error: string } {
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) return { error: 'The template must be a JSON object.' };
    return { template: value as Record<string, unknown> };
  } catch (e) {
    return { error: `Not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Shows one alt (a concrete server template) and edits its complete document: startup
 * commands, stop action, done patterns, variables, config files. */
export function AltEditor({ alt, onSaved }: { alt: Alt; onSaved: (a: Alt) => void }) {
  const initial = JSON.stringify(alt.template, null, 2);
  const [text, setText] = useState(initial);
  const [parseError, setParseError] = useState<string | null>(null);
  const save = useAction();
  const submit = () => {
    const parsed = parseTemplate(text);
    if ('error' in parsed) {
      setParseError(parsed.error);
      return;
    }
    setParseError(null);
    void save.run(async () => onSaved(await api.alts.replace(alt.id, parsed.template)));
  };
  return (
    <div>
      <dl className="kv card" style={{ marginBottom: 12 }}>
        <dt>Startup</dt>
        <dd>
          <code>{alt.startup}</code>
        </dd>
        <dt>Stop</dt>
        <dd>
          <code>{alt.stopCommand}</code>
        </dd>
        <dt>Done when</dt>
        <dd>{alt.donePatterns.length ? alt.donePatterns.map((p) => <code key={p}>{p} </code>) : '—'}</dd>
        <dt>Variables</dt>
        <dd>
          {alt.variables.length
            ? alt.variables.map((v) => (
                <span key={v.envVariable} title={`${v.name}: ${v.rules}`}>
                  <code>{v.envVariable}</code>
                  {v.userEditable ? '' : ' (locked)'}{' '}
                </span>
              ))
            : '—'}
        </dd>
      </dl>
      <p className="muted">
        Edit the full template below (JSON). Variables use Laravel-style rules such as <code>required|integer|between:1,100</code>
        .
      </p>
      <ErrorMessage error={save.error} />
      {parseError && (
        <p className="field-error" role="alert">
          {parseError}
        </p>
      )}
      <Suspense fallback={<Spinner label="Loading editor" />}>
        <CodeEditor path={`${alt.name}.json`} initial={initial} readOnly={false} onChange={setText} onSave={submit} />
      </Suspense>
      <div className="actions">
        <button type="button" className="btn btn-primary" disabled={save.busy || text === initial} onClick={submit}>
          {save.busy ? 'Saving…' : 'Save template'}
        </button>
      </div>
    </div>
  );
}
