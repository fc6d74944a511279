import type { ReactNode } from 'react';
import { Dialog } from './Dialog';

/** Shows a secret (join command, API key) that the panel returns only once, with Copy. */
export function SecretDialog({
  title,
  secret,
  onClose,
  children,
  testId,
}: {
  title: string;
  secret: string | null | undefined;
  onClose: () => void;
  children: ReactNode;
  testId?: string;
}) {
  return (
    <Dialog open={!!secret} title={title} wide onClose={onClose}>
      {children}
      <code className="secret" data-testid={testId}>
        {secret}
      </code>
      <div className="actions">
        <button type="button" className="btn" onClick={() => void navigator.clipboard?.writeText(secret ?? '')}>
          Copy
        </button>
        <button type="button" className="btn btn-primary" onClick={onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}
