// Browser-side behaviour Reflex events cannot express: Enter-to-send, autoscroll unless the
// reader scrolled up (then a "new messages" pill), loading older history at the top while
// keeping the reading position, and telling the server when the tab is visible.
(function () {
  "use strict";
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    document.cookie = "arbibase_tz=" + encodeURIComponent(zone) + "; path=/; SameSite=Strict; max-age=31536000";
  } catch (e) { /* keep UTC */ }

  const NEAR_BOTTOM_PX = 120;
  let list = null;
  let nearBottom = true;
  let olderRequest = null;
  let lastCount = 0;

  function click(id) {
    const el = document.getElementById(id);
    if (el && !el.disabled) { el.click(); return true; }
    return false;
  }
  function pill(show) {
    const el = document.getElementById("new-messages-pill");
    if (el) el.setAttribute("data-show", show ? "1" : "0");
  }
  function toBottom() {
    if (list) list.scrollTop = list.scrollHeight;
    nearBottom = true;
    pill(false);
  }

  function onListChanged() {
    if (!list) return;
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

  function attach() {
    const found = document.getElementById("message-list");
    if (found === list) return;
    listObserver.disconnect();
    list = found;
    lastCount = 0;
    if (!list) return;
    listObserver.observe(list, { childList: true, subtree: true });
    lastCount = list.querySelectorAll(".message").length;
    requestAnimationFrame(toBottom);
  }
  new MutationObserver(attach).observe(document.documentElement, { childList: true, subtree: true });

  document.addEventListener("scroll", function (ev) {
    if (!list || ev.target !== list) return;
    nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
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
