/**
 * The one classic script of the page, run before the client's modules: when one of the
 * page's own files fails to arrive (the network changed or dropped while it loaded), a
 * module graph never starts and the page would say "Bezig met laden…" for ever. It loads
 * the page once more by itself, and if that also fails, says so with a button to retry.
 */
(() => {
  const KEY = 'werkplaats-load-retry';
  // One automatic retry a minute: a server that keeps failing gets the message, not a loop.
  const RETRY_GAP_MS = 60_000;
  let failed = false;

  /** @param {Event} event */
  function onError(event) {
    const el = event.target;
    const own = (el instanceof HTMLScriptElement && el.src.startsWith(location.origin))
      || (el instanceof HTMLLinkElement && el.rel === 'stylesheet' && el.href.startsWith(location.origin));
    if (!own || failed) return;
    failed = true;
    let last = 0;
    try { last = Number(sessionStorage.getItem(KEY) ?? 0); } catch { /* no storage: no retry */ }
    if (Date.now() - last > RETRY_GAP_MS) {
      try {
        sessionStorage.setItem(KEY, String(Date.now()));
        location.reload();
        return;
      } catch { /* fall through to the message */ }
    }
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', explain);
    else explain();
  }

  function explain() {
    const main = document.getElementById('main');
    if (!main) return;
    const title = document.createElement('h1');
    title.textContent = 'De Werkplaats kon niet laden';
    const text = document.createElement('p');
    text.textContent = 'Niet alle onderdelen van de pagina kwamen aan. Controleer de verbinding en probeer het opnieuw.';
    const again = document.createElement('button');
    again.type = 'button';
    again.className = 'btn';
    again.textContent = 'Opnieuw laden';
    again.addEventListener('click', () => location.reload());
    main.replaceChildren(title, text, again);
    document.body.dataset.view = 'load-failed';
    main.focus();
  }

  // Capturing: a script's or stylesheet's load error does not bubble.
  window.addEventListener('error', onError, true);
})();
