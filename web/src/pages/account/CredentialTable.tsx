import type { ReactNode } from 'react';
import { formatAgo, formatDate } from '../../lib/format';

interface Credential {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt?: string | null;
}

/** The account's keys (API keys, SSH keys): name, one detail column, when made and last
 * used, and a button that asks to remove one. */
export function CredentialTable<T extends Credential>({
  items,
  detail,
  removeLabel,
  onRemove,
  rowTestId,
}: {
  items: T[];
  detail: { label: string; render: (item: T) => ReactNode };
  removeLabel: string;
  onRemove: (item: T) => void;
  rowTestId?: string;
}) {
  if (items.length === 0) return null;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>{detail.label}</th>
            <th>Created</th>
            <th>Last used</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.id} data-testid={rowTestId}>
              <td>{item.name}</td>
              <td>{detail.render(item)}</td>
              <td>{formatDate(item.createdAt)}</td>
              <td>{formatAgo(item.lastUsedAt)}</td>
              <td>
                <button type="button" className="btn btn-small btn-danger" onClick={() => onRemove(item)}>
                  {removeLabel}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
