import { useState } from 'react';
import { api, type Node } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { Pagination } from '../../components/Pagination';
import { Spinner } from '../../components/Spinner';
import { countPorts } from '../../lib/ports';
import { useAction, useApi } from '../../lib/useApi';

const PER_PAGE = 50;

/** A node's allocations: add them in bulk (an address and a port list), remove free ones. */
export function NodeAllocations({ node }: { node: Node }) {
  const [page, setPage] = useState(1);
  const list = useApi(() => api.nodes.allocations(node.id, { page, perPage: PER_PAGE }), [node.id, page]);
  const [ip, setIp] = useState('0.0.0.0');
  const [ports, setPorts] = useState('');
  const [notes, setNotes] = useState('');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState('');
  const action = useAction();
  const counted = ports.trim() ? countPorts(ports) : null;
  const items = list.data?.items ?? [];

  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };

  return (
    <div>
      <p className="muted">
        Besides these, new servers use ports {node.portRangeStart}–{node.portRangeEnd} on every address (the node's range).
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.runThen(
            async () => {
              const added = await api.nodes.addAllocations(node.id, ip.trim(), ports, notes.trim());
              setMessage(`${added.added} of ${added.requested} ports added on ${added.ip}.`);
            },
            async () => {
              setPorts('');
              await list.reload();
            },
          );
        }}
      >
        <div className="field-row">
          <Field
            label="IP address"
            hint="0.0.0.0 means every address of the node."
            required
            value={ip}
            onChange={(e) => setIp(e.target.value)}
            errors={action.error?.field('ip')}
          />
          <Field
            label="Ports"
            hint={counted && 'count' in counted ? `${counted.count} ports` : 'e.g. 25565-25570,27015'}
            required
            value={ports}
            onChange={(e) => setPorts(e.target.value)}
            errors={action.error?.field('ports') ?? (counted && 'error' in counted ? [counted.error] : undefined)}
          />
          <Field label="Notes" maxLength={191} value={notes} onChange={(e) => setNotes(e.target.value)} />
        </div>
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={action.busy || !counted || 'error' in counted}>
            Add allocations
          </button>
        </div>
      </form>
      <ErrorMessage error={list.error ?? action.error} />
      {message && (
        <p className="muted" role="status">
          {message}
        </p>
      )}
      {list.loading && !list.data ? (
        <Spinner label="Loading allocations" />
      ) : items.length === 0 ? (
        <div className="empty">No allocations listed; servers use the node's range.</div>
      ) : (
        <>
          <div className="table-wrap">
            <table aria-label={`Allocations of ${node.name}`}>
              <thead>
                <tr>
                  <th>
                    <span className="sr-only">Select</span>
                  </th>
                  <th>Address</th>
                  <th>Server</th>
                  <th>Notes</th>
                </tr>
              </thead>
              <tbody>
                {items.map((a) => (
                  <tr key={a.id} data-testid="node-allocation">
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select ${a.ip}:${a.port}`}
                        disabled={!!a.server}
                        checked={selected.has(a.id)}
                        onChange={(e) => toggle(a.id, e.target.checked)}
                      />
                    </td>
                    <td>
                      <code>
                        {a.ip}:{a.port}
                      </code>
                    </td>
                    <td>{a.server ? a.server.name : <span className="muted">free</span>}</td>
                    <td>{a.notes}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pagination page={page} perPage={PER_PAGE} total={list.data?.total ?? 0} onPage={setPage} />
          <div className="actions">
            <button
              type="button"
              className="btn btn-danger"
              disabled={selected.size === 0 || action.busy}
              onClick={() =>
                void action.runThen(
                  async () => {
                    const { removed } = await api.nodes.removeAllocations(node.id, [...selected]);
                    setMessage(`${removed} removed.`);
                  },
                  async () => {
                    setSelected(new Set());
                    await list.reload();
                  },
                )
              }
            >
              Remove selected ({selected.size})
            </button>
          </div>
        </>
      )}
    </div>
  );
}
