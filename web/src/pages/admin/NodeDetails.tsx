import { api, type Node, type NodeSystem } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Spinner } from '../../components/Spinner';
import { formatBytes, formatUptime } from '../../lib/format';
import { useApi } from '../../lib/useApi';

const CGROUPS: Record<string, string> = { v1: 'cgroup v1', v2: 'cgroup v2' };

/** How a node runs servers: the runtimes it offers and whether the kernel enforces limits. */
function isolationSummary(system: NodeSystem): { limits: string; users: string } {
  return {
    limits: system.cgroupVersion
      ? `enforced by the kernel (${CGROUPS[system.cgroupVersion] ?? system.cgroupVersion})`
      : 'not enforced by the kernel (the agent cannot write cgroups; memory is checked by sampling)',
    users: system.isolatedUsers ? 'each server as an unprivileged user' : "all servers as the agent's own user",
  };
}

/** What a node's agent reports about its machine, fetched when the dialog opens. */
export function NodeDetails({ node }: { node: Node }) {
  const detail = useApi(() => api.nodes.get(node.id), [node.id]);
  if (detail.loading && !detail.data) return <Spinner label="Asking the node" />;
  const system = detail.data?.system;
  if (!system)
    return (
      <>
        <ErrorMessage error={detail.error} />
        <p className="muted" data-testid="node-unreachable">
          The node's agent is not reachable right now; its details show once it is connected.
        </p>
      </>
    );
  const summary = isolationSummary(system);
  return (
    <dl className="kv" data-testid="node-details">
      <dt>Host</dt>
      <dd>
        {system.hostname} · {system.os} · {system.arch}
      </dd>
      <dt>Agent</dt>
      <dd>
        {system.agentVersion}, up {formatUptime(system.uptimeSeconds)}
      </dd>
      <dt>CPU</dt>
      <dd>{system.cpuCount} logical CPUs</dd>
      <dt>Memory</dt>
      <dd>
        {formatBytes(system.memoryAvailableBytes)} free of {formatBytes(system.memoryTotalBytes)}
      </dd>
      <dt>Disk</dt>
      <dd>
        {formatBytes(system.diskAvailableBytes)} free of {formatBytes(system.diskTotalBytes)}
      </dd>
      <dt>Runtimes</dt>
      <dd data-testid="node-runtimes">
        {system.runtimes
          .map((r) => (r === 'docker' && system.dockerVersion ? `docker (engine ${system.dockerVersion})` : r))
          .join(', ') || '—'}
      </dd>
      <dt>Limits</dt>
      <dd data-testid="node-limits">{summary.limits}</dd>
      <dt>Runs servers</dt>
      <dd data-testid="node-users">{summary.users}</dd>
      <dt>SFTP</dt>
      <dd data-testid="node-sftp">
        {system.sftp ? (
          <>
            port <code>{system.sftp.port}</code>
            {system.sftp.readOnly && ' (read-only)'}, host key <code>{system.sftp.hostKeyFingerprint}</code>
          </>
        ) : (
          'turned off on this node'
        )}
      </dd>
    </dl>
  );
}
