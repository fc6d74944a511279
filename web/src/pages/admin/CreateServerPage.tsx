import { useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, ApiError, itemsOf, type Alt, type Limits } from '../../api';
import { useAuth } from '../../auth/AuthContext';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { StateBadge } from '../../components/StateBadge';
import { hasRuleErrors, VariableFields, type VariableSpec } from '../../components/VariableFields';
import { formatMb } from '../../lib/format';
import { useAction, useApi } from '../../lib/useApi';

export const STEPS = ['Template', 'Node', 'Resources', 'Variables', 'Review'] as const;

/** Which step a server-side validation error belongs to, so the wizard can jump there. */
export function stepForField(field: string): number {
  if (field === 'altId') return 0;
  if (field === 'nodeId') return 1;
  if (field.startsWith('variables')) return 3;
  return 2;
}

function firstErrorStep(e: ApiError): number | null {
  const fields = Object.keys(e.details);
  return fields.length ? Math.min(...fields.map(stepForField)) : null;
}

export function CreateServerPage() {
  const { session, can } = useAuth();
  const navigate = useNavigate();
  const allAlts = useApi(async () => {
    const cs = (await api.ctrls.list()).items;
    const lists = await Promise.all(cs.map((c) => api.alts.list(c.id)));
    return cs.map((c, i) => ({ ctrl: c, alts: itemsOf(lists[i]) }));
  }, []);
  const nodes = useApi(() => api.nodes.list({ perPage: 100 }), []);
  const users = useApi(() => (can('user:view') ? api.users.list({ perPage: 100 }) : Promise.resolve(null)), []);
  const [step, setStep] = useState(0);
  const [alt, setAlt] = useState<Alt | null>(null);
  const [nodeId, setNodeId] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [ownerId, setOwnerId] = useState(session?.user.id ?? '');
  const [limits, setLimits] = useState<Limits>({ memoryMb: 2048, cpuPercent: 200, diskMb: 10240 });
  const [variables, setVariables] = useState<Record<string, string>>({});
  // '' = the default (Docker in the first image where the node has an engine), 'native',
  // or one of the template's Docker images.
  const [runtime, setRuntime] = useState('');
  const submit = useAction();

  // With a single node there is nothing to choose.
  const nodeItems = nodes.data?.items;
  useEffect(() => {
    if (nodeItems?.length === 1 && !nodeId) setNodeId(nodeItems[0].id);
  }, [nodeItems, nodeId]);

  useEffect(() => {
    if (alt) setVariables(Object.fromEntries(alt.variables.map((v) => [v.envVariable, v.defaultValue ?? ''])));
  }, [alt]);

  const specs: VariableSpec[] = (alt?.variables ?? []).map((v) => ({ ...v, editable: true }));
  const node = nodes.data?.items.find((n) => n.id === nodeId);
  const fieldErr = (f: string) => submit.error?.field(f) ?? [];
  const canNext = [!!alt, !!nodeId, !!name.trim() && limits.memoryMb >= 0, !hasRuleErrors(specs, variables), true][step];

  const create = () =>
    void submit.run(async () => {
      try {
        const server = await api.servers.create({
          name: name.trim(),
          description: description || undefined,
          ownerId: ownerId || undefined,
          nodeId,
          altId: alt?.id ?? '',
          limits,
          variables,
          runtime: runtime === '' ? undefined : runtime === 'native' ? 'native' : 'docker',
          image: runtime === '' || runtime === 'native' ? undefined : runtime,
        });
        navigate(`/servers/${server.id}`);
      } catch (e) {
        if (e instanceof ApiError) {
          const s = firstErrorStep(e);
          if (s !== null) setStep(s);
        }
        throw e;
      }
    });

  const num = (k: keyof Limits, label: string, hint: string) => (
    <Field
      label={label}
      type="number"
      min={0}
      required
      hint={hint}
      value={String(limits[k])}
      onChange={(e) => setLimits({ ...limits, [k]: Number(e.target.value) })}
      errors={fieldErr(`limits.${k}`)}
    />
  );

  return (
    <section className="page">
      <div className="page-head">
        <h1>Create server</h1>
      </div>
      <ol className="steps">
        {STEPS.map((s, i) => (
          <li key={s} aria-current={i === step ? 'step' : undefined} className={i < step ? 'done' : undefined}>
            {s}
          </li>
        ))}
      </ol>
      <ErrorMessage error={submit.error ?? nodes.error ?? allAlts.error} onDismiss={() => submit.setError(null)} />
      <form
        className="card"
        onSubmit={(e) => {
          e.preventDefault();
          if (step < STEPS.length - 1) setStep(step + 1);
          else create();
        }}
      >
        {step === 0 && (
          <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
            <legend className="sr-only">Choose a template</legend>
            {(allAlts.data ?? []).length === 0 && (
              <p className="muted">
                No templates yet. <Link to="/admin/templates">Import one</Link> first.
              </p>
            )}
            {(allAlts.data ?? []).map(({ ctrl, alts }) => (
              <div key={ctrl.id}>
                <h2>{ctrl.name}</h2>
                <div className="choice-list">
                  {alts.map((a) => (
                    <label key={a.id} className="choice">
                      <input type="radio" name="alt" checked={alt?.id === a.id} onChange={() => setAlt(a)} />
                      <span>
                        <strong>{a.name}</strong>
                        {a.description && (
                          <small className="muted" style={{ display: 'block' }}>
                            {a.description}
                          </small>
                        )}
                      </span>
                    </label>
                  ))}
                </div>
              </div>
            ))}
            {fieldErr('altId').length > 0 && <p className="field-error">{fieldErr('altId').join(' ')}</p>}
          </fieldset>
        )}
        {step === 1 && (
          <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
            <legend className="sr-only">Choose a node</legend>
            {(nodes.data?.items ?? []).length === 0 && (
              <p className="muted">
                No nodes yet. <Link to="/admin/nodes">Add one</Link> first.
              </p>
            )}
            <div className="choice-list">
              {(nodes.data?.items ?? []).map((n) => (
                <label key={n.id} className="choice">
                  <input type="radio" name="node" checked={nodeId === n.id} onChange={() => setNodeId(n.id)} />
                  <span>
                    <strong>{n.name}</strong> <StateBadge state={n.status} />
                    <small className="muted" style={{ display: 'block' }}>
                      {formatMb(n.memoryMb)} memory · {formatMb(n.diskMb)} disk · {n.serverCount} servers
                    </small>
                  </span>
                </label>
              ))}
            </div>
            {fieldErr('nodeId').length > 0 && <p className="field-error">{fieldErr('nodeId').join(' ')}</p>}
          </fieldset>
        )}
        {step === 2 && (
          <>
            <div className="field-row">
              <Field
                label="Server name"
                required
                autoFocus
                maxLength={100}
                value={name}
                onChange={(e) => setName(e.target.value)}
                errors={fieldErr('name')}
              />
              <Field
                label="Description"
                value={description}
                onChange={(e) => setDescription(e.target.value)}
                errors={fieldErr('description')}
              />
              {users.data && (
                <div className="field">
                  <label htmlFor="owner">Owner</label>
                  <select id="owner" value={ownerId} onChange={(e) => setOwnerId(e.target.value)}>
                    {users.data.items.map((u) => (
                      <option key={u.id} value={u.id}>
                        {u.username}
                      </option>
                    ))}
                  </select>
                  {fieldErr('ownerId').length > 0 && <small className="field-error">{fieldErr('ownerId').join(' ')}</small>}
                </div>
              )}
            </div>
            <div className="field-row">
              {num('memoryMb', 'Memory (MiB)', '0 = unlimited')}
              {num('cpuPercent', 'CPU (%)', '100 = one core; 0 = unlimited')}
              {num('diskMb', 'Disk (MiB)', '0 = unlimited')}
            </div>
            {(alt?.dockerImages?.length ?? 0) > 0 && (
              <div className="field">
                <label htmlFor="runtime">Runtime</label>
                <select id="runtime" value={runtime} onChange={(e) => setRuntime(e.target.value)}>
                  <option value="">Default: Docker where the node has it, else native</option>
                  <option value="native">Native</option>
                  {alt?.dockerImages?.map((image) => (
                    <option key={image} value={image}>
                      Docker: {image}
                    </option>
                  ))}
                </select>
                {[...fieldErr('runtime'), ...fieldErr('image')].length > 0 && (
                  <small className="field-error">{[...fieldErr('runtime'), ...fieldErr('image')].join(' ')}</small>
                )}
              </div>
            )}
          </>
        )}
        {step === 3 && (
          <VariableFields
            specs={specs}
            values={variables}
            onChange={(env, v) => setVariables({ ...variables, [env]: v })}
            serverErrors={(env) => fieldErr(`variables.${env}`)}
          />
        )}
        {step === 4 && (
          <dl className="kv" data-testid="review">
            <dt>Name</dt>
            <dd>{name}</dd>
            <dt>Template</dt>
            <dd>{alt?.name}</dd>
            <dt>Node</dt>
            <dd>{node?.name}</dd>
            <dt>Owner</dt>
            <dd>{users.data?.items.find((u) => u.id === ownerId)?.username ?? session?.user.username}</dd>
            <dt>Memory</dt>
            <dd>{formatMb(limits.memoryMb)}</dd>
            <dt>CPU</dt>
            <dd>{limits.cpuPercent ? `${limits.cpuPercent}%` : 'unlimited'}</dd>
            <dt>Disk</dt>
            <dd>{formatMb(limits.diskMb)}</dd>
            {Object.entries(variables).map(([k, v]) => (
              <div key={k} style={{ display: 'contents' }}>
                <dt>
                  <code>{k}</code>
                </dt>
                <dd>
                  <code>{v || '—'}</code>
                </dd>
              </div>
            ))}
          </dl>
        )}
        <div className="actions">
          {step > 0 && (
            <button type="button" className="btn" onClick={() => setStep(step - 1)}>
              Back
            </button>
          )}
          <button type="submit" className="btn btn-primary" disabled={!canNext || submit.busy}>
            {step < STEPS.length - 1 ? 'Next' : submit.busy ? 'Creating…' : 'Create server'}
          </button>
        </div>
      </form>
    </section>
  );
}
