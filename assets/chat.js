// Browser-side behaviour Reflex events cannot express: Enter-to-send, autoscroll unless the
// reader scrolled up (then a "new messages" pill; images loading keep it pinned), loading
// older history at the top while keeping the reading position, telling the server when the
// tab is visible and when I type, focus on opening a thread, the desktop's Enter hint, and
// messages typed while offline shown as waiting until the queued send reaches the server.
(function () {
  "use strict";
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    document.cookie = "arbibase_tz=" + encodeURIComponent(zone) + "; path=/; SameSite=Strict; max-age=31536000";
  } catch (e) { /* keep UTC */ }

  const NEAR_BOTTOM_PX = 120;
  const TYPING_THROTTLE_MS = 2000; // pages/thread_send.py TYPING_THROTTLE_SECONDS
  const DESKTOP = window.matchMedia("(min-width: 48em) and (pointer: fine)");
  const DESKTOP_HINT = "Write a message…  (Enter sends, Shift+Enter adds a line)";
  let list = null;
  let nearBottom = true;
  let olderRequest = null;
  let lastCount = 0;
  let shownThread = "";
  let typingSentAt = 0;

  function click(id) {
    const el = document.getElementById(id);
    if (el && !el.disabled) { el.click(); return true; }
    return false;
  }
  function pill(show) {
    const el = document.getElementById("new-messages-pill");
    if (el) el.setAttribute("data-show", show ? "1" : "0");
  }
  // Where toBottom last put the list: a scroll event that finds the list at or below it was
  // the content growing under us (more messages rendering, an image), not the reader
  // scrolling up, so the list stays pinned to the bottom.
  let pinnedTop = -1;
  function toBottom() {
    if (list) { list.scrollTop = list.scrollHeight; pinnedTop = list.scrollTop; }
    nearBottom = true;
    pill(false);
  }

  // A thread just opened: the keyboard goes to the composer on a desktop; on a phone (no
  // keyboard popping up uninvited) to the thread's heading. Not when the reader is already
  // somewhere else on purpose (a dialog, a field).
  function focusOnOpen() {
    const active = document.activeElement;
    const idle = !active || active === document.body || (active.closest && active.closest(".thread-row, #message-list"));
    if (!idle) return;
    const composer = document.getElementById("composer");
    const target = DESKTOP.matches && composer ? composer : document.getElementById("chat-counterparty");
    if (target) target.focus({ preventScroll: true });
  }

  function onListChanged() {
    if (!list) return;
    const thread = list.getAttribute("data-thread") || "";
    if (thread && thread !== shownThread) {
      shownThread = thread;
      typingSentAt = 0;
      requestAnimationFrame(function () { toBottom(); focusOnOpen(); });
    }
    settleOutbox();
    watchSizes();
    const count = list.querySelectorAll(".message").length;
    if (olderRequest) {
      // Older messages were prepended: keep the message under the reader's eyes in place.
      list.scrollTop = olderRequest.top + (list.scrollHeight - olderRequest.height);
      olderRequest = null;
    } else if (count > lastCount) {
      const newest = list.querySelector(".message:last-of-type");
      const mine = newest && newest.classList.contains("mine");
      if (nearBottom || mine) toBottom(); else pill(true);
    }
    lastCount = count;
  }

  const listObserver = new MutationObserver(onListChanged);

  // The list's box or its content changing size with no scroll event and no image load
  // (the composer or the header growing as the page's later events land, a bubble re-laid
  // out, fonts): a list pinned to the bottom stays there. Without it the last lines hid
  // under the composer until the next message: the likely race behind the images test's
  // one flake (gap > 2 px after the pin), which image loads alone could not cover.
  const sizeObserver = typeof ResizeObserver === "function" ? new ResizeObserver(function () {
    if (list && nearBottom && !olderRequest && list.scrollHeight - list.scrollTop - list.clientHeight > 1) toBottom();
  }) : null;
  function watchSizes() {
    if (!sizeObserver || !list) return;
    sizeObserver.observe(list);
    for (const child of list.children) sizeObserver.observe(child);
  }

  function labelFileInputs() {
    // rx.upload renders react-dropzone's hidden <input type=file> with no label of its own;
    // screen readers (and axe's "label" rule) need one. The visible button is labelled.
    document.querySelectorAll("input[type=file]:not([aria-label])").forEach(function (input) {
      input.setAttribute("aria-label", "Attach a file");
    });
  }

  function attach() {
    labelFileInputs();
    const found = document.getElementById("message-list");
    if (found === list) return;
    listObserver.disconnect();
    if (sizeObserver) sizeObserver.disconnect();
    list = found;
    lastCount = 0;
    if (!list) return;
    listObserver.observe(list, { childList: true, subtree: true });
    lastCount = list.querySelectorAll(".message").length;
    shownThread = "";
    onListChanged();
    requestAnimationFrame(toBottom);
  }

  function hintComposer() {
    const composer = document.getElementById("composer");
    if (composer && DESKTOP.matches && composer.placeholder !== DESKTOP_HINT) composer.placeholder = DESKTOP_HINT;
  }

  function offline() { return !!document.getElementById("offline-banner"); }

  // --- messages typed while offline ----------------------------------------------------------
  // The form's send waits in Reflex's queue and goes out once on reconnect (the server gives
  // it a client_msg_id then); meanwhile the text would vanish with the cleared composer, so a
  // local bubble holds it until the server's own bubble with that text shows.
  function mineWithText(text) {
    if (!list) return 0;
    let n = 0;
    list.querySelectorAll(".message.mine:not(.offline-pending) .message-body").forEach(function (el) {
      if (el.textContent.trim() === text.trim()) n++;
    });
    return n;
  }

  function queueLocal(text) {
    const outbox = document.getElementById("offline-outbox");
    if (!outbox) return;
    const row = document.createElement("div");
    row.className = "message mine offline-pending";
    row.setAttribute("data-status", "waiting");
    row.dataset.baseline = String(mineWithText(text));
    row.style.cssText = "width:100%;display:flex;flex-direction:column;align-items:flex-end;gap:4px;padding:2px 0 6px";
    const body = document.createElement("div");
    body.className = "offline-body";
    // Not sent yet: a pale, dashed bubble (full contrast in both themes), not a faded one.
    body.textContent = text;
    body.style.cssText = "max-width:85%;padding:8px 12px;border-radius:16px;background:var(--accent-3);color:var(--accent-12);border:1px dashed var(--accent-8);white-space:pre-wrap;word-break:break-word;font-size:var(--font-size-2);line-height:var(--line-height-2)";
    const status = document.createElement("span");
    status.className = "offline-status";
    status.textContent = "Waiting for connection";
    status.style.cssText = "font-size:12px;color:var(--gray-11)";
    row.appendChild(body);
    row.appendChild(status);
    outbox.appendChild(row);
    toBottom();
  }

  function settleOutbox() {
    document.querySelectorAll("#offline-outbox .offline-pending").forEach(function (row) {
      const text = row.querySelector(".offline-body").textContent;
      if (mineWithText(text) > Number(row.dataset.baseline)) { row.remove(); return; }
      const status = row.querySelector(".offline-status");
      const words = offline() ? "Waiting for connection" : "Sending…";
      if (status.textContent !== words) status.textContent = words;
    });
  }

  document.addEventListener("submit", function (ev) {
    if (!ev.target || ev.target.id !== "composer-form") return;
    const composer = document.getElementById("composer");
    const text = composer ? composer.value : "";
    typingSentAt = 0; // the server stops my typing notice when the message is stored
    if (text.trim() && offline()) queueLocal(text);
  }, true);

  // --- timed mutes ending ---------------------------------------------------------------------
  // The header's bell and the inbox rows carry data-muted-until (ISO) while a timed mute runs.
  // At that instant the hidden buttons reload the header (ChatState.load) and the list
  // (InboxState.load): the server decides again, so "Muted until …" goes without a reload.
  // A browser clock ahead of the server's finds the mute still on: ask again a little later.
  const MUTE_GRACE_MS = 1000;
  const MUTE_RETRY_MS = 5000;
  const MUTE_MAX_WAIT_MS = 2147483647; // setTimeout's limit (≈ 24.8 days); later: not yet
  let muteTimer = null;
  let muteAt = 0;
  let muteTries = 0;

  function muteEnds() {
    let soonest = 0;
    document.querySelectorAll("[data-muted-until]").forEach(function (el) {
      const at = Date.parse(el.getAttribute("data-muted-until") || "");
      if (at && (!soonest || at < soonest)) soonest = at;
    });
    return soonest;
  }

  function scheduleMuteEnd() {
    const at = muteEnds();
    if (at === muteAt && (muteTimer || !at)) return;
    if (at !== muteAt) muteTries = 0;
    if (muteTimer) clearTimeout(muteTimer);
    muteTimer = null;
    muteAt = at;
    if (!at) return;
    const wait = Math.max(0, at - Date.now()) + MUTE_GRACE_MS + muteTries * MUTE_RETRY_MS;
    if (wait > MUTE_MAX_WAIT_MS || muteTries > 12) return;
    muteTimer = setTimeout(function () {
      muteTimer = null;
      muteTries++;
      click("mute-ended-thread");
      click("mute-ended-inbox");
      scheduleMuteEnd(); // still there after the reload: the next try
    }, wait);
  }

  function onDomChanged() {
    attach();
    hintComposer();
    settleOutbox();
    scheduleMuteEnd();
  }
  new MutationObserver(onDomChanged).observe(document.documentElement, { childList: true, subtree: true });

  // An image in the newest messages loading after the scroll: stay at the bottom unless the
  // reader has scrolled up (load does not bubble: capture it).
  document.addEventListener("load", function (ev) {
    if (list && nearBottom && ev.target.tagName === "IMG" && list.contains(ev.target)) toBottom();
  }, true);

  // Typing notices: the first keystroke at once, then at most one per TYPING_THROTTLE_MS; an
  // emptied composer says so at once (the server keeps its own throttle too).
  document.addEventListener("input", function (ev) {
    if (ev.target.id !== "composer") return;
    if (ev.target.value.trim()) {
      const now = Date.now();
      if (now - typingSentAt >= TYPING_THROTTLE_MS && click("typing-start")) typingSentAt = now;
    } else if (typingSentAt) {
      typingSentAt = 0;
      click("typing-stop");
    }
  });

  document.addEventListener("scroll", function (ev) {
    if (!list || ev.target !== list) return;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
    if (atBottom || (pinnedTop >= 0 && list.scrollTop >= pinnedTop - 2)) {
      nearBottom = true;
      if (!atBottom) toBottom();
    } else {
      nearBottom = false;
      pinnedTop = -1;
    }
    if (nearBottom) pill(false);
    if (list.scrollTop < 40 && !olderRequest) {
      const snapshot = { top: list.scrollTop, height: list.scrollHeight };
      if (click("load-older")) olderRequest = snapshot;
    }
  }, true);

  document.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest("#new-messages-pill")) toBottom();
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.target.id !== "composer") return;
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      click("send-button");
    }
  });

  document.addEventListener("visibilitychange", function () {
    click(document.visibilityState === "visible" ? "tab-visible" : "tab-hidden");
  });

  // An owner waiting for verification: read the account again now and then (a decision made
  // from the CLI cannot be pushed on SQLite). The button exists only while that shows.
  setInterval(function () {
    if (document.visibilityState === "visible") click("verify-recheck");
  }, 30000);
})();
