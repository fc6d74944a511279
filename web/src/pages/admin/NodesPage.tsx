import { useState, type FormEvent } from 'react';
import { api, type CreatedNode, type NewNode, type Node } from '../../api';
import { ConfirmDialog, Dialog } from '../../components/Dialog';
import { SecretDialog } from '../../components/SecretDialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { Spinner } from '../../components/Spinner';
import { StateBadge } from '../../components/StateBadge';
import { formatAgo, formatMb } from '../../lib/format';
import { useAction, useApi } from '../../lib/useApi';
import { NodeAllocations } from './NodeAllocations';
import { NodeDetails } from './NodeDetails';

const EMPTY: NewNode = {
  name: '',
  description: '',
  scheme: 'https',
  address: '',
  port: 8443,
  memoryMb: 8192,
  diskMb: 51200,
  portRangeStart: 25565,
  portRangeEnd: 25665,
};

/** The editable fields of a node (the API rejects unknown fields). */
function editable(n: Node): NewNode {
  const { name, description, address, port, scheme, memoryMb, diskMb, portRangeStart, portRangeEnd } = n;
  return { name, description, address, port, scheme, memoryMb, diskMb, portRangeStart, portRangeEnd };
}

function NodeForm({
  initial,
  submitLabel,
  onSubmit,
  busy,
  errors,
}: {
  initial: NewNode;
  submitLabel: string;
  onSubmit: (n: NewNode) => void;
  busy: boolean;
  errors: (f: string) => string[];
}) {
  const [n, setN] = useState(initial);
  const num = (k: keyof NewNode) => ({
    type: 'number',
    value: String(n[k]),
    onChange: (e: { target: { value: string } }) => setN({ ...n, [k]: Number(e.target.value) }),
    errors: errors(k),
  });
  return (
    <form
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        onSubmit({ ...n, name: n.name.trim(), address: n.address.trim() });
      }}
    >
      <div className="field-row">
        <Field
          label="Name"
          required
          value={n.name}
          onChange={(e) => setN({ ...n, name: e.target.value })}
          errors={errors('name')}
        />
        <Field
          label="Address"
          hint="Host name or IP the panel uses to reach the agent."
          required
          value={n.address}
          onChange={(e) => setN({ ...n, address: e.target.value })}
          errors={errors('address')}
        />
        <Field label="Agent port" min={1} max={65535} required {...num('port')} />
        <div className="field">
          <label htmlFor="node-scheme">Connection</label>
          <select id="node-scheme" value={n.scheme} onChange={(e) => setN({ ...n, scheme: e.target.value as NewNode['scheme'] })}>
            <option value="https">HTTPS (pinned certificate)</option>
            <option value="http">Plain HTTP (loopback and tests only)</option>
          </select>
        </div>
        <Field label="Memory (MiB)" min={0} required {...num('memoryMb')} />
        <Field label="Disk (MiB)" min={0} required {...num('diskMb')} />
        <Field label="First game port" min={1} max={65535} required {...num('portRangeStart')} />
        <Field label="Last game port" min={1} max={65535} required {...num('portRangeEnd')} />
      </div>
      <Field
        label="Description"
        value={n.description}
        onChange={(e) => setN({ ...n, description: e.target.value })}
        errors={errors('description')}
      />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}

export function NodesPage() {
  const nodes = useApi(() => api.nodes.list({ perPage: 100 }), [], 10000);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Node | null>(null);
  const [removing, setRemoving] = useState<Node | null>(null);
  const [allocating, setAllocating] = useState<Node | null>(null);
  const [inspecting, setInspecting] = useState<Node | null>(null);
  const [created, setCreated] = useState<CreatedNode | null>(null);
  const action = useAction();
  const items = nodes.data?.items ?? [];
  const fieldErrors = (f: string) => action.error?.field(f) ?? [];

  return (
    <section className="page">
      <div className="page-head">
        <h1>Nodes</h1>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => {
            action.setError(null);
            setCreating(true);
          }}
        >
          Add node
        </button>
      </div>
      <p className="muted">Nodes are the machines that run game servers. Each runs the agent, which connects to this panel.</p>
      <ErrorMessage error={nodes.error} />
      {nodes.loading && !nodes.data ? (
        <Spinner label="Loading nodes" />
      ) : items.length === 0 ? (
        <div className="empty" data-testid="empty-nodes">
          <h2>No nodes yet</h2>
          <p>Add a node, then run the join command it shows on that machine.</p>
        </div>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>Last seen</th>
                <th>Address</th>
                <th className="num">Memory</th>
                <th className="num">Disk</th>
                <th>Ports</th>
                <th className="num">Servers</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((n) => (
                <tr key={n.id}>
                  <td>{n.name}</td>
                  <td>{n.awaitingJoin ? <span className="tag">awaiting join</span> : <StateBadge state={n.status} />}</td>
                  <td title={n.lastSeenAt ?? undefined}>{formatAgo(n.lastSeenAt)}</td>
                  <td>
                    <code>
                      {n.address}:{n.port}
                    </code>
                  </td>
                  <td className="num">{formatMb(n.memoryMb)}</td>
                  <td className="num">{formatMb(n.diskMb)}</td>
                  <td>
                    {n.portRangeStart}–{n.portRangeEnd}
                  </td>
                  <td className="num">{n.serverCount}</td>
                  <td>
                    <div className="btn-group">
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() => {
                          action.setError(null);
                          setEditing(n);
                        }}
                      >
                        Edit
                      </button>
                      <button type="button" className="btn btn-small" onClick={() => setInspecting(n)}>
                        Details
                      </button>
                      <button type="button" className="btn btn-small" onClick={() => setAllocating(n)}>
                        Allocations
                      </button>
                      <button type="button" className="btn btn-small btn-danger" onClick={() => setRemoving(n)}>
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

      <Dialog open={creating} title="Add node" wide onClose={() => setCreating(false)}>
        <ErrorMessage error={action.error} />
        <NodeForm
          initial={EMPTY}
          submitLabel="Create node"
          busy={action.busy}
          errors={fieldErrors}
          onSubmit={(n) =>
            void action.run(async () => {
              setCreated(await api.nodes.create(n));
              setCreating(false);
              await nodes.reload();
            })
          }
        />
      </Dialog>

      <SecretDialog
        title="Node created — join it"
        secret={created?.joinCommand}
        testId="join-command"
        onClose={() => setCreated(null)}
      >
        <p>
          Run this on <strong>{created?.node.name}</strong> to install the agent and connect it to the panel. It contains a
          one-time secret and is shown only now.
        </p>
      </SecretDialog>

      <Dialog open={!!editing} title={`Edit ${editing?.name ?? ''}`} wide onClose={() => setEditing(null)}>
        <ErrorMessage error={action.error} />
        {editing && (
          <NodeForm
            initial={editable(editing)}
            submitLabel="Save"
            busy={action.busy}
            errors={fieldErrors}
            onSubmit={(n) =>
              void action.run(async () => {
                await api.nodes.update(editing.id, n);
                setEditing(null);
                await nodes.reload();
              })
            }
          />
        )}
      </Dialog>

      <Dialog open={!!inspecting} title={`Node ${inspecting?.name ?? ''}`} onClose={() => setInspecting(null)}>
        {inspecting && <NodeDetails node={inspecting} />}
      </Dialog>

      <Dialog open={!!allocating} title={`Allocations of ${allocating?.name ?? ''}`} wide onClose={() => setAllocating(null)}>
        {allocating && <NodeAllocations node={allocating} />}
      </Dialog>

      <ConfirmDialog
        open={!!removing}
        title="Delete node"
        message={`Delete ${removing?.name}? Nodes that still host servers cannot be deleted.`}
        confirmLabel="Delete node"
        busy={action.busy}
        onClose={() => setRemoving(null)}
        onConfirm={() =>
          removing &&
          void action.run(async () => {
            await api.nodes.remove(removing.id);
            setRemoving(null);
            await nodes.reload();
          })
        }
        error={action.error}
      />
    </section>
  );
}
