import { useState } from 'react';
import { api, type CrashPolicy, type Server } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { useAction } from '../../lib/useApi';

const DEFAULT_POLICY: CrashPolicy = {
  autoRestart: true,
  maxRestarts: 3,
  windowSeconds: 600,
  backoffMs: 2000,
  maxBackoffMs: 60000,
};

type NumberKey = Exclude<keyof CrashPolicy, 'autoRestart'>;

const NUMBERS: { key: NumberKey; label: string; min: number; max: number; hint: string }[] = [
  { key: 'maxRestarts', label: 'Max restarts', min: 0, max: 100, hint: 'Restarts allowed inside the window.' },
  { key: 'windowSeconds', label: 'Window (seconds)', min: 10, max: 86400, hint: 'Crashes older than this are forgotten.' },
  { key: 'backoffMs', label: 'First back-off (ms)', min: 100, max: 600000, hint: 'Wait before the first restart.' },
  { key: 'maxBackoffMs', label: 'Longest back-off (ms)', min: 100, max: 3600000, hint: 'The wait doubles up to this.' },
];

/** Whether and how the node restarts the server after a crash. */
export function CrashPolicyForm({ server, onSaved }: { server: Server; onSaved: (s: Server) => void }) {
  const [policy, setPolicy] = useState<CrashPolicy>(server.crashPolicy ?? DEFAULT_POLICY);
  const [notice, setNotice] = useState<string | null>(null);
  const save = useAction();
  return (
    <form
      className="card"
      onSubmit={(e) => {
        e.preventDefault();
        setNotice(null);
        void save.run(async () => {
          onSaved(await api.servers.update(server.id, { crashPolicy: policy }));
          setNotice('Crash policy saved.');
        });
      }}
    >
      <h2 style={{ marginTop: 0 }}>Crash policy</h2>
      <ErrorMessage error={save.error} />
      {notice && (
        <div className="alert alert-success" role="status">
          {notice}
        </div>
      )}
      <label className="check">
        <input
          type="checkbox"
          checked={policy.autoRestart}
          onChange={(e) => setPolicy({ ...policy, autoRestart: e.target.checked })}
        />
        Restart automatically after a crash
      </label>
      {NUMBERS.map(({ key, label, min, max, hint }) => (
        <Field
          key={key}
          label={label}
          type="number"
          required
          min={min}
          max={max}
          hint={hint}
          value={policy[key]}
          onChange={(e) => setPolicy({ ...policy, [key]: Number(e.target.value) })}
          errors={save.error?.field(`crashPolicy.${key}`)}
        />
      ))}
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={save.busy}>
          Save crash policy
        </button>
      </div>
    </form>
  );
}
