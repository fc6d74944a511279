import type { ApiError } from '../api';

/** An API error as the user sees it: what went wrong and the request id to quote. */
export function ErrorMessage({ error, onDismiss }: { error: ApiError | null; onDismiss?: () => void }) {
  if (!error) return null;
  const fieldErrors = Object.entries(error.details);
  return (
    <div className="alert alert-error" role="alert">
      <div className="alert-body">
        <strong>{error.message}</strong>
        {fieldErrors.length > 0 && (
          <ul className="alert-fields">
            {fieldErrors.map(([field, msgs]) => (
              <li key={field}>
                <code>{field}</code>: {msgs.join(', ')}
              </li>
            ))}
          </ul>
        )}
        <span className="alert-meta">
          {error.code}
          {error.requestId && (
            <>
              {' · request '}
              <code>{error.requestId}</code>
            </>
          )}
        </span>
      </div>
      {onDismiss && (
        <button type="button" className="btn-icon" aria-label="Dismiss error" onClick={onDismiss}>
          ×
        </button>
      )}
    </div>
  );
}
