import { useId, type InputHTMLAttributes, type ReactNode } from 'react';

/** A labelled input with hint and inline error messages wired up for screen readers. */
export function Field({
  label,
  hint,
  errors,
  ...input
}: {
  label: string;
  hint?: ReactNode;
  errors?: string[];
} & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  const invalid = !!errors && errors.length > 0;
  const describedBy = [hint ? hintId : '', invalid ? errId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={invalid || undefined} aria-describedby={describedBy} {...input} />
      {hint && (
        <small id={hintId} className="muted">
          {hint}
        </small>
      )}
      {invalid && (
        <small id={errId} className="field-error">
          {errors.join(' ')}
        </small>
      )}
    </div>
  );
}
