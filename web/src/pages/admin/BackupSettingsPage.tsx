import { useEffect, useState } from 'react';
import { api, type S3Settings } from '../../api';
import { ConfirmDialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { Spinner } from '../../components/Spinner';
import { useAction, useApi } from '../../lib/useApi';

const EMPTY: S3Settings = {
  endpoint: '',
  bucket: '',
  region: 'us-east-1',
  pathStyle: true,
  accessKey: '',
  partSizeMib: 8,
};

const TEXT_FIELDS: { key: 'endpoint' | 'bucket' | 'region' | 'accessKey'; label: string; hint?: string }[] = [
  { key: 'endpoint', label: 'Endpoint', hint: 'https://s3.eu-central-1.amazonaws.com, or your MinIO / Garage address.' },
  { key: 'bucket', label: 'Bucket' },
  { key: 'region', label: 'Region' },
  { key: 'accessKey', label: 'Access key' },
];

/** Where new backups go: the nodes, or an S3-compatible bucket (admin:settings). */
export function BackupSettingsPage() {
  const current = useApi(() => api.settings.s3(), []);
  const [form, setForm] = useState<S3Settings>(EMPTY);
  const [secret, setSecret] = useState('');
  const [saved, setSaved] = useState('');
  const [clearing, setClearing] = useState(false);
  const save = useAction();
  const clear = useAction();
  const configured = !!current.data;

  useEffect(() => {
    if (current.data) setForm(current.data);
  }, [current.data]);

  const set = <K extends keyof S3Settings>(key: K, value: S3Settings[K]) => setForm({ ...form, [key]: value });

  if (current.loading && current.data === undefined) return <Spinner label="Loading backup settings" />;

  return (
    <section className="page">
      <div className="page-head">
        <h1>Backups</h1>
      </div>
      <ErrorMessage error={current.error} />
      <div className="card">
        <p data-testid="backup-target">
          {configured
            ? `New backups go to the S3 bucket ${current.data?.bucket} at ${current.data?.endpoint}.`
            : 'New backups stay on the node of their server. Configure a bucket to keep them in S3.'}
        </p>
        {saved && (
          <div className="alert" role="status">
            <div className="alert-body">{saved}</div>
          </div>
        )}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save.run(async () => {
              const body = { ...form, secretKey: secret || undefined };
              await api.settings.setS3(body);
              setSecret('');
              setSaved('Saved: the bucket answered to these credentials.');
              await current.reload();
            });
          }}
        >
          <ErrorMessage error={save.error} />
          {TEXT_FIELDS.map((f) => (
            <Field
              key={f.key}
              label={f.label}
              hint={f.hint}
              required
              autoComplete="off"
              value={form[f.key]}
              onChange={(e) => set(f.key, e.target.value)}
              errors={save.error?.field(f.key)}
            />
          ))}
          <label className="check">
            <input type="checkbox" checked={form.pathStyle} onChange={(e) => set('pathStyle', e.target.checked)} />
            Path-style addresses (endpoint/bucket; most self-hosted stores)
          </label>
          <Field
            label="Secret key"
            type="password"
            autoComplete="new-password"
            required={!configured}
            hint={configured ? 'Stored encrypted and never shown; leave empty to keep it.' : 'Stored encrypted and never shown.'}
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
            errors={save.error?.field('secretKey')}
          />
          <Field
            label="Part size (MiB)"
            type="number"
            min={5}
            max={64}
            hint="Each running backup holds one part in its node's memory."
            value={form.partSizeMib}
            onChange={(e) => set('partSizeMib', Number(e.target.value))}
            errors={save.error?.field('partSizeMib')}
          />
          <div className="actions">
            {configured && (
              <button type="button" className="btn btn-danger" onClick={() => setClearing(true)}>
                Keep backups on the nodes
              </button>
            )}
            <button type="submit" className="btn btn-primary" disabled={save.busy}>
              Check and save
            </button>
          </div>
        </form>
      </div>
      <ConfirmDialog
        open={clearing}
        title="Stop using the bucket"
        message="New backups stay on their nodes. Backups already in the bucket can no longer be downloaded, restored or deleted through the panel."
        confirmLabel="Stop using it"
        busy={clear.busy}
        onClose={() => setClearing(false)}
        onConfirm={() =>
          void clear.run(async () => {
            await api.settings.clearS3();
            setClearing(false);
            setForm(EMPTY);
            setSaved('');
            await current.reload();
          })
        }
        error={clear.error}
      />
    </section>
  );
}
