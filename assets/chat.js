// Browser-side behaviour Reflex events cannot express: Enter-to-send, autoscroll unless the
// reader scrolled up (then a "new messages" pill; images loading keep it pinned), loading
// older history at the top while keeping the reading position, telling the server when the
// tab is visible and when I type, focus on opening a thread, the desktop's Enter hint, and
// each send's text kept in a local bubble until the server's bubble shows (offline, or a send
// the server never answered: "Not sent" with Retry).
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

  // --- the outbox: every send until its bubble shows ---------------------------------------
  // The form clears the composer at submit, before the server has the text. Each send gets an
  // id (the hidden #composer-send-id; pages/thread_send.py stores a (thread, sender, id) once)
  // and is kept here until a bubble of mine with that id shows. Meanwhile a local bubble holds
  // the text: at once while offline ("Waiting for connection": Reflex's queue sends it on
  // reconnect), after SHOW_AFTER_MS online ("Sending…"). A send the server never answered —
  // it could not load the tab's state (a Redis outage: Reflex's error toast), or the socket
  // died with the event — turns "Not sent" with Retry, which sends the same id again: a send
  // that did arrive after all is not stored twice.
  const SHOW_AFTER_MS = 1500;
  const GIVE_UP_MS = 10000; // connected this long without its bubble: not sent
  const ERROR_GRACE_MS = 300; // an error toast older sends only: not the one just typed
  const outbox = new Map(); // id → {text, thread (its page's path), at, failed}
  let retryId = "";
  let connectedSince = Date.now();
  let wasOffline = false;

  function newSendId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes); // crypto.randomUUID needs a secure context
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function shownIds() {
    const ids = new Set();
    if (list) list.querySelectorAll(".message.mine[data-cmid]").forEach(function (el) {
      const id = el.getAttribute("data-cmid");
      if (id) ids.add(id);
    });
    return ids;
  }

  function localRow(id, rec) {
    const row = document.createElement("div");
    row.className = "offline-pending";
    row.dataset.sendId = id;
    row.style.cssText = "width:100%;display:flex;flex-direction:column;align-items:flex-end;gap:4px;padding:2px 0 6px";
    const body = document.createElement("div");
    body.className = "offline-body";
    // Not stored yet: a pale, dashed bubble (full contrast in both themes), not a faded one.
    body.textContent = rec.text;
    body.style.cssText = "max-width:85%;padding:8px 12px;border-radius:16px;background:var(--accent-3);color:var(--accent-12);border:1px dashed var(--accent-8);white-space:pre-wrap;word-break:break-word;font-size:var(--font-size-2);line-height:var(--line-height-2)";
    const line = document.createElement("div");
    line.style.cssText = "display:flex;align-items:center;gap:6px";
    const status = document.createElement("span");
    status.className = "offline-status";
    status.style.cssText = "font-size:12px;color:var(--gray-11)";
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "local-retry";
    retry.textContent = "Retry";
    retry.hidden = true;
    retry.style.cssText = "font:inherit;font-size:12px;font-weight:500;min-height:24px;padding:2px 10px;border-radius:4px;border:0;cursor:pointer;background:var(--red-a3);color:var(--red-11)";
    retry.addEventListener("click", function () { resend(id); });
    line.appendChild(status);
    line.appendChild(retry);
    row.appendChild(body);
    row.appendChild(line);
    return row;
  }

  function resend(id) {
    const rec = outbox.get(id);
    const form = document.getElementById("composer-form");
    const composer = document.getElementById("composer");
    if (!rec || !form || !composer) return;
    const draft = composer.value; // whatever is being typed now stays
    composer.value = rec.text;
    retryId = id;
    form.requestSubmit(); // the form's own handler reads the fields and resets them at once
    composer.value = draft;
  }

  function errorToastShown() {
    return !!document.querySelector('[data-sonner-toast][data-type="error"]');
  }

  function settleOutbox() {
    const box = document.getElementById("offline-outbox");
    const thread = location.pathname; // the thread's page (its data-thread comes later)
    const now = Date.now();
    const away = offline();
    if (away) wasOffline = true;
    else if (wasOffline) { wasOffline = false; connectedSince = now; }
    const shown = shownIds();
    const error = errorToastShown();
    outbox.forEach(function (rec, id) {
      if (shown.has(id)) { outbox.delete(id); return; }
      if (!away && !rec.failed) {
        const waited = now - Math.max(rec.at, connectedSince);
        if (waited >= GIVE_UP_MS || (error && now - rec.at >= ERROR_GRACE_MS)) rec.failed = true;
      }
    });
    if (box) {
      box.querySelectorAll(".offline-pending").forEach(function (row) {
        const rec = outbox.get(row.dataset.sendId || "");
        if (!rec || rec.thread !== thread) row.remove();
      });
    }
    outbox.forEach(function (rec, id) {
      if (!box || rec.thread !== thread) return;
      const show = away || rec.failed || now - rec.at >= SHOW_AFTER_MS;
      let row = box.querySelector('.offline-pending[data-send-id="' + id + '"]');
      if (!show) { if (row) row.remove(); return; }
      if (!row) { row = localRow(id, rec); box.appendChild(row); toBottom(); }
      const state = away ? "waiting" : rec.failed ? "failed" : "sending";
      if (row.getAttribute("data-status") === state) return;
      row.setAttribute("data-status", state);
      row.querySelector(".offline-status").textContent =
        away ? "Waiting for connection" : rec.failed ? "Not sent" : "Sending…";
      row.querySelector(".offline-status").style.color = rec.failed && !away ? "var(--red-11)" : "var(--gray-11)";
      row.querySelector(".local-retry").hidden = away || !rec.failed;
    });
  }
  // Time passes without the page changing (a send never answered): look again now and then.
  setInterval(function () { if (outbox.size) settleOutbox(); }, 500);

  document.addEventListener("submit", function (ev) {
    if (!ev.target || ev.target.id !== "composer-form") return;
    const composer = document.getElementById("composer");
    const field = document.getElementById("composer-send-id");
    const text = composer ? composer.value : "";
    const id = retryId || newSendId();
    retryId = "";
    if (field) field.value = id;
    typingSentAt = 0; // the server stops my typing notice when the message is stored
    if (!text.trim() || !list) return;
    outbox.set(id, { text: text, thread: location.pathname, at: Date.now(), failed: false });
    settleOutbox();
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
    syncVisibility();
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

  // What this document last told the server (null: nothing yet, or the server agrees).
  let visibilityAsked = null;
  function tellVisibility(hidden) {
    if (click(hidden ? "tab-hidden" : "tab-visible")) visibilityAsked = hidden;
  }
  document.addEventListener("visibilitychange", function () {
    tellVisibility(document.visibilityState !== "visible");
  });
  // The server's view of this tab (pages/thread_view.py #tab-held-hidden) can come from an
  // earlier document of the same session: set it right once, without repeating the ask.
  function syncVisibility() {
    if (!document.getElementById("tab-visible")) return;
    const hidden = document.visibilityState !== "visible";
    const held = !!document.getElementById("tab-held-hidden");
    if (held === hidden) visibilityAsked = null;
    else if (visibilityAsked !== hidden) tellVisibility(hidden);
  }

  // An owner waiting for verification: read the account again now and then (a decision made
  // from the CLI cannot be pushed on SQLite). The button exists only while that shows.
  setInterval(function () {
    if (document.visibilityState === "visible") click("verify-recheck");
  }, 30000);
})();
