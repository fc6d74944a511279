import { useState } from 'react';
import { api, type SshKey } from '../../api';
import { ConfirmDialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { useAction, useApi } from '../../lib/useApi';
import { CredentialTable } from './CredentialTable';

/** The account's SSH public keys, which log in over SFTP instead of the password. */
export function SshKeysCard() {
  const keys = useApi(() => api.sshKeys.list(), []);
  const [name, setName] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [removing, setRemoving] = useState<SshKey | null>(null);
  const add = useAction();
  const remove = useAction();
  const items = keys.data ?? [];
  return (
    <div className="card" data-testid="ssh-keys">
      <h2 style={{ marginTop: 0 }}>SSH keys</h2>
      <p className="muted">
        Log in over SFTP with one of these keys instead of your password (ed25519, ECDSA, or RSA of at least 2048 bits).
      </p>
      <ErrorMessage error={keys.error ?? add.error} />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void add.run(async () => {
            await api.sshKeys.add(name.trim(), publicKey.trim());
            setName('');
            setPublicKey('');
            await keys.reload();
          });
        }}
      >
        <Field
          label="Key name"
          placeholder="e.g. laptop"
          required
          maxLength={100}
          value={name}
          onChange={(e) => setName(e.target.value)}
          errors={add.error?.field('name')}
        />
        <Field
          label="Public key"
          placeholder="ssh-ed25519 AAAA… you@laptop"
          hint="One line, such as the content of ~/.ssh/id_ed25519.pub."
          required
          spellCheck={false}
          autoComplete="off"
          value={publicKey}
          onChange={(e) => setPublicKey(e.target.value)}
          errors={add.error?.field('publicKey')}
        />
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={add.busy}>
            Add key
          </button>
        </div>
      </form>
      <CredentialTable
        items={items}
        detail={{
          label: 'Fingerprint',
          render: (k) => (
            <>
              <small className="muted">{k.algorithm}</small> <code>{k.fingerprint}</code>
            </>
          ),
        }}
        removeLabel="Remove"
        onRemove={setRemoving}
        rowTestId="ssh-key"
      />
      <ConfirmDialog
        open={!!removing}
        title="Remove SSH key"
        message={`Remove “${removing?.name}”? SFTP logins with it stop working immediately.`}
        confirmLabel="Remove"
        busy={remove.busy}
        onClose={() => setRemoving(null)}
        onConfirm={() =>
          removing &&
          void remove.run(async () => {
            await api.sshKeys.remove(removing.id);
            setRemoving(null);
            await keys.reload();
          })
        }
        error={remove.error}
      />
    </div>
  );
}
