import { useState, type ReactNode } from 'react';
import { api, type TwoFactorSetup } from '../../api';
import { useAuth } from '../../auth/AuthContext';
import { Dialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { useAction, useApi } from '../../lib/useApi';

/** The recovery codes, shown once right after two-factor sign-in was turned on. */
function RecoveryCodes({ codes, onClose }: { codes: string[]; onClose: () => void }) {
  return (
    <Dialog open title="Recovery codes" wide onClose={onClose}>
      <p>
        Store these codes somewhere safe. Each one signs you in once when your authenticator app is not at hand. They are not
        shown again.
      </p>
      <ol className="recovery-codes" data-testid="recovery-codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <div className="actions">
        <button type="button" className="btn" onClick={() => void navigator.clipboard?.writeText(codes.join('\n'))}>
          Copy
        </button>
        <button type="button" className="btn btn-primary" onClick={onClose}>
          I stored them
        </button>
      </div>
    </Dialog>
  );
}

/** The password and a code, the proof both turning on and turning off ask for. */
function PasswordAndCode({
  codeLabel,
  codeFields,
  submitLabel,
  danger,
  onSubmit,
  children,
}: {
  codeLabel: string;
  /** The fields of the answer whose errors belong under the code. */
  codeFields: string[];
  submitLabel: string;
  danger?: boolean;
  onSubmit: (password: string, code: string) => Promise<void>;
  children?: ReactNode;
}) {
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const action = useAction();
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(() => onSubmit(password, code.trim()));
      }}
    >
      {children}
      <ErrorMessage error={action.error} />
      <Field
        label="Your password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        errors={action.error?.field('password')}
      />
      <Field
        label={codeLabel}
        autoComplete="one-time-code"
        required
        value={code}
        onChange={(e) => setCode(e.target.value)}
        errors={codeFields.flatMap((f) => action.error?.field(f) ?? [])}
      />
      <div className="actions">
        <button type="submit" className={danger ? 'btn btn-danger' : 'btn btn-primary'} disabled={action.busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}

/** Scan, then confirm with the password and a first code. */
function EnableForm({ setup, onEnabled }: { setup: TwoFactorSetup; onEnabled: (codes: string[]) => void }) {
  return (
    <PasswordAndCode
      codeLabel="Code from the app"
      codeFields={['code']}
      submitLabel="Turn on"
      onSubmit={async (password, code) => {
        const { recoveryCodes } = await api.auth.twoFactorEnable(password, code);
        onEnabled(recoveryCodes);
      }}
    >
      <p>Scan this code with an authenticator app (or type the secret into it), then confirm with the code it shows.</p>
      <div
        className="qr"
        role="img"
        aria-label="QR code of the two-factor secret"
        dangerouslySetInnerHTML={{ __html: setup.qrSvg }}
      />
      <p>
        Secret: <code data-testid="two-factor-secret">{setup.secret}</code>
      </p>
    </PasswordAndCode>
  );
}

function DisableForm({ onDisabled }: { onDisabled: () => void }) {
  return (
    <PasswordAndCode
      codeLabel="Code from the app or a recovery code"
      codeFields={['code', 'recoveryCode']}
      submitLabel="Turn off"
      danger
      onSubmit={async (password, typed) => {
        await api.auth.twoFactorDisable(password, /^\d+$/.test(typed) ? { code: typed } : { recoveryCode: typed });
        onDisabled();
      }}
    />
  );
}

/** Two-factor sign-in on the Account page: status, setup, recovery codes, turning it off. */
export function TwoFactorCard() {
  const { reload: reloadSession } = useAuth();
  const status = useApi(() => api.auth.twoFactor(), []);
  const [setup, setSetup] = useState<TwoFactorSetup | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [disabling, setDisabling] = useState(false);
  const start = useAction();
  const s = status.data;
  return (
    <div className="card">
      <h2 style={{ marginTop: 0 }}>Two-factor sign-in</h2>
      {s?.setupRequired && (
        <div className="alert alert-info" role="alert">
          This panel requires administrators to use two-factor sign-in. Turn it on to continue.
        </div>
      )}
      <ErrorMessage error={status.error ?? start.error} />
      {s && s.enabled && (
        <>
          <p>
            <strong>On.</strong> {s.recoveryCodesLeft} recovery code{s.recoveryCodesLeft === 1 ? '' : 's'} left.
          </p>
          {disabling ? (
            <DisableForm
              onDisabled={() => {
                setDisabling(false);
                void status.reload();
                void reloadSession();
              }}
            />
          ) : (
            <button type="button" className="btn btn-danger" onClick={() => setDisabling(true)}>
              Turn off…
            </button>
          )}
        </>
      )}
      {s && !s.enabled && !setup && (
        <>
          <p className="muted">Ask for a code from an authenticator app after your password when you sign in.</p>
          <button
            type="button"
            className="btn btn-primary"
            disabled={start.busy}
            onClick={() => void start.run(async () => setSetup(await api.auth.twoFactorSetup()))}
          >
            Set up two-factor sign-in
          </button>
        </>
      )}
      {s && !s.enabled && setup && (
        <EnableForm
          setup={setup}
          onEnabled={(recovery) => {
            setSetup(null);
            setCodes(recovery);
            void status.reload();
          }}
        />
      )}
      {codes && (
        <RecoveryCodes
          codes={codes}
          onClose={() => {
            setCodes(null);
            void reloadSession();
          }}
        />
      )}
    </div>
  );
}
