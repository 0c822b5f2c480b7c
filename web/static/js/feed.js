/**
 * The message list as one Tab stop (the ARIA feed pattern with a roving tabindex): one
 * article is in the Tab order, and so are the controls inside it; the arrow keys,
 * Page Up/Down and Home/End move between articles; Ctrl+Home/End leave the list.
 * Articles carry aria-posinset/aria-setsize; the separators (days, "Nieuwe berichten")
 * are drawn for the eye and describe the article that follows them (aria-describedby),
 * because a feed may own articles only.
 * @module feed
 */

const FOCUSABLE = 'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])';

export class Feed {
  /**
   * @param {HTMLElement} list the element that holds the articles and separators
   * @param {{
   *   label: string,
   *   complete: () => boolean,
   *   older: () => Promise<unknown>,
   *   newer: () => Promise<unknown>|null,
   *   before: () => void,
   *   after: () => void,
   *   end: (focus: boolean) => void,
   * }} hooks complete: no history left to load; older: load an older page; newer: load
   *   a newer page (null: the newest is here); before/after: focus what precedes or
   *   follows the list; end: go to the newest (End: loading it, focus on it)
   */
  constructor(list, hooks) {
    this.list = list;
    this.hooks = hooks;
    /** @type {HTMLElement|null} */
    this.active = null;
    /** Until the user has been in the list, its Tab stop follows the newest message. */
    this.chosen = false;
    this.queued = false;
    list.setAttribute('role', 'feed');
    list.setAttribute('aria-label', hooks.label);
    list.addEventListener('keydown', (ev) => this.onKey(ev));
    list.addEventListener('focusin', (ev) => {
      const art = /** @type {HTMLElement} */ (ev.target).closest?.('article');
      if (art && this.list.contains(art) && art !== this.active) this.setActive(art);
    });
    // Whatever redraws a message (reactions, edits, new messages), the Tab order follows.
    new MutationObserver(() => this.schedule()).observe(list, { childList: true, subtree: true });
  }

  schedule() {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => { this.queued = false; this.update(); });
  }

  /** The articles one can move between, in order. @returns {HTMLElement[]} */
  articles() {
    return /** @type {HTMLElement[]} */ ([...this.list.querySelectorAll(':scope > article')]).filter((a) => !a.hidden);
  }

  /** Positions, names and the one Tab stop. */
  update() {
    const all = this.articles();
    if (!this.chosen || !this.active || !this.active.isConnected || this.active.hidden || !this.list.contains(this.active)) {
      this.active = all[all.length - 1] ?? null;
    }
    const size = this.hooks.complete() ? String(all.length) : '-1';
    /** @type {string[]} */
    let pending = [];
    let i = 0;
    for (const child of /** @type {HTMLElement[]} */ ([...this.list.children])) {
      if (child.tagName !== 'ARTICLE') {
        if (child.id && child.getAttribute('aria-hidden') === 'true') pending.push(child.id);
        continue;
      }
      if (child.hidden) continue;
      i += 1;
      child.setAttribute('aria-posinset', String(i));
      child.setAttribute('aria-setsize', size);
      // As a description, so the article's name stays its header.
      if (pending.length) child.setAttribute('aria-describedby', pending.join(' '));
      else child.removeAttribute('aria-describedby');
      pending = [];
      this.roving(child, child === this.active);
    }
  }

  /**
   * @param {HTMLElement} art
   * @param {boolean} on whether this is the article in the Tab order
   */
  roving(art, on) {
    art.tabIndex = on ? 0 : -1;
    if (on) {
      for (const el of art.querySelectorAll('[data-feed-off]')) {
        el.removeAttribute('tabindex');
        el.removeAttribute('data-feed-off');
      }
      return;
    }
    for (const el of /** @type {NodeListOf<HTMLElement>} */ (art.querySelectorAll(FOCUSABLE))) {
      el.setAttribute('tabindex', '-1');
      el.setAttribute('data-feed-off', '');
    }
  }

  /** @param {HTMLElement} art */
  setActive(art) {
    const before = this.active;
    this.chosen = true;
    this.active = art;
    if (before && before !== art && before.isConnected) this.roving(before, false);
    this.roving(art, true);
  }

  /** Put the focus on an article and bring it into view. @param {HTMLElement|undefined|null} art */
  focus(art) {
    if (!art) return;
    this.setActive(art);
    art.focus({ preventScroll: true });
    art.scrollIntoView({ block: 'nearest' });
  }

  /** Focus the article in the Tab order (after a click on the list, or from elsewhere). */
  focusActive() {
    this.update();
    this.active?.focus({ preventScroll: true });
  }

  focusLast() {
    const all = this.articles();
    this.focus(all[all.length - 1]);
  }

  /** @param {KeyboardEvent} ev */
  onKey(ev) {
    if (ev.defaultPrevented || ev.altKey || ev.metaKey) return;
    const target = /** @type {HTMLElement} */ (ev.target);
    const art = target.closest('article');
    if (!art || !this.list.contains(art) || target.closest('input, textarea, select, [popover]')) return;
    const onArticle = target === art;
    const all = this.articles();
    const i = all.indexOf(art);
    /** @type {HTMLElement|undefined} */
    let to;
    if (ev.ctrlKey) {
      if (ev.key === 'Home') this.hooks.before();
      else if (ev.key === 'End') this.hooks.after();
      else return;
      ev.preventDefault();
      return;
    }
    if (ev.key === 'PageDown' || ev.key === 'PageUp') to = this.page(all, i, ev.key === 'PageDown' ? 1 : -1);
    else if (!onArticle) return;
    else if (ev.key === 'ArrowDown' && i === all.length - 1) {
      // The end of a window short of the newest: the next page, then the next article.
      const loading = this.hooks.newer();
      if (loading) {
        ev.preventDefault();
        loading.then(() => {
          const now = this.articles();
          this.focus(now[now.indexOf(art) + 1]);
        });
        return;
      }
    } else if (ev.key === 'ArrowDown') to = all[i + 1];
    else if (ev.key === 'ArrowUp') {
      if (i === 0 && !this.hooks.complete()) {
        ev.preventDefault();
        this.hooks.older().then(() => {
          const now = this.articles();
          this.focus(now[now.indexOf(art) - 1]);
        });
        return;
      }
      to = all[i - 1];
    } else if (ev.key === 'Home') to = all[0];
    else if (ev.key === 'End') to = all[all.length - 1];
    else if (ev.key !== 'ArrowDown') return;
    ev.preventDefault();
    if (to) this.focus(to);
    if (ev.key === 'End') this.hooks.end(true);
    else if (to && to === all[all.length - 1] && ev.key !== 'ArrowUp') this.hooks.end(false);
  }

  /**
   * About a screen further: the first article at least most of the list's height away.
   * @param {HTMLElement[]} all @param {number} i @param {1|-1} dir
   */
  page(all, i, dir) {
    const scroller = /** @type {HTMLElement} */ (this.list.offsetParent ?? this.list);
    const reach = Math.max(scroller.clientHeight * 0.8, 1);
    const from = all[i].offsetTop;
    let j = i + dir;
    while (j > 0 && j < all.length - 1 && Math.abs(all[j].offsetTop - from) < reach) j += dir;
    return all[Math.max(0, Math.min(j, all.length - 1))];
  }
}
