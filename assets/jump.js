// A thread opened at one message (`/threads/<id>?m=<seq>`, a search result's link; issue #14):
// once the message is on the page (pages/thread_jump.py loads its page of history), scroll it
// to the middle and mark it for a moment. Client-side navigations change the address without
// a page load, so the address is watched; each (path, seq) is shown once.
(function () {
  "use strict";
  const MARK_MS = 2500;
  const GIVE_UP_MS = 8000;
  let shown = "";
  let timer = null;

  function wanted() {
    if (!/^\/threads\/[^/]+\/?$/.test(location.pathname)) return null;
    const m = new URLSearchParams(location.search).get("m");
    return m && /^\d{1,12}$/.test(m) ? m : null;
  }

  function mark(el) {
    el.scrollIntoView({ block: "center" });
    el.classList.add("jump-target");
    el.setAttribute("data-jumped", "1");
    setTimeout(function () { el.classList.remove("jump-target"); }, MARK_MS);
  }

  function look() {
    const seq = wanted();
    const key = seq ? location.pathname + "#" + seq : "";
    if (!seq || key === shown) return;
    const started = Date.now();
    clearInterval(timer);
    timer = setInterval(function () {
      const el = document.querySelector('[data-seq="' + seq + '"][data-status="sent"]');
      // Twice: chat.js keeps a new thread at the bottom as it renders; the second scroll wins.
      if (el) {
        clearInterval(timer);
        shown = key;
        mark(el);
        setTimeout(function () { el.scrollIntoView({ block: "center" }); }, 400);
      } else if (Date.now() - started > GIVE_UP_MS) {
        clearInterval(timer);
      }
    }, 100);
  }

  const style = document.createElement("style");
  style.textContent =
    ".jump-target { outline: 2px solid var(--accent-9); outline-offset: 2px;" +
    " border-radius: 12px; transition: outline-color 0.6s; }";
  document.head.appendChild(style);
  setInterval(look, 300);
  look();
})();
