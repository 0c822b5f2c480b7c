/**
 * The offline shell: registers the service worker (sw.js) at start and hands it the
 * files this page loaded, so that the next load works without a network. The page's
 * first load is not yet the worker's, so it cannot see those requests itself.
 * @module offline
 */

/** Register the worker and ask it to keep this version's files. */
export async function startOffline() {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    const reg = await navigator.serviceWorker.ready;
    const urls = performance.getEntriesByType('resource').map((e) => e.name)
      .filter((u) => { const url = new URL(u); return url.origin === location.origin && url.pathname.startsWith('/static/'); });
    reg.active?.postMessage({ type: 'keep', urls });
  } catch {
    /* no worker (private window, blocked): the client works, only not offline */
  }
}
