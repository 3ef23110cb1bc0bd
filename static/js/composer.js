// The composer: one text box with two modes, Reply (sent to the customer) and Note (posted to
// the note view, never sent), drafts kept per conversation in this tab's sessionStorage, and
// focus in the box when a conversation opens. The server-rendered forms work without this file.
(function () {
  "use strict";

  const DRAFT_PREFIX = "waba:draft:";
  const composer = document.getElementById("composer");

  function storage() {
    try {
      return window.sessionStorage;
    } catch {
      return null; // storage switched off: drafts simply are not kept
    }
  }

  // Drafts go when the person signs out (or the session ends: the sign-in page clears them too,
  // static/js/signed_out.js), so the next person at this browser never sees them.
  function clearDrafts() {
    const store = storage();
    if (!store) return;
    Object.keys(store)
      .filter((key) => key.startsWith(DRAFT_PREFIX))
      .forEach((key) => store.removeItem(key));
  }
  window.wabaClearDrafts = clearDrafts;
  document.addEventListener(
    "submit",
    (event) => {
      if (event.target.matches("form[data-sign-out], form[action$='/accounts/logout/']")) {
        clearDrafts();
      }
    },
    true,
  );

  if (!composer) return;

  function form() {
    return document.getElementById("composer");
  }

  function textarea() {
    return document.getElementById("reply-text");
  }

  let current = "reply";

  function mode() {
    return current;
  }

  function draftKey() {
    return DRAFT_PREFIX + form().dataset.conversation;
  }

  function saveDraft() {
    const store = storage();
    const box = textarea();
    if (!store || !box || !form()) return;
    if (box.value.trim()) {
      store.setItem(draftKey(), JSON.stringify({ text: box.value, mode: mode() }));
    } else {
      store.removeItem(draftKey());
    }
  }

  function storedDraft() {
    const store = storage();
    if (!store) return null;
    try {
      return JSON.parse(store.getItem(draftKey()) || "null");
    } catch {
      return null;
    }
  }

  function windowOpen() {
    const header = document.getElementById("conversation-header");
    return !header || header.dataset.windowOpen !== "0";
  }

  // The mode decides what the box may do: a note can be written when replying cannot (the
  // 24-hour window closed, an account that only reads).
  function applyMode(next) {
    const element = form();
    if (!element) return;
    const canNote = Boolean(element.dataset.noteUrl);
    const chosen = next === "note" && canNote ? "note" : "reply";
    const changed = chosen !== current;
    current = chosen;
    element.dataset.mode = chosen;
    element.classList.toggle("is-note", chosen === "note");
    element.querySelectorAll(".composer-mode").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.mode === chosen));
    });
    const hint = element.querySelector("[data-note-hint]");
    if (hint) hint.hidden = chosen !== "note";
    const box = textarea();
    const submit = element.querySelector(".composer-row button[type=submit]");
    const label = element.querySelector("label[for=reply-text]");
    const key = chosen === "note" ? "note" : "reply";
    const enabled =
      chosen === "note" || (element.dataset.canReply === "1" && windowOpen());
    if (box) {
      box.placeholder = box.dataset[`${key}Placeholder`];
      box.maxLength = chosen === "note" ? 4000 : 4096;
      box.disabled = !enabled;
    }
    if (submit) {
      submit.textContent = submit.dataset[`${key}Text`];
      submit.disabled = !enabled;
    }
    if (label) label.textContent = label.dataset[`${key}Label`];
    // Only a change of mode: a header brought by the poll re-applies the same mode, and must
    // not close a picker being used.
    if (changed) {
      document.dispatchEvent(new CustomEvent("composer:changed", { detail: { mode: chosen } }));
    }
  }

  function focusBox() {
    const box = textarea();
    if (box && !box.disabled) {
      box.focus({ preventScroll: true });
      box.setSelectionRange(box.value.length, box.value.length);
      return true;
    }
    return false;
  }

  // Other scripts (shortcuts.js) ask for a mode with this event.
  document.addEventListener("composer:mode", (event) => {
    applyMode(event.detail.mode);
    saveDraft();
    focusBox();
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("#composer .composer-mode");
    if (!button) return;
    applyMode(button.dataset.mode);
    saveDraft();
    focusBox();
  });

  document.addEventListener("input", (event) => {
    if (event.target.id === "reply-text") saveDraft();
  });

  // Note mode: the same form posts to the note view, whose answer (the note form, hidden
  // while this file runs) replaces #note-composer instead of the composer; its note comes
  // into the timeline out of band.
  let pendingNote = false;
  let noteToShow = null;
  document.addEventListener("htmx:configRequest", (event) => {
    const element = form();
    if (event.detail.elt !== element) return;
    pendingNote = mode() === "note";
    if (pendingNote) event.detail.path = element.dataset.noteUrl;
  });
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.elt !== form() || !pendingNote) return;
    const target = document.getElementById("note-composer");
    if (target) event.detail.target = target;
    else event.detail.shouldSwap = false;
    const added = /id="n-(\d+)"/.exec(event.detail.xhr.responseText || "");
    noteToShow = added && event.detail.xhr.status === 200 ? `n-${added[1]}` : null;
  });
  document.addEventListener("htmx:afterSettle", (event) => {
    const element = event.detail.elt;
    if (element.id === "composer") {
      // A fresh composer (a reply sent or refused): the mode stays, the draft follows its text.
      applyMode(mode());
      saveDraft();
      return;
    }
    if (element.id !== "note-composer" || !pendingNote) return;
    pendingNote = false;
    const error = form()?.querySelector("[data-composer-error]");
    const refusal = element.querySelector(".form-error");
    if (error) {
      error.textContent = refusal ? refusal.textContent : "";
      error.hidden = !refusal;
    }
    if (!refusal) {
      const box = textarea();
      box.value = "";
      box.dispatchEvent(new Event("input", { bubbles: true }));
      saveDraft();
    }
    focusBox();
    const note = noteToShow && document.getElementById(noteToShow);
    noteToShow = null;
    if (note) revealInTimeline(note);
  });
  // Scrolls the timeline alone (scrollIntoView would scroll the page as well).
  function revealInTimeline(element) {
    const timeline = document.getElementById("timeline");
    if (!timeline || !timeline.contains(element)) return;
    const box = timeline.getBoundingClientRect();
    const rect = element.getBoundingClientRect();
    if (rect.bottom > box.bottom) timeline.scrollTop += rect.bottom - box.bottom + 12;
    else if (rect.top < box.top) timeline.scrollTop -= box.top - rect.top + 12;
  }

  // The header, replaced by a poll, may say that the window opened or closed.
  document.addEventListener("htmx:oobAfterSwap", (event) => {
    const target = event.detail.target || event.target;
    if (target.id === "conversation-header") applyMode(mode());
  });

  const draft = storedDraft();
  const box = textarea();
  if (draft && box && !box.value) {
    applyMode(draft.mode);
    box.value = draft.text;
  } else {
    applyMode("reply");
  }
  // A phone's keyboard would cover the conversation just opened: focus only with a mouse or
  // trackpad (and a keyboard). The timeline takes focus when the box cannot.
  if (window.matchMedia("(pointer: fine)").matches && !focusBox()) {
    document.getElementById("timeline")?.focus({ preventScroll: true });
  }
})();
