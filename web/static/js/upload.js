/**
 * Attachments in the client: the composer's "add a file" button and drop zone, each
 * upload with a progress bar and a cancel button (XMLHttpRequest: fetch reports no upload
 * progress), the finished ones listed until the message is sent, and a message's files
 * shown as download links with name, type and size.
 * @module upload
 */
import { h, srOnly, uid } from './dom.js';
import { errorText } from './i18n.js';

/** As the server allows (docs/protocol.md, "Attachments"). */
const MAX_FILES = 10;
const ACCEPT = '.pdf,.png,.jpg,.jpeg,.odt,.ods,.odp,.docx,.xlsx,.pptx,.txt,'
  + 'application/pdf,image/png,image/jpeg,text/plain';
const TYPE_LABELS = /** @type {Record<string, string>} */ ({
  'application/pdf': 'PDF',
  'image/png': 'PNG-afbeelding',
  'image/jpeg': 'JPEG-afbeelding',
  'application/vnd.oasis.opendocument.text': 'tekstdocument (ODT)',
  'application/vnd.oasis.opendocument.spreadsheet': 'rekenblad (ODS)',
  'application/vnd.oasis.opendocument.presentation': 'presentatie (ODP)',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'Word-document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'Excel-werkblad',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'PowerPoint-presentatie',
  'text/plain; charset=utf-8': 'tekst',
});
const UPLOAD_ERRORS = /** @type {Record<string, string>} */ ({
  too_large: 'Het bestand is te groot, of je opslagruimte is vol.',
  unsupported_type: 'Dit soort bestand kan niet worden gedeeld. Wel: PDF, PNG, JPEG, ODF, Word, Excel, PowerPoint en tekst.',
  infected: 'De virusscanner heeft iets gevonden in dit bestand. Het is niet opgeslagen.',
  unavailable: 'De virusscanner is even niet bereikbaar. Probeer het zo opnieuw.',
});

/** @typedef {{id: number, name: string, size: number, type: string}} FileInfo */

/** @param {number} n bytes, in Dutch notation */
export function formatSize(n) {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toLocaleString('nl-NL', { maximumFractionDigits: v < 10 ? 1 : 0 })} ${units[i]}`;
}

/** @param {string} type */
function typeLabel(type) {
  return TYPE_LABELS[type] ?? 'bestand';
}

/** Types the server makes a preview of (web/previews.py). */
const PREVIEWED = new Set(['image/png', 'image/jpeg']);

/**
 * A message's files as a list of cards: name (a download link), type and size; an image
 * also shows its preview inline (alt text: the file's name). A preview that does not load
 * (none could be made) leaves the plain card.
 * @param {FileInfo[]} files
 */
export function fileList(files) {
  return h('ul', { class: 'msg-files', 'aria-label': 'Bijlagen' },
    files.map((f) => fileCard(f)));
}

/** @param {FileInfo} f */
function fileCard(f) {
  const id = encodeURIComponent(String(f.id));
  const card = h('li', { class: 'file-card' },
    h('a', { href: `/api/files/${id}`, download: f.name, class: 'file-link', text: f.name }),
    h('span', { class: 'file-meta', text: `${typeLabel(f.type)}, ${formatSize(f.size)}` }));
  if (PREVIEWED.has(f.type)) {
    const img = h('img', {
      src: `/api/files/${id}/preview`, alt: f.name, class: 'file-preview', loading: 'lazy',
      onerror: () => { img.remove(); card.classList.remove('file-image'); },
    });
    card.classList.add('file-image');
    card.prepend(img);
  }
  return card;
}

/**
 * Uploads with progress and cancel: the composer's (to a room, kept until `take()`), or a
 * meeting report's (`url` the meeting's, `onDone` after each; stored at once, so there is
 * nothing to take back: `removable` false).
 */
export class Uploads {
  /**
   * @param {string} slug the room the files go to
   * @param {(text: string) => void} say tells screen reader users what happened
   * @param {{url?: string, onDone?: (f: FileInfo) => void, removable?: boolean, label?: string, listLabel?: string}} [options]
   */
  constructor(slug, say, options = {}) {
    this.slug = slug;
    this.say = say;
    this.url = options.url ?? `/api/rooms/${encodeURIComponent(slug)}/files`;
    this.onDone = options.onDone ?? (() => {});
    this.removable = options.removable ?? true;
    /** @type {FileInfo[]} */
    this.done = [];
    /** @type {Set<XMLHttpRequest>} */
    this.running = new Set();
    const inputId = uid('bijlage');
    this.input = /** @type {HTMLInputElement} */ (h('input', {
      type: 'file', id: inputId, class: 'visually-hidden', multiple: true, accept: ACCEPT,
      onchange: () => { this.addAll([...(this.input.files ?? [])]); this.input.value = ''; },
    }));
    this.list = h('ul', { class: 'upload-list', 'aria-label': options.listLabel ?? 'Bijlagen bij je bericht' });
    this.list.hidden = true;
    this.el = h('div', { class: 'uploads' },
      this.input,
      h('label', { for: inputId, class: 'btn btn-small upload-button' }, options.label ?? 'Bestand toevoegen'),
      this.list);
  }

  /**
   * Files dropped on `zone` are uploaded too.
   * @param {HTMLElement} zone
   */
  dropOn(zone) {
    zone.addEventListener('dragover', (ev) => {
      if (!ev.dataTransfer?.types.includes('Files')) return;
      ev.preventDefault();
      zone.classList.add('drop-target');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('drop-target'));
    zone.addEventListener('drop', (ev) => {
      zone.classList.remove('drop-target');
      if (!ev.dataTransfer?.files.length) return;
      ev.preventDefault();
      this.addAll([...ev.dataTransfer.files]);
    });
  }

  /** How many files are ready to send. */
  count() {
    return this.done.length;
  }

  /** The uploaded files' ids for a send; the list is emptied. */
  take() {
    const ids = this.done.map((f) => f.id);
    this.done = [];
    for (const li of [...this.list.querySelectorAll('li.upload-done')]) li.remove();
    this.list.hidden = this.list.children.length === 0;
    return ids;
  }

  /** @param {File[]} files */
  addAll(files) {
    for (const file of files) {
      if (this.done.length + this.running.size >= MAX_FILES) {
        this.say(`Hoogstens ${MAX_FILES} bestanden per bericht.`);
        return;
      }
      this.upload(file);
    }
  }

  /** @param {File} file */
  upload(file) {
    const xhr = new XMLHttpRequest();
    const progress = /** @type {HTMLProgressElement} */ (h('progress', { max: 100, value: 0, 'aria-label': `Voortgang van ${file.name}` }));
    const status = h('span', { class: 'upload-status', text: 'wordt geüpload…' });
    const cancel = h('button', {
      type: 'button', class: 'link-button', onclick: () => xhr.abort(),
    }, 'Annuleren', srOnly(` upload van ${file.name}`));
    const item = h('li', { class: 'upload-item' },
      h('span', { class: 'upload-name', text: file.name }), progress, status, cancel);
    this.list.append(item);
    this.list.hidden = false;
    this.running.add(xhr);
    const finish = () => {
      this.running.delete(xhr);
      cancel.remove();
      progress.remove();
    };
    xhr.upload.addEventListener('progress', (ev) => {
      if (ev.lengthComputable) progress.value = Math.round((ev.loaded / ev.total) * 100);
    });
    xhr.addEventListener('load', () => {
      finish();
      /** @type {any} */
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = null; }
      if (xhr.status === 201 && data?.file) {
        /** @type {FileInfo} */
        const f = data.file;
        this.done.push(f);
        item.classList.add('upload-done');
        status.textContent = `${typeLabel(f.type)}, ${formatSize(f.size)}`;
        this.onDone(f);
        if (this.removable) item.append(h('button', {
          type: 'button', class: 'link-button',
          onclick: () => { this.done = this.done.filter((d) => d.id !== f.id); item.remove(); this.list.hidden = this.list.children.length === 0; },
        }, 'Verwijderen', srOnly(` ${f.name}`)));
        this.say(`${f.name} is toegevoegd.`);
      } else {
        const code = data?.error?.code ?? 'internal';
        const text = UPLOAD_ERRORS[code] ?? errorText(code);
        status.textContent = text;
        item.classList.add('upload-failed');
        this.say(`${file.name}: ${text}`);
        this.dismissLater(item);
      }
    });
    xhr.addEventListener('error', () => {
      finish();
      status.textContent = 'Geen verbinding: het bestand is niet geüpload.';
      item.classList.add('upload-failed');
      this.dismissLater(item);
    });
    xhr.addEventListener('abort', () => {
      finish();
      item.remove();
      this.list.hidden = this.list.children.length === 0;
      this.say(`Upload van ${file.name} geannuleerd.`);
    });
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.open('POST', this.url);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.send(form);
  }

  /** A failed upload's line stays until the next message is sent. @param {HTMLElement} item */
  dismissLater(item) {
    item.classList.add('upload-done');
  }

  /** Stop every running upload (leaving the room). */
  abortAll() {
    for (const xhr of [...this.running]) xhr.abort();
  }
}
