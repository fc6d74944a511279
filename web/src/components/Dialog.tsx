import { useEffect, useId, useRef, type ReactNode } from 'react';
import type { ApiError } from '../api';
import { ErrorMessage } from './ErrorMessage';

/** A modal built on <dialog>: focus trapping, Escape to close and a backdrop for free. */
export function Dialog({
  open,
  title,
  onClose,
  children,
  wide,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      if (typeof d.showModal === 'function') d.showModal();
      else d.setAttribute('open', '');
    } else if (!open && d.open) {
      if (typeof d.close === 'function') d.close();
      else d.removeAttribute('open');
    }
  }, [open]);
  return (
    <dialog
      ref={ref}
      className={wide ? 'dialog dialog-wide' : 'dialog'}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {open && (
        <>
          <header className="dialog-head">
            <h2 id={titleId}>{title}</h2>
            <button type="button" className="btn-icon" aria-label="Close" onClick={onClose}>
              ×
            </button>
          </header>
          <div className="dialog-body">{children}</div>
        </>
      )}
    </dialog>
  );
}

/** Asks before doing something that cannot be undone; optionally requires typing a word. */
export function ConfirmDialog({
  open,
  title,
  message,
  confirmLabel,
  confirmWord,
  busy,
  onConfirm,
  onClose,
  error,
  children,
}: {
  open: boolean;
  title: string;
  message: ReactNode;
  /** The failure of the confirmed action, shown inside the dialog. */
  error?: ApiError | null;
  confirmLabel: string;
  confirmWord?: string;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
  children?: ReactNode;
}) {
  const inputRef = useRef<HTMLInputElement>(null);
  return (
    <Dialog open={open} title={title} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (confirmWord && inputRef.current?.value !== confirmWord) return;
          onConfirm();
        }}
      >
        <p>{message}</p>
        <ErrorMessage error={error ?? null} />
        {confirmWord && (
          <label className="field">
            <span>
              Type <code>{confirmWord}</code> to confirm
            </span>
            <input ref={inputRef} autoComplete="off" required pattern={escapeRegex(confirmWord)} />
          </label>
        )}
        {children}
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-danger" disabled={busy}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
