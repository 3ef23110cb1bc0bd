// Inbox behaviour on top of server-rendered pages: every action also works without this file.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  const NEAR_BOTTOM_PX = 120;
  const baseTitle = document.title.replace(/^\(\d+\)\s*/, "");

  function timeline() {
    return document.getElementById("timeline");
  }

  function nearBottom(element) {
    return element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    const element = timeline();
    if (element) element.scrollTop = element.scrollHeight;
  }

  // Day separators: rebuilt from the messages' own data after any insertion, so a message
  // arriving late (Meta delivers out of order) lands under the right day.
  function regroupDays() {
    const element = timeline();
    if (!element) return;
    element.querySelectorAll("h3.day").forEach((header) => header.remove());
    let previousDay = null;
    element.querySelectorAll("article.msg").forEach((message) => {
      if (message.dataset.day !== previousDay) {
        const header = document.createElement("h3");
        header.className = "day";
        header.dataset.day = message.dataset.day;
        const label = document.createElement("span");
        label.textContent = message.dataset.dayLabel;
        header.appendChild(label);
        message.before(header);
        previousDay = message.dataset.day;
      }
    });
  }

  function sortKey(message) {
    return [Number(message.dataset.sort), Number(message.dataset.pk)];
  }

  function before(a, b) {
    const [ta, pa] = sortKey(a);
    const [tb, pb] = sortKey(b);
    return ta < tb || (ta === tb && pa < pb);
  }

  // Place messages from a poll: replace a copy already shown, else insert in timestamp order.
  function placeIncoming() {
    const incoming = document.getElementById("incoming");
    const element = timeline();
    if (!incoming || !element) return;
    const stick = nearBottom(element);
    const arrived = incoming.children.length > 0;
    Array.from(incoming.children).forEach((message) => {
      // Look in the timeline only: the incoming copy itself is in the document too.
      const existing = element.querySelector(`#${CSS.escape(message.id)}`);
      if (existing) {
        existing.replaceWith(message);
        return;
      }
      const later = Array.from(element.querySelectorAll("article.msg")).find((shown) =>
        before(message, shown),
      );
      if (later) later.before(message);
      else element.appendChild(message);
    });
    regroupDays();
    // Only for news: a poll that brings just the header (a read, an assignment) leaves the
    // timeline where the reader scrolled it.
    if (stick && arrived) scrollToBottom();
  }

  // List rows from a poll: each replaces its older copy, at its place by last activity
  // (newest first), so that rows loaded with "Older conversations" and the focused row stay.
  // A row that sorts below the loaded pages waits for them; one marked data-removed (no
  // longer matching the filters) just goes.
  function rowBefore(a, b) {
    const [ta, pa] = sortKey(a);
    const [tb, pb] = sortKey(b);
    return ta > tb || (ta === tb && pa > pb);
  }

  function placeRows() {
    const incoming = document.getElementById("incoming-rows");
    const list = document.getElementById("conversation-list");
    if (!incoming || !list) return;
    const focused = document.activeElement?.closest?.("#conversation-list .conversation-row");
    const focusedId = focused ? focused.id : null;
    const more = list.querySelector(":scope > .list-more");
    Array.from(incoming.children).forEach((row) => {
      const existing = list.querySelector(`#${CSS.escape(row.id)}`);
      if (existing) existing.remove();
      if (row.hasAttribute("data-removed") || (more && rowBefore(more, row))) {
        row.remove();
        return;
      }
      const later = Array.from(list.querySelectorAll(":scope > .conversation-row")).find((shown) =>
        rowBefore(row, shown),
      );
      if (later) later.before(row);
      else if (more) more.before(row);
      else list.appendChild(row);
    });
    if (list.querySelector(":scope > .conversation-row")) {
      list.querySelector(":scope > .list-empty")?.remove();
    }
    const again = focusedId && document.getElementById(focusedId);
    if (again && !again.contains(document.activeElement)) {
      again.querySelector("a").focus({ preventScroll: true });
    }
  }

  // A page of older rows may repeat a row that a poll moved up meanwhile: the first stays.
  function dropRepeatedRows() {
    const seen = new Set();
    document.querySelectorAll("#conversation-list > .conversation-row").forEach((row) => {
      if (seen.has(row.id)) row.remove();
      else seen.add(row.id);
    });
  }

  function updateTitle() {
    const total = document.getElementById("unread-total");
    const count = total ? Number(total.dataset.count) : 0;
    document.title = count > 0 ? `(${count}) ${baseTitle}` : baseTitle;
  }

  // The 24-hour window: chips count down in the server's words (#window-labels), by the
  // server's clock, and the composer closes when the window does (the server refuses then
  // anyway). Each chip has data-closes (epoch ms) and data-closed-label.
  const MINUTE = 60 * 1000;
  const HOUR = 60 * MINUTE;
  let clockOffset = 0;
  let windowTimer = null;

  function windowLabels() {
    const element = document.getElementById("window-labels");
    return element ? JSON.parse(element.textContent) : null;
  }

  function timeLeft(left, labels) {
    if (left >= HOUR) return labels.hours[Math.min(Math.floor(left / HOUR), 24) - 1];
    if (left >= MINUTE) return labels.minutes[Math.floor(left / MINUTE) - 1];
    return labels.under_a_minute;
  }

  // Milliseconds until the wording of `left` changes (the next whole hour or minute), or
  // until the window closes.
  function untilChange(left) {
    if (left >= HOUR) return (left % HOUR) + 1;
    if (left >= MINUTE) return (left % MINUTE) + 1;
    return left;
  }

  function refreshWindows() {
    clearTimeout(windowTimer);
    const labels = windowLabels();
    if (!labels) return;
    const now = Date.now() + clockOffset;
    let next = Infinity;
    document.querySelectorAll(".chip[data-closes]").forEach((chip) => {
      const left = Number(chip.dataset.closes) - now;
      if (left > 0) {
        chip.textContent = timeLeft(left, labels);
        next = Math.min(next, untilChange(left));
        return;
      }
      chip.textContent = chip.dataset.closedLabel;
      chip.classList.replace("chip-window", "chip-window-closed");
      chip.removeAttribute("title");
      delete chip.dataset.closes;
    });
    const header = document.getElementById("conversation-header");
    if (header && header.dataset.windowOpen === "1" && Number(header.dataset.windowCloses) <= now) {
      header.dataset.windowOpen = "0";
      syncComposer();
      header.dispatchEvent(new CustomEvent("inbox:window-closed", { bubbles: true }));
    }
    if (next < Infinity) windowTimer = setTimeout(refreshWindows, next);
  }

  // The window can open (a new customer message) or close while the page is open.
  function syncComposer() {
    const header = document.getElementById("conversation-header");
    const composer = document.getElementById("composer");
    if (!header || !composer || composer.dataset.canReply !== "1") return;
    if (composer.dataset.mode === "note") return; // notes need no window (composer.js)
    const open = header.dataset.windowOpen === "1";
    composer.querySelectorAll("textarea, button[type=submit]").forEach((control) => {
      control.disabled = !open;
    });
    const note = composer.querySelector(".composer-note");
    if (note) note.hidden = open;
  }

  function growTextarea(textarea) {
    textarea.style.removeProperty("height");
    // Empty, its scrollHeight is the placeholder's, which may wrap on a phone: one line then.
    if (!textarea.value) return;
    textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
  }

  // Composer: Enter sends, Shift+Enter makes a new line (not while an IME is composing).
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target.matches && target.matches("#composer textarea")) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (target.value.trim() || target.form.classList.contains("has-attachment")) {
          target.form.requestSubmit();
        }
      }
      return;
    }
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "/") {
      const search = document.getElementById("search");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
      return;
    }
    const moves = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 };
    if (event.key in moves && !target.closest(".timeline")) {
      const links = Array.from(document.querySelectorAll("#conversation-list .conversation-row > a"));
      if (!links.length) return;
      event.preventDefault();
      const current = links.indexOf(document.activeElement);
      const start = current === -1 ? links.findIndex((l) => l.getAttribute("aria-current")) : current;
      const next = Math.max(0, Math.min(links.length - 1, (start === -1 ? -1 : start) + moves[event.key]));
      links[next].focus();
    }
  });

  document.addEventListener("input", (event) => {
    if (event.target.matches("#composer textarea")) growTextarea(event.target);
  });

  document.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-autosubmit]");
    if (select) select.form.requestSubmit();
  });

  document.addEventListener("click", (event) => {
    // Without this, "Reply" and "Cancel reply" are links that reload the page with (or
    // without) the quote.
    const replyButton = event.target.closest("[data-reply-to]");
    if (replyButton) {
      const composer = document.getElementById("composer");
      const message = replyButton.closest("article.msg");
      if (!composer || !message) return;
      event.preventDefault();
      composer.elements.reply_to.value = replyButton.dataset.replyTo;
      const preview = composer.querySelector(".reply-preview");
      preview.querySelector(".reply-preview-text").textContent = message.dataset.quote;
      preview.hidden = false;
      composer.querySelector("textarea").focus();
      return;
    }
    if (event.target.closest("[data-cancel-reply]")) {
      event.preventDefault();
      const composer = document.getElementById("composer");
      composer.elements.reply_to.value = "";
      composer.querySelector(".reply-preview").hidden = true;
      return;
    }
    const quote = event.target.closest("[data-scroll-to]");
    if (quote) {
      event.preventDefault();
      showOriginal(quote.dataset.scrollTo, quote);
    }
  });

  // A quote's original may be older than the loaded messages: load older pages until it is
  // there (up to MAX_QUOTE_PAGES), then scroll to it; else say that it is further back.
  const MAX_QUOTE_PAGES = 10;
  let quoteSearch = null;
  // Scrolling to an original near the top reveals the "load older" marker, whose page then
  // lands mid-scroll and stops the smooth scroll short of it: it is scrolled to again.
  let scrollTarget = null;

  function reducedMotion() {
    return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  // `done` (optional) is told the message once shown, or null when it is further back; without
  // it, the quote's own status says so.
  function showOriginal(id, quote, done) {
    const original = document.getElementById(id);
    if (original) {
      quoteSearch = null;
      quote.removeAttribute("aria-busy");
      scrollTarget = original;
      original.scrollIntoView({ block: "center", behavior: reducedMotion() ? "auto" : "smooth" });
      original.classList.add("is-highlighted");
      setTimeout(() => {
        original.classList.remove("is-highlighted");
        if (scrollTarget === original) scrollTarget = null;
      }, 1600);
      if (done) done(original);
      return;
    }
    const older = timeline()?.querySelector(".load-older");
    const pages = quoteSearch && quoteSearch.id === id ? quoteSearch.pages : 0;
    if (older && pages < MAX_QUOTE_PAGES) {
      quoteSearch = { id, quote, done, pages: pages + 1 };
      quote.setAttribute("aria-busy", "true");
      window.htmx.trigger(older, "inbox:load-older");
      return;
    }
    quoteSearch = null;
    quote.removeAttribute("aria-busy");
    if (done) {
      done(null);
      return;
    }
    const status = quote.parentElement.querySelector(".msg-quote-status");
    if (status) status.hidden = false;
  }

  // The same for other scripts (search.js): bring message `id` into view, loading older
  // pages as a quote does, with `requester` marked busy meanwhile.
  window.inboxShowMessage = (id, requester, done) => showOriginal(id, requester, done);

  // Reading: the open conversation is read (and the customer sent a read receipt) when its
  // header shows unread messages on a page being looked at: as it opens, when the poll brings
  // messages that came meanwhile, when a hidden tab is looked at again. #reader posts it;
  // the poll it asks for brings the header back read.
  function readIfShown() {
    const header = document.getElementById("conversation-header");
    const reader = document.getElementById("reader");
    if (!header || !reader || !window.htmx || document.visibilityState !== "visible") return;
    if (header.dataset.unread === "0") return;
    header.dataset.unread = "0"; // once for this header: the next one comes with the poll
    window.htmx.trigger(reader, "inbox:read");
  }

  // htmx integration.
  let olderScroll = null;
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.elt.classList.contains("load-older")) {
      const element = timeline();
      olderScroll = element.scrollHeight - element.scrollTop;
    }
    // A refused reply (422) still carries the composer with the reason: show it.
    if (event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSettle", (event) => {
    const element = event.detail.elt;
    if (olderScroll !== null && timeline()) {
      regroupDays();
      const t = timeline();
      t.scrollTop = t.scrollHeight - olderScroll;
      olderScroll = null;
      if (scrollTarget && document.contains(scrollTarget)) {
        scrollTarget.scrollIntoView({ block: "center" });
      }
      if (quoteSearch) {
        const search = quoteSearch;
        if (document.contains(search.quote)) showOriginal(search.id, search.quote, search.done);
        else quoteSearch = null;
      }
    }
    if (element.closest?.("#conversation-list")) {
      dropRepeatedRows();
      refreshWindows();
    }
    if (element.id === "composer" || element.closest?.("#composer")) {
      const textarea = document.querySelector("#composer textarea");
      if (textarea && !textarea.disabled) textarea.focus();
    }
  });
  // A header the poll replaces keeps the menus open in it: the read that follows opening a
  // conversation (or a colleague's change) must not close the label menu under the pointer.
  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const { target, fragment } = event.detail;
    if (target.id !== "conversation-header" || !fragment) return;
    target.querySelectorAll("details[open]").forEach((menu) => {
      const name = menu.classList[0];
      const again = name && fragment.querySelector(`details.${CSS.escape(name)}`);
      if (again) again.open = true;
    });
  });
  document.addEventListener("htmx:oobAfterSwap", (event) => {
    const target = event.detail.target || event.target;
    if (target.id === "incoming") placeIncoming();
    if (target.id === "incoming-rows") placeRows();
    if (target.id === "unread-total") updateTitle();
    if (target.id === "conversation-header") {
      syncComposer();
      readIfShown();
    }
    if (target.id === "incoming-rows" || target.id === "conversation-header") refreshWindows();
  });

  // A tab that slept catches up at once when it is looked at again.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && window.htmx) {
      readIfShown();
      window.htmx.trigger(document.body, "inbox:poll");
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    const inbox = document.querySelector(".inbox[data-server-now]");
    if (inbox) clockOffset = Number(inbox.dataset.serverNow) - Date.now();
    refreshWindows();
    updateTitle();
    scrollToBottom();
    readIfShown();
    const textarea = document.querySelector("#composer textarea");
    if (textarea) growTextarea(textarea);
  });
})();
