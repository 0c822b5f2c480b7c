/**
 * Modal forms in a native <dialog>: focus moves in, Escape closes, focus returns to the
 * control that opened it. Used for moderator actions, reports and confirmations.
 * @module dialog
 */
import { h, uid } from './dom.js';
import { errorText } from './i18n.js';

/**
 * @typedef {{name: string, label: string, type?: 'text'|'textarea'|'number'|'checkbox'|'datetime-local', value?: string|number|boolean, required?: boolean, hint?: string, min?: number, max?: number, maxlength?: number}} Field
 */

/**
 * Open a form dialog. `onSubmit` gets the values; when it throws an ApiError the dialog
 * stays open and shows the Dutch error.
 * @param {{title: string, intro?: string, fields: Field[], submitLabel: string, danger?: boolean, onSubmit: (values: Record<string, any>) => Promise<void>|void}} opts
 * @returns {Promise<boolean>} true when submitted successfully
 */
export function formDialog({ title, intro, fields, submitLabel, danger, onSubmit }) {
  const back = returnPoint();
  const titleId = uid('dlg-title');
  const errorBox = h('p', { class: 'form-error', role: 'alert' });
  /** @type {Map<string, HTMLInputElement|HTMLTextAreaElement>} */
  const inputs = new Map();
  const rows = fields.map((f) => {
    const id = uid(`dlg-${f.name}`);
    const hintId = f.hint ? uid('dlg-hint') : null;
    let input;
    if (f.type === 'textarea') {
      input = h('textarea', { id, name: f.name, rows: 3, required: f.required, maxlength: f.maxlength, 'aria-describedby': hintId });
      input.value = String(f.value ?? '');
    } else if (f.type === 'checkbox') {
      input = h('input', { id, name: f.name, type: 'checkbox', 'aria-describedby': hintId });
      /** @type {HTMLInputElement} */ (input).checked = Boolean(f.value);
    } else {
      input = h('input', {
        id, name: f.name, type: f.type ?? 'text', required: f.required, min: f.min, max: f.max,
        maxlength: f.maxlength, 'aria-describedby': hintId, autocomplete: 'off',
      });
      /** @type {HTMLInputElement} */ (input).value = String(f.value ?? '');
    }
    inputs.set(f.name, /** @type {HTMLInputElement} */ (input));
    const label = h('label', { for: id, text: f.label });
    const hint = f.hint ? h('p', { class: 'hint', id: hintId, text: f.hint }) : null;
    return f.type === 'checkbox'
      ? h('div', { class: 'field field-check' }, input, label, hint)
      : h('div', { class: 'field' }, label, input, hint);
  });
  const submit = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary', text: submitLabel });
  const cancel = h('button', { type: 'button', class: 'btn', text: 'Annuleren' });
  const form = h('form', { method: 'dialog', class: 'dialog-form' },
    h('h2', { id: titleId, text: title }),
    intro ? h('p', { text: intro }) : null,
    rows, errorBox,
    h('div', { class: 'actions' }, submit, cancel));
  const dialog = /** @type {HTMLDialogElement} */ (h('dialog', { class: 'dialog', 'aria-labelledby': titleId }, form));
  document.body.appendChild(dialog);

  return new Promise((resolve) => {
    let done = false;
    const close = (/** @type {boolean} */ ok) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      back();
      resolve(ok);
    };
    cancel.addEventListener('click', () => close(false));
    dialog.addEventListener('cancel', (ev) => { ev.preventDefault(); close(false); });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      /** @type {Record<string, any>} */
      const values = {};
      for (const [name, input] of inputs) {
        values[name] = input instanceof HTMLInputElement && input.type === 'checkbox' ? input.checked : input.value.trim();
      }
      submit.setAttribute('disabled', '');
      errorBox.textContent = '';
      try {
        await onSubmit(values);
        close(true);
      } catch (err) {
        const e = /** @type {any} */ (err);
        errorBox.textContent = e && e.code ? errorText(e.code, e.retryAfter) : String(e?.message ?? e);
        submit.removeAttribute('disabled');
      }
    });
    dialog.showModal();
    // A destructive action starts on the safe choice; a form on its first field.
    const first = danger ? cancel : /** @type {HTMLElement|undefined} */ (inputs.values().next().value) ?? submit;
    first.focus();
  });
}

/**
 * Where the focus goes when a dialog closes: the control that opened it, or, when that
 * was redrawn meanwhile (a message after an edit or a retraction), the same kind of
 * control in the same place (the nearest element with an id), or that place itself.
 * @returns {() => void} call it to move the focus back
 */
export function returnPoint() {
  const opener = /** @type {HTMLElement|null} */ (document.activeElement);
  const place = opener?.parentElement?.closest('[id]');
  const placeId = place?.id ?? null;
  const kind = opener?.classList[0] ?? null;
  return () => {
    if (opener && opener.isConnected && opener !== document.body && opener.offsetParent !== null) {
      opener.focus();
      return;
    }
    const again = placeId ? document.getElementById(placeId) : null;
    const same = again && kind ? /** @type {HTMLElement|null} */ (again.querySelector(`.${CSS.escape(kind)}`)) : null;
    const target = same ?? again ?? document.getElementById('main');
    target?.focus();
  };
}
