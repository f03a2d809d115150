// Notifications (issue #12), the browser's side: the unread total in the tab title and as a
// badge on the favicon; for the other party's new messages in threads that are not muted, a
// desktop notification while the tab is hidden and a short chime. The server decides what
// deserves an alert (InboxState.alert, rendered into #notify-state by the navbar); this
// browser's own choices live in localStorage (pages/settings.py NotifyPrefs). Permission is
// asked only from the settings switch's click, never on page load.
(function () {
  "use strict";
  const DESKTOP_KEY = "arbibase_notify_desktop"; // "on" or absent/"" (NotifyPrefs.desktop)
  const SOUND_KEY = "arbibase_notify_sound"; // "on" or absent/"" (NotifyPrefs.sound)
  const HANDLED_KEY = "arbibase_notify_handled"; // alerts this browser already acted on
  const HANDLED_MAX = 50;
  // A hidden tab waits this long before acting, so that a visible tab of the app (which
  // never shows a notification) claims the alert first.
  const HIDDEN_DELAY_MS = 300;
  const TITLE_PREFIX = /^\(\d+\+?\) /;

  let unread = 0;
  let stateEl = null;
  let baseIcon = null; // the page's own favicon href
  let iconShows = 0; // the total the favicon shows now
  let audio = null;

  function pref(key) {
    try { return localStorage.getItem(key) === "on"; } catch (e) { return false; }
  }
  function click(id) {
    const el = document.getElementById(id);
    if (el) el.click();
  }

  // --- tab title ---------------------------------------------------------------------------
  function applyTitle() {
    const base = document.title.replace(TITLE_PREFIX, "");
    const want = unread > 0 ? "(" + (unread > 99 ? "99+" : unread) + ") " + base : base;
    if (document.title !== want) document.title = want;
  }

  // --- favicon badge -------------------------------------------------------------------------
  function iconLink() {
    return document.getElementById("favicon") || document.querySelector("link[rel~='icon']");
  }
  function applyIcon() {
    const link = iconLink();
    if (!link) return;
    if (baseIcon === null) baseIcon = link.getAttribute("href");
    if (unread <= 0) {
      if (link.getAttribute("href") !== baseIcon) link.setAttribute("href", baseIcon);
      iconShows = 0;
      return;
    }
    if (iconShows === unread) return;
    const wanted = unread;
    const img = new Image();
    img.onload = function () {
      if (unread !== wanted) return; // a newer total is on its way
      const size = 64;
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = size;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0, size, size);
      const label = wanted > 9 ? "9+" : String(wanted);
      ctx.beginPath();
      ctx.arc(44, 20, 20, 0, 2 * Math.PI);
      ctx.fillStyle = "#e5484d";
      ctx.fill();
      ctx.lineWidth = 3;
      ctx.strokeStyle = "#ffffff";
      ctx.stroke();
      ctx.fillStyle = "#ffffff";
      ctx.font = "bold " + (label.length > 1 ? 22 : 28) + "px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(label, 44, 21);
      link.setAttribute("href", canvas.toDataURL("image/png"));
      iconShows = wanted;
    };
    img.src = baseIcon;
  }

  function setUnread(n) {
    unread = n > 0 ? n : 0;
    applyTitle();
    applyIcon();
  }

  // --- alerts: desktop notification and sound ------------------------------------------------
  // One alert is acted on once per browser: by the first tab to see it, and never again after
  // a reload (the state comes back with the last alert in it).
  function claim(key) {
    try {
      const handled = JSON.parse(localStorage.getItem(HANDLED_KEY) || "[]");
      if (handled.indexOf(key) !== -1) return false;
      handled.push(key);
      localStorage.setItem(HANDLED_KEY, JSON.stringify(handled.slice(-HANDLED_MAX)));
    } catch (e) { /* no storage: act in every tab */ }
    return true;
  }

  function openThread(threadId) {
    const href = "/threads/" + threadId;
    const link = document.querySelector('a[href="' + href + '"]');
    if (link) link.click(); else window.location.assign(href);
  }

  function notify(alert) {
    if (!pref(DESKTOP_KEY) || !("Notification" in window)) return;
    if (Notification.permission !== "granted") return;
    try {
      // One tag per thread: a thread's newer notification replaces its older one.
      const note = new Notification(alert.title, {
        body: alert.body, tag: alert.thread_id, icon: "/favicon.ico",
      });
      note.onclick = function () {
        window.focus();
        openThread(alert.thread_id);
        note.close();
      };
    } catch (e) { /* e.g. Android Chrome wants a service worker: no notification then */ }
  }

  function unlockAudio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      if (!audio) audio = new Ctx();
      if (audio.state === "suspended") audio.resume();
    } catch (e) { audio = null; }
  }

  function chime() {
    if (!audio || audio.state !== "running") return;
    const t = audio.currentTime;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.setValueAtTime(880, t);
    osc.frequency.setValueAtTime(1320, t + 0.09);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.18, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
    osc.connect(gain);
    gain.connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.32);
  }

  function act(alert) {
    if (!claim(alert.thread_id + ":" + alert.seq)) return;
    const hidden = document.visibilityState !== "visible";
    const openHere = window.location.pathname.replace(/\/+$/, "") === "/threads/" + alert.thread_id;
    if (hidden) notify(alert);
    if ((hidden || !openHere) && pref(SOUND_KEY)) chime();
  }

  function onAlert(raw) {
    let alert = null;
    try { alert = JSON.parse(raw); } catch (e) { return; }
    if (!alert || !alert.thread_id || !alert.seq) return;
    if (document.visibilityState === "visible") act(alert);
    else setTimeout(function () { act(alert); }, HIDDEN_DELAY_MS);
  }

  // --- watching the navbar's #notify-state -------------------------------------------------
  function readState() {
    if (!stateEl) { setUnread(0); return; }
    setUnread(parseInt(stateEl.getAttribute("data-unread") || "0", 10) || 0);
    const raw = stateEl.getAttribute("data-alert") || "";
    if (raw && raw !== stateEl.__arbibaseSeen) {
      stateEl.__arbibaseSeen = raw;
      onAlert(raw);
    }
  }
  const stateObserver = new MutationObserver(readState);

  function attach() {
    const found = document.getElementById("notify-state");
    if (found !== stateEl) {
      stateObserver.disconnect();
      stateEl = found;
      if (stateEl) {
        stateObserver.observe(stateEl, { attributes: true, attributeFilter: ["data-unread", "data-alert"] });
      }
      readState();
    }
    // The settings page: tell it what the browser holds now (reading is not asking).
    if (document.getElementById("notify-permission-granted") && !attach.reported) {
      attach.reported = true;
      report("Notification" in window ? Notification.permission : "unsupported");
    } else if (!document.getElementById("notify-permission-granted")) {
      attach.reported = false;
    }
  }
  new MutationObserver(attach).observe(document.documentElement, { childList: true, subtree: true });
  // A page's own <title> (set again on navigation) comes without the count.
  new MutationObserver(applyTitle).observe(document.head, {
    childList: true, subtree: true, characterData: true,
  });

  // --- the settings page's switches ----------------------------------------------------------
  function report(permission) {
    click("notify-permission-" + permission);
  }

  function askPermission() {
    if (!("Notification" in window)) { report("unsupported"); return; }
    let answered = false;
    const done = function (permission) {
      if (answered) return;
      answered = true;
      report(permission || Notification.permission);
    };
    try {
      const asked = Notification.requestPermission(done); // the callback form for old Safari
      if (asked && typeof asked.then === "function") asked.then(done, function () { done(); });
    } catch (e) { done(); }
  }

  document.addEventListener("click", function (ev) {
    if (!ev.target.closest) return;
    const desktop = ev.target.closest("#notify-desktop-switch");
    if (desktop && desktop.getAttribute("aria-checked") !== "true") askPermission();
    const sound = ev.target.closest("#notify-sound-switch");
    if (sound && sound.getAttribute("aria-checked") !== "true") {
      unlockAudio(); // what it will sound like:
      if (audio && audio.state === "running") chime();
      else if (audio) audio.resume().then(chime, function () {});
    }
  }, true);

  // Browsers let a page play sound only after the user interacted with it: the first click
  // (or key) on any page unlocks it for the rest of the page's life.
  function firstGesture() {
    unlockAudio();
    if (audio && audio.state === "running") {
      document.removeEventListener("pointerdown", firstGesture, true);
      document.removeEventListener("keydown", firstGesture, true);
    }
  }
  document.addEventListener("pointerdown", firstGesture, true);
  document.addEventListener("keydown", firstGesture, true);
})();
