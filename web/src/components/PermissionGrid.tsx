import type { PermissionCatalogue } from '../api';

/** Checkboxes for permissions grouped by category. `only` limits the keys shown (e.g.
 * to the server-scoped ones); `fromRole` marks keys the role provides. */
export function PermissionGrid({
  catalogue,
  checked,
  onToggle,
  only,
  fromRole,
  disabled,
  idPrefix = 'perm',
}: {
  catalogue: PermissionCatalogue;
  checked: Set<string>;
  onToggle: (key: string, on: boolean) => void;
  only?: string[];
  fromRole?: string[];
  disabled?: boolean;
  idPrefix?: string;
}) {
  const categories = catalogue.categories
    .map((c) => ({ ...c, permissions: c.permissions.filter((p) => !only || only.includes(p.key)) }))
    .filter((c) => c.permissions.length > 0);
  return (
    <div className="perm-grid">
      {categories.map((cat) => (
        <fieldset key={cat.name} className="perm-category">
          <legend>{cat.name}</legend>
          {cat.permissions.map((p) => {
            const id = `${idPrefix}-${p.key}`;
            return (
              <div key={p.key} className="perm-item">
                <input
                  id={id}
                  type="checkbox"
                  checked={checked.has(p.key)}
                  disabled={disabled}
                  onChange={(e) => onToggle(p.key, e.target.checked)}
                />
                <label htmlFor={id}>
                  <span className="perm-key">
                    <code>{p.key}</code>
                    {fromRole?.includes(p.key) && <span className="tag">role</span>}
                  </span>
                  <small className="muted">{p.description}</small>
                </label>
              </div>
            );
          })}
        </fieldset>
      ))}
    </div>
  );
}
