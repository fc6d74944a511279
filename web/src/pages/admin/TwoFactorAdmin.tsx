import { useState } from 'react';
import { api } from '../../api';
import { useAuth } from '../../auth/AuthContext';
import { ConfirmDialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { useAction, useApi } from '../../lib/useApi';

/** A user's two-factor sign-in as admins see it, with a reset for a lost phone. */
export function UserTwoFactor({ userId, username }: { userId: string; username: string }) {
  const { can } = useAuth();
  const status = useApi(() => api.twoFactorAdmin.userStatus(userId), [userId]);
  const [confirming, setConfirming] = useState(false);
  const reset = useAction();
  const enabled = status.data?.enabled;
  return (
    <div className="card">
      <h2 style={{ marginTop: 0 }}>Two-factor sign-in</h2>
      <ErrorMessage error={status.error} />
      {status.data && (
        <p>{enabled ? 'On: signing in needs a code from an authenticator app.' : 'Off: the password alone signs in.'}</p>
      )}
      {enabled && can('user:update') && (
        <button type="button" className="btn btn-danger" onClick={() => setConfirming(true)}>
          Reset two-factor sign-in
        </button>
      )}
      <ConfirmDialog
        open={confirming}
        title="Reset two-factor sign-in"
        message={`Turn off two-factor sign-in for ${username}? They sign in with the password alone until they set it up again.`}
        confirmLabel="Reset"
        busy={reset.busy}
        onClose={() => setConfirming(false)}
        onConfirm={() =>
          void reset.run(async () => {
            await api.twoFactorAdmin.reset(userId);
            setConfirming(false);
            await status.reload();
          })
        }
        error={reset.error}
      />
    </div>
  );
}

/** The panel-wide rule: administrators must use two-factor sign-in. */
export function TwoFactorPolicy() {
  const settings = useApi(() => api.twoFactorAdmin.settings(), []);
  const save = useAction();
  if (!settings.data) return <ErrorMessage error={settings.error} />;
  return (
    <label className="check">
      <input
        type="checkbox"
        checked={settings.data.requiredForAdmins}
        disabled={save.busy}
        onChange={(e) => {
          const required = e.target.checked;
          void save.run(async () => settings.setData(await api.twoFactorAdmin.saveSettings(required)));
        }}
      />{' '}
      Require two-factor sign-in for administrators
      <ErrorMessage error={save.error} />
    </label>
  );
}
