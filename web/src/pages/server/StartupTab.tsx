import { useEffect, useState } from 'react';
import { api, type Server } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Spinner } from '../../components/Spinner';
import { hasRuleErrors, VariableFields, type VariableSpec } from '../../components/VariableFields';
import { useAction, useApi } from '../../lib/useApi';
import { RuntimeForm } from './RuntimeForm';

export function StartupTab({ server, editable, onChanged }: { server: Server; editable: boolean; onChanged: () => void }) {
  const serverId = server.id;
  const vars = useApi(() => api.servers.variables(serverId), [serverId]);
  const preview = useApi(() => (editable ? api.servers.preview(serverId) : Promise.resolve(null)), [serverId, editable]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const save = useAction();

  useEffect(() => {
    if (vars.data) setValues(Object.fromEntries(vars.data.map((v) => [v.envVariable, v.value ?? ''])));
  }, [vars.data]);

  if (vars.loading && !vars.data) return <Spinner label="Loading startup variables" />;
  const specs: VariableSpec[] = (vars.data ?? []).map((v) => ({ ...v, editable: editable && v.userEditable }));
  const changed = Object.fromEntries(
    (vars.data ?? []).filter((v) => values[v.envVariable] !== (v.value ?? '')).map((v) => [v.envVariable, values[v.envVariable]]),
  );
  const dirty = Object.keys(changed).length > 0;

  const images = preview.data?.dockerImages ?? [];
  return (
    <>
      {editable && (images.length > 0 || server.runtime === 'docker') && (
        <RuntimeForm server={server} images={images} onSaved={onChanged} />
      )}
      {!editable && server.runtime === 'docker' && (
        <p className="muted" data-testid="runtime">
          Runs in Docker: <code>{server.image}</code>
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save.run(async () => {
            await api.servers.setVariables(serverId, changed);
            await Promise.all([vars.reload(), preview.reload()]);
            setSaved(true);
          });
        }}
      >
        <ErrorMessage error={vars.error ?? save.error ?? preview.error} />
        {preview.data && (
          <div className="field">
            <span>Startup command</span>
            <code className="secret" data-testid="startup-preview">
              {preview.data.startup.display}
            </code>
          </div>
        )}
        {saved && !dirty && (
          <div className="alert alert-success" role="status">
            Saved. The new values apply the next time the server starts.
          </div>
        )}
        <VariableFields
          specs={specs}
          values={values}
          onChange={(env, value) => {
            setSaved(false);
            setValues((v) => ({ ...v, [env]: value }));
          }}
          serverErrors={(env) => save.error?.field(`variables.${env}`) ?? []}
        />
        {specs.some((s) => s.editable) && (
          <div className="actions">
            <button type="submit" className="btn btn-primary" disabled={!dirty || save.busy || hasRuleErrors(specs, values)}>
              {save.busy ? 'Saving…' : 'Save variables'}
            </button>
          </div>
        )}
      </form>
    </>
  );
}
