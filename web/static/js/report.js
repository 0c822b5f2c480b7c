/**
 * The verslag of a meeting (docs/verslag.md): the published report for everyone, and for
 * its moderators an editor with a server-rendered preview, the revisions and a publish
 * button. `mountReport(section, meetingSlug, me)` fills a section of any page (the
 * bijeenkomst page calls it); `renderReportPage` is the page `/verslag/<slug>`.
 *
 * The only HTML inserted as markup is what the server rendered from Markdown and
 * sanitised (`report.html`, the preview's `html`); everything else is text nodes.
 * @module report
 */
import { ApiError, request as call } from './api.js';
import { h, replace, uid } from './dom.js';
import { formatDateTime, snippetNodes } from './format.js';
import { errorText } from './i18n.js';
import { path } from './router.js';
import { Uploads, fileList } from './upload.js';

// The contract's limit on a report, in characters (rooms/verslag.py MAX_BODY_CHARS).
export const MAX_REPORT_CHARS = 200000;

const base = (/** @type {string} */ slug) => `/api/meetings/${encodeURIComponent(slug)}/report`;

export const reports = {
  /** @param {string} slug */
  get: (slug) => call('GET', base(slug)),
  /** @param {string} slug @param {string} body */
  put: (slug, body) => call('PUT', base(slug), { body }),
  /** @param {string} slug */
  publish: (slug) => call('POST', `${base(slug)}/publish`),
  /** @param {string} slug */
  revisions: (slug) => call('GET', `${base(slug)}/revisions`),
  /** @param {string} slug @param {string} body */
  preview: (slug, body) => call('POST', `${base(slug)}/preview`, { body }),
  /** @param {string} slug */
  draft: (slug) => call('GET', `${base(slug)}/draft`),
};

/** The client's address of a meeting's report. @param {string} slug */
export function reportHref(slug) {
  return path('verslag', slug);
}

/**
 * Sanitised HTML from the server, as a node. Parsed by a <template>, which runs no
 * script and loads nothing, before it enters the page.
 * @param {string} html
 */
function serverHtml(html) {
  const template = document.createElement('template');
  template.innerHTML = html;
  const box = h('div', { class: 'report-html' });
  box.append(template.content);
  return box;
}

/** @param {any} report */
function statusLine(report) {
  if (report.status === 'published') {
    return h('p', { class: 'report-status', text: `Gepubliceerd op ${formatDateTime(report.published_at)}` });
  }
  return h('p', { class: 'report-status report-draft', text: `Concept (versie ${report.revision}), nog niet gepubliceerd` });
}

/**
 * Fill `section` with the meeting's report; moderators also get the editor.
 * @param {HTMLElement} section
 * @param {string} meetingSlug
 * @param {{username: string, role?: string} | null} me
 */
export async function mountReport(section, meetingSlug, me) {
  const titleId = uid('report-title');
  section.classList.add('report');
  section.setAttribute('aria-labelledby', titleId);
  const heading = h('h2', { id: titleId, text: 'Verslag' });
  const shown = h('div', { class: 'report-shown' }, h('p', { class: 'loading', text: 'Bezig met laden…' }));
  const status = h('p', { class: 'report-live', role: 'status' });
  replace(section, heading, shown, status);
  /** @type {any} */
  let report = null;
  /** @type {any[] | null} */
  let revisions = null;
  try {
    report = (await reports.get(meetingSlug)).report;
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'not_found') {
      replace(shown, h('p', { class: 'form-error', role: 'alert', text: errorText(/** @type {any} */ (err).code) }));
      return;
    }
  }
  // The revisions answer only the report's moderators: that decides the editor.
  if (me) {
    try {
      revisions = (await reports.revisions(meetingSlug)).revisions;
    } catch {
      revisions = null;
    }
  }
  showReport(shown, report);
  if (revisions !== null) {
    section.append(editor(meetingSlug, report, revisions, { shown, status }));
  }
}

/** @param {HTMLElement} shown @param {any} report */
function showReport(shown, report) {
  if (!report) {
    replace(shown, h('p', { class: 'empty', text: 'Er is nog geen verslag.' }));
    return;
  }
  replace(shown, statusLine(report), h('article', { class: 'report-body' }, serverHtml(report.html)),
    report.files?.length ? appendices(report.files) : null);
}

/** The report's appendices: a card for each file (an image with its preview). @param {any[]} files */
function appendices(files) {
  const id = uid('report-files');
  return h('section', { class: 'report-files', 'aria-labelledby': id },
    h('h3', { id, text: 'Bijlagen' }), fileList(files));
}

/**
 * The moderators' editor: Markdown, a preview, save, publish and the revisions.
 * @param {string} slug
 * @param {any} report
 * @param {any[]} revisions
 * @param {{shown: HTMLElement, status: HTMLElement}} parts
 */
function editor(slug, report, revisions, parts) {
  const boxId = uid('report-editor');
  const textId = uid('report-text');
  const hintId = uid('report-hint');
  const previewId = uid('report-preview');
  const text = /** @type {HTMLTextAreaElement} */ (h('textarea', {
    id: textId, rows: 16, maxlength: MAX_REPORT_CHARS, 'aria-describedby': hintId, spellcheck: 'true',
  }));
  text.value = report ? report.body : '';
  const error = h('p', { class: 'form-error', role: 'alert' });
  const preview = h('div', { class: 'report-preview', id: previewId });
  const revList = h('ol', { class: 'report-revisions', reversed: true });
  const publishBtn = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => onPublish(), text: 'Publiceren' });
  const say = (/** @type {string} */ msg) => { parts.status.textContent = msg; };
  const fail = (/** @type {any} */ err) => { error.textContent = errorText(err?.code ?? 'internal'); };

  const fillRevisions = (/** @type {any[]} */ list) => {
    replace(revList, list.length
      ? list.map((r) => h('li', { value: String(r.revision) },
        `Versie ${r.revision}, ${formatDateTime(r.updated_at)}${r.updated_by ? `, door ${r.updated_by}` : ''}`))
      : h('li', { text: 'Nog geen versies.' }));
  };
  const setPublishState = () => {
    const published = report?.status === 'published';
    publishBtn.toggleAttribute('disabled', !report || published);
    publishBtn.textContent = published ? 'Gepubliceerd' : 'Publiceren';
  };
  fillRevisions(revisions);
  setPublishState();

  // Appendices go to the meeting at once (POST /api/meetings/{slug}/files): the shown
  // report is read again after each, so that it lists them.
  const attachId = uid('report-attach');
  const uploads = new Uploads(slug, say, {
    url: `/api/meetings/${encodeURIComponent(slug)}/files`,
    removable: false,
    label: 'Bijlage toevoegen',
    listLabel: 'Bijlagen die nu worden toegevoegd',
    onDone: async () => {
      try {
        report = (await reports.get(slug)).report;
        showReport(parts.shown, report);
      } catch { /* no report saved yet: the files show once it is */ }
    },
  });

  const onPreview = async () => {
    error.textContent = '';
    try {
      const { html } = await reports.preview(slug, text.value);
      replace(preview, h('h3', { text: 'Voorbeeld' }), serverHtml(html));
      say('Voorbeeld bijgewerkt.');
    } catch (err) { fail(err); }
  };
  const onSave = async (/** @type {Event} */ ev) => {
    ev.preventDefault();
    error.textContent = '';
    try {
      report = (await reports.put(slug, text.value)).report;
      showReport(parts.shown, report);
      fillRevisions((await reports.revisions(slug)).revisions);
      setPublishState();
      say(`Opgeslagen als versie ${report.revision}.`);
    } catch (err) { fail(err); }
  };
  const onPublish = async () => {
    error.textContent = '';
    try {
      report = (await reports.publish(slug)).report;
      showReport(parts.shown, report);
      setPublishState();
      say('Het verslag is gepubliceerd.');
    } catch (err) { fail(err); }
  };
  const onDraft = async () => {
    error.textContent = '';
    if (text.value.trim() && !window.confirm('De tekst in het veld vervangen door een opzet uit de agenda?')) return;
    try {
      text.value = (await reports.draft(slug)).body;
      text.focus();
      say('Opzet uit de agenda, besluiten en actiepunten geplaatst. Nog niet opgeslagen.');
    } catch (err) { fail(err); }
  };

  return h('section', { class: 'report-editor', 'aria-labelledby': boxId },
    h('h3', { id: boxId, text: 'Verslag schrijven' }),
    h('form', { onsubmit: onSave },
      h('div', { class: 'field' },
        h('label', { for: textId, text: 'Tekst (Markdown)' }),
        h('p', { class: 'hint', id: hintId,
          text: 'Koppen met #, opsommingen met -, links als [tekst](https://…). HTML wordt niet overgenomen.' }),
        text),
      error,
      h('div', { class: 'report-actions' },
        h('button', { type: 'submit', class: 'btn', text: 'Opslaan' }),
        h('button', { type: 'button', class: 'btn', 'aria-controls': previewId, onclick: onPreview, text: 'Voorbeeld tonen' }),
        h('button', { type: 'button', class: 'btn', onclick: onDraft, text: 'Opzet uit de agenda' }),
        publishBtn)),
    h('section', { class: 'report-attach', 'aria-labelledby': attachId },
      h('h3', { id: attachId, text: 'Bijlagen bij het verslag' }),
      h('p', { class: 'hint', text: 'PDF, afbeeldingen, ODF-, Word-, Excel- en PowerPoint-bestanden en tekst; ze staan direct bij het verslag.' }),
      uploads.el),
    preview,
    h('h3', { text: 'Versies' }),
    revList);
}

/**
 * The catch-up's list of published reports, the missed ones first with their notice.
 * @param {any[]} news `reports` of GET /api/catchup
 */
export function reportNews(news) {
  if (!news?.length) return null;
  const id = uid('report-news');
  return h('section', { class: 'report-news', 'aria-labelledby': id },
    h('h2', { id, text: 'Verslagen' }),
    h('ul', {}, news.map((n) => h('li', { class: n.missed ? 'report-missed' : null },
      h('a', { href: reportHref(n.meeting), text: n.missed ? n.notice : n.title }),
      n.missed ? h('span', { text: ` (${n.title})` }) : ` (${formatDateTime(n.published_at)})`))));
}

/**
 * A search hit of kind `report`: the report's title as a link, and the marked snippet.
 * @param {any} hit
 */
export function reportHit(hit) {
  const snippet = h('p', { class: 'snippet', dir: 'auto' });
  snippet.appendChild(snippetNodes(String(hit.snippet ?? '')));
  return h('li', { class: 'hit' },
    h('p', { class: 'hit-head' }, h('a', { href: reportHref(hit.meeting), text: hit.title ?? 'Verslag' }),
      hit.published_at ? h('span', { class: 'org', text: ` (gepubliceerd ${formatDateTime(hit.published_at)})` }) : null),
    snippet);
}

/**
 * The page `/verslag/<slug>`.
 * @param {HTMLElement} main
 * @param {string} slug
 * @param {{username: string, role?: string} | null} me
 */
export function renderReportPage(main, slug, me) {
  document.title = 'Verslag – Werkplaats';
  const section = h('section', {});
  replace(main, h('div', { class: 'report-page' },
    h('h1', { tabindex: '-1', text: 'Verslag van de bijeenkomst' }), section));
  mountReport(section, slug, me);
}
