import { checkRules, ruleOptions } from '../lib/rules';

export interface VariableSpec {
  envVariable: string;
  name: string;
  description: string;
  rules: string;
  defaultValue: string;
  editable: boolean;
}

/** Inputs for template variables with instant rule checks and the panel's own errors
 * (`serverErrors` keyed by env name). */
export function VariableFields({
  specs,
  values,
  onChange,
  serverErrors,
}: {
  specs: VariableSpec[];
  values: Record<string, string>;
  onChange: (env: string, value: string) => void;
  serverErrors: (env: string) => string[];
}) {
  if (specs.length === 0) return <p className="muted">This template has no variables.</p>;
  return (
    <div className="field-row">
      {specs.map((v) => {
        const value = values[v.envVariable] ?? '';
        const errors = [...checkRules(value, v.rules), ...serverErrors(v.envVariable)];
        const options = ruleOptions(v.rules);
        const id = `var-${v.envVariable}`;
        const invalid = errors.length > 0;
        return (
          <div className="field" key={v.envVariable}>
            <label htmlFor={id}>{v.name}</label>
            {options ? (
              <select id={id} value={value} disabled={!v.editable} onChange={(e) => onChange(v.envVariable, e.target.value)}>
                {!options.includes(value) && <option value={value}>{value || '—'}</option>}
                {options.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id={id}
                value={value}
                readOnly={!v.editable}
                aria-invalid={invalid || undefined}
                aria-describedby={`${id}-hint${invalid ? ` ${id}-err` : ''}`}
                placeholder={v.defaultValue}
                onChange={(e) => onChange(v.envVariable, e.target.value)}
              />
            )}
            <small id={`${id}-hint`} className="muted">
              <code>{v.envVariable}</code>
              {v.description && ` — ${v.description}`}
              {v.rules && (
                <>
                  {' · '}
                  <code>{v.rules}</code>
                </>
              )}
              {!v.editable && ' · read-only'}
            </small>
            {invalid && (
              <small id={`${id}-err`} className="field-error">
                {errors.join(' ')}
              </small>
            )}
          </div>
        );
      })}
    </div>
  );
}

export function hasRuleErrors(specs: VariableSpec[], values: Record<string, string>): boolean {
  return specs.some((v) => v.editable && checkRules(values[v.envVariable] ?? '', v.rules).length > 0);
}
