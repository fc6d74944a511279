import { useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Spinner } from '../../components/Spinner';
import { useApi } from '../../lib/useApi';

/** Host, port, username and host key for FileZilla, WinSCP or `sftp`, asked of the node. */
function Connection({ serverId }: { serverId: string }) {
  const details = useApi(() => api.sftp.connection(serverId), [serverId]);
  if (details.loading && !details.data) return <Spinner label="Asking the node" />;
  const d = details.data;
  if (!d) return <ErrorMessage error={details.error} />;
  return (
    <>
      <dl className="kv">
        <dt>Host</dt>
        <dd>
          <code data-testid="sftp-host">{d.host}</code>
        </dd>
        <dt>Port</dt>
        <dd>
          <code data-testid="sftp-port">{d.port}</code>
        </dd>
        <dt>Username</dt>
        <dd>
          <code data-testid="sftp-username">{d.username}</code>
        </dd>
        <dt>Password</dt>
        <dd>
          your panel password, or log in with one of your <Link to="/account">SSH keys</Link> (needed when two-factor sign-in is
          on)
        </dd>
        <dt>Host key</dt>
        <dd>
          <code data-testid="sftp-fingerprint">{d.hostKeyFingerprint}</code>
        </dd>
      </dl>
      <p className="muted">
        Your client shows the host key the first time it connects: accept it only if it is this one.
        {d.readOnly && ' This node serves SFTP read-only.'}
      </p>
      <a className="btn" href={d.url} data-testid="sftp-link">
        Open in your SFTP client
      </a>
    </>
  );
}

/** A closed panel with the server's SFTP connection details, fetched when opened. */
export function SftpDetails({ serverId }: { serverId: string }) {
  const [open, setOpen] = useState(false);
  return (
    <details className="card" data-testid="sftp-details" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Connect over SFTP</summary>
      {open && <Connection serverId={serverId} />}
    </details>
  );
}
