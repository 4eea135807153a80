// Start a session only when it is seen: an embed (or a compare view) connects the first time its page is
// on screen — inside an iframe too, since IntersectionObserver's implicit root is the top-level viewport —
// then starts training if the link says `autoplay=true`; while off screen (or in a hidden tab) a playing
// session is paused, and it resumes when shown again. A slide deck with twenty embeds costs nothing until
// a slide is shown. `allowed` adds what the host page says (embed-host.js: a speaker view's preview, a
// slide reveal.js left). An embed hidden for a few seconds also gives its server session back (SUSPEND_MS).

/** How long an embed may stay hidden before it closes its socket: long enough that flicking through slides
 *  keeps the sessions, short enough that a deck holds only the sessions of the slides near the one shown. */
export const SUSPEND_MS = 4000;

/** Calls onShow / onHide as `element` enters or leaves the viewport or the tab is shown or hidden. It counts
 *  as shown when `threshold` of it, or `minPixels` of its height (a page taller than the screen), is in view,
 *  and `allowed()`; call the returned `update()` when what `allowed` reads changes. */
export function watchVisibility(element, { onShow, onHide, threshold = 0.2, minPixels = 160, allowed = () => true }) {
  let inView = false;
  let visible = false;
  const update = () => {
    const now = inView && document.visibilityState === 'visible' && allowed();
    if (now === visible) return;
    visible = now;
    (now ? onShow : onHide)?.();
  };
  new IntersectionObserver((entries) => {
    const entry = entries[entries.length - 1];
    const seen = entry.intersectionRatio >= threshold * 0.99 || entry.intersectionRect.height >= minPixels;
    inView = entry.isIntersecting && seen;
    update();
  }, { threshold: Array.from({ length: 21 }, (_, i) => i / 20) }).observe(element);
  document.addEventListener('visibilitychange', update);
  return {
    update,
    get visible() {
      return visible;
    },
  };
}

/** Connect `socket` the first time `element` is visible; autoplay then; pause while hidden. With
 *  `suspendAfterMs`, hidden that long (an embed on a slide left behind) also closes the socket, which ends
 *  the server session; shown again it reconnects, the session layer restores the run (config, weights,
 *  epoch, chart), and it plays again if it was playing when hidden. */
export function startWhenVisible(element, { hub, socket, session, autoplay = false, allowed, suspendAfterMs = null }) {
  let resume = false;
  let first = true;
  let suspendTimer = null;
  return watchVisibility(element, {
    allowed,
    onShow() {
      clearTimeout(suspendTimer);
      if (first) {
        first = false;
        if (autoplay) hub.emit('command', { type: 'play' }); // goes out with the first configure
        socket.start();
        return;
      }
      if (resume) {
        resume = false;
        hub.emit('command', { type: 'play' }); // a suspended socket: sent with the restoring configure
      }
      socket.resume();
    },
    onHide() {
      if (session.playing) {
        resume = true;
        hub.emit('command', { type: 'pause' });
      }
      if (suspendAfterMs !== null && socket.started) suspendTimer = setTimeout(() => socket.suspend(), suspendAfterMs);
    },
  });
}
