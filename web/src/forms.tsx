/**
 * The one form of the UI: fields with their label, hint and inline error (tied to the control by
 * id and aria-describedby), and FormDialog, which every tab's create/edit dialog is: it sends
 * the request, shows the server's one-line error next to the field it is about (and under the
 * form), and holds the buttons. The keyboard and focus rules live in Dialog (components.tsx).
 */
import { cloneElement, createContext, isValidElement, useContext, useEffect, useId, useState, type InputHTMLAttributes, type ReactElement, type ReactNode } from 'react';
import { Needs, type Change } from './access';
import { Dialog, ErrorLine, useAction } from './components';
import { inputDate, parseInputDate } from './format';

interface FormContextValue {
  /** the server's error, when it is about the field `name` (or whose label is `label`, or that says one of `words`) */
  errorFor(name: string, label: string, words?: readonly string[]): string | null;
  act(work: () => Promise<unknown>): Promise<void>;
  busy: boolean;
}

const FormContext = createContext<FormContextValue | null>(null);

/** The request runner of the FormDialog around a component (for extra buttons: Run now, Retry, Delete). */
export function useFormAction(): Pick<FormContextValue, 'act' | 'busy'> {
  const context = useContext(FormContext);
  if (!context) throw new Error('useFormAction needs a FormDialog around it');
  return context;
}

/**
 * Whether a server message is about a field: it names the field as the API does (`triggerName
 * must ...`) or as people do (`trigger name is too long`, `a trigger named "x" already exists`).
 */
function messageIsAbout(message: string, name: string, label: string, words: readonly string[] = []): boolean {
  const lower = message.toLowerCase();
  const spoken = name.replace(/([A-Z])/g, ' $1').toLowerCase();
  return (
    message.startsWith(`${name} `) ||
    message.includes(` ${name} `) ||
    lower.startsWith(`${spoken} `) ||
    lower.includes(` ${spoken} `) ||
    lower.startsWith(`${label.toLowerCase()} `) ||
    words.some((word) => lower.includes(word))
  );
}

/**
 * A labelled control: `children` is one input, select or textarea; it gets the id, the
 * description (hint, error) and aria-invalid. `name` ties a server error to it inside a FormDialog.
 */
export function Field({ label, name, children, hint, error, errorWords }: { label: string; name?: string; children: ReactNode; hint?: ReactNode; error?: string | null; errorWords?: readonly string[] }) {
  const id = useId();
  const context = useContext(FormContext);
  const shown = error ?? (name && context ? context.errorFor(name, label, errorWords) : null);
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = shown ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  const control = isValidElement(children)
    ? cloneElement(children as ReactElement<Record<string, unknown>>, { id, 'aria-describedby': describedBy, 'aria-invalid': shown ? true : undefined })
    : children;
  return (
    <div className="field">
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      {control}
      {hint && (
        <span className="hint" id={hintId}>
          {hint}
        </span>
      )}
      {shown && (
        <span className="field-error" id={errorId}>
          {shown}
        </span>
      )}
    </div>
  );
}

interface ControlProps {
  name: string;
  label: string;
  hint?: ReactNode;
  error?: string | null;
  /** more ways the server's messages name this field ("a trigger named") */
  errorWords?: readonly string[];
}

export function TextField({ name, label, hint, error, errorWords, value, onChange, ...input }: ControlProps & { value: string; onChange: (value: string) => void } & Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange' | 'name'>) {
  return (
    <Field label={label} name={name} hint={hint} error={error} errorWords={errorWords}>
      <input name={name} value={value} onChange={(e) => onChange(e.target.value)} {...input} />
    </Field>
  );
}

export function TextArea({ name, label, hint, error, value, onChange, rows = 3, maxLength }: ControlProps & { value: string; onChange: (value: string) => void; rows?: number; maxLength?: number }) {
  return (
    <Field label={label} name={name} hint={hint} error={error}>
      <textarea name={name} value={value} onChange={(e) => onChange(e.target.value)} rows={rows} maxLength={maxLength} />
    </Field>
  );
}

export function SelectField<V extends string>({ name, label, hint, error, value, onChange, options }: ControlProps & { value: V; onChange: (value: V) => void; options: readonly (readonly [V, string])[] }) {
  return (
    <Field label={label} name={name} hint={hint} error={error}>
      <select name={name} value={value} onChange={(e) => onChange(e.target.value as V)}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** A checkbox with its label after it (one click target). */
export function CheckField({ name, label, hint, checked, onChange }: { name: string; label: ReactNode; hint?: ReactNode; checked: boolean; onChange: (checked: boolean) => void }) {
  const hintId = `${name}-hint`;
  return (
    <>
      <label className="check">
        <input name={name} type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} aria-describedby={hint ? hintId : undefined} /> {label}
      </label>
      {hint && (
        <span className="hint" id={hintId}>
          {hint}
        </span>
      )}
    </>
  );
}

/**
 * A date and time typed as DD-MM-YYYY HH:MM (the tables' format), checked as you type. `value`
 * and `onChange` carry the API's form, `YYYY-MM-DDTHH:MM`, or '' for none.
 */
export function DateTimeInput({ name, value, onChange, required, label: text, hint, error }: { name: string; value: string; onChange: (value: string) => void; required?: boolean; label: string; hint?: ReactNode; error?: string | null }) {
  const [typed, setTyped] = useState(() => inputDate(value));
  const parsed = parseInputDate(typed);
  // A value set from outside (a reset, "now", the address) replaces what is typed.
  useEffect(() => {
    if (parsed !== value) setTyped(inputDate(value));
  }, [value]);
  const invalid = parsed === null ? 'use DD-MM-YYYY HH:MM, e.g. 24-12-2026 18:30' : null;
  return (
    <Field label={text} name={name} hint={hint} error={error ?? invalid}>
      <input
        name={name}
        value={typed}
        placeholder="DD-MM-YYYY HH:MM"
        inputMode="numeric"
        autoComplete="off"
        required={required}
        onChange={(e) => {
          setTyped(e.target.value);
          const next = parseInputDate(e.target.value);
          if (next !== null) onChange(next);
        }}
      />
    </Field>
  );
}

/** A Delete button that asks once more ("Really delete …?") before it calls `onDelete`. */
export function DeleteButton({ what, onDelete, disabled }: { what?: string; onDelete: () => void; disabled?: boolean }) {
  const [confirm, setConfirm] = useState(false);
  return (
    <button type="button" className="danger" disabled={disabled} onClick={() => (confirm ? onDelete() : setConfirm(true))}>
      {confirm ? (what ? `Really delete "${what}"?` : 'Really delete?') : 'Delete'}
    </button>
  );
}

/**
 * A create/edit dialog: `onSubmit` sends the request; on success `onDone`, otherwise the error
 * shows by its field and under the form. `extra` holds more buttons (they may use useFormAction);
 * `onDelete` adds a Delete that asks once more. `needs` names the table the dialog changes: its
 * Save (and `extra`) need `needs.submit` there and its Delete needs DELETE, and each is shown
 * unavailable to a login without that right (team mode; the database stays the judge).
 *
 * @example
 *   <FormDialog title="New constant" onSubmit={() => api('POST', '/api/constants', { name, value })} onDone={close} onClose={close} submitLabel="Create">
 *     <TextField name="name" label="Name" value={name} onChange={setName} required />
 *   </FormDialog>
 */
export function FormDialog({
  title,
  wide,
  onClose,
  onSubmit,
  onDone,
  submitLabel = 'Save',
  extra,
  onDelete,
  deleteWhat,
  needs,
  grid = true,
  before,
  children,
}: {
  title: string;
  wide?: boolean;
  onClose: () => void;
  onSubmit: () => Promise<unknown>;
  onDone: () => void;
  submitLabel?: string;
  extra?: ReactNode;
  onDelete?: () => Promise<unknown>;
  deleteWhat?: string;
  needs?: { table: string; submit: Change };
  /** two columns of fields (default) or one */
  grid?: boolean;
  /** shown above the form (facts, history) */
  before?: ReactNode;
  children: ReactNode;
}) {
  const { error, busy, act } = useAction(onDone);
  const context: FormContextValue = {
    errorFor: (name, label, words) => (error && messageIsAbout(error, name, label, words) ? error : null),
    act,
    busy,
  };
  return (
    <Dialog title={title} onClose={onClose} wide={wide}>
      {before}
      <FormContext.Provider value={context}>
        <form
          className={grid ? 'grid-form' : undefined}
          onSubmit={(e) => {
            e.preventDefault();
            void act(onSubmit);
          }}
        >
          {children}
          <ErrorLine error={error} />
          <div className="buttons">
            <MayNeed table={needs?.table} privilege={needs?.submit}>
              <button type="submit" className="primary" disabled={busy}>
                {submitLabel}
              </button>
              {extra}
            </MayNeed>
            {onDelete && (
              <MayNeed table={needs?.table} privilege="DELETE">
                <DeleteButton what={deleteWhat} disabled={busy} onDelete={() => void act(onDelete)} />
              </MayNeed>
            )}
            <button type="button" onClick={onClose}>
              Cancel
            </button>
          </div>
        </form>
      </FormContext.Provider>
    </Dialog>
  );
}

/** <Needs> when a table is named, the children alone otherwise. */
function MayNeed({ table, privilege, children }: { table: string | undefined; privilege: Change | undefined; children: ReactNode }) {
  return table && privilege ? (
    <Needs table={table} privilege={privilege}>
      {children}
    </Needs>
  ) : (
    <>{children}</>
  );
}
