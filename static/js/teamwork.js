// Teamwork in the inbox: the quick-reply picker ("/" in the composer's Reply mode) and
// @mentions (in its Note mode, composer.js). Everything else (labels, notes) is
// server-rendered forms that work without this file.
//
// A picker is a server-rendered listbox (ul[role=listbox] of li[role=option], each with
// data-insert: the text to insert, and data-search: what typing filters on). The textarea
// keeps focus throughout; the active option is announced with aria-activedescendant and a
// polite live region, and ↑/↓ move, Enter or Tab insert, Esc closes.
(function () {
  "use strict";

  const PICKERS = [
    { textarea: "#reply-text", list: "quick-reply-list", trigger: "/", mode: "reply" },
    { textarea: "#reply-text", list: "note-mentions", trigger: "@", mode: "note" },
  ];

  function modeOf(textarea) {
    return textarea.form && textarea.form.dataset.mode === "note" ? "note" : "reply";
  }
  const state = { picker: null, token: null };

  function pickerFor(textarea) {
    if (!textarea || textarea.tagName !== "TEXTAREA") return null;
    const config = PICKERS.find((p) => textarea.matches(p.textarea) && p.mode === modeOf(textarea));
    if (!config) return null;
    const list = document.getElementById(config.list);
    return list ? { ...config, element: textarea, listbox: list } : null;
  }

  // The "/query" or "@query" being typed just before the caret, if any: the trigger must
  // start the text or follow white space, and the query holds no white space.
  function tokenAt(textarea, trigger) {
    if (textarea.selectionStart !== textarea.selectionEnd) return null;
    const before = textarea.value.slice(0, textarea.selectionStart);
    const at = before.lastIndexOf(trigger);
    if (at === -1) return null;
    if (at > 0 && !/\s/.test(before[at - 1])) return null;
    const query = before.slice(at + trigger.length);
    if (/\s/.test(query)) return null;
    return { start: at, end: textarea.selectionStart, query: query.toLowerCase() };
  }

  function options(listbox) {
    return Array.from(listbox.querySelectorAll('[role="option"]'));
  }

  function visibleOptions(listbox) {
    return options(listbox).filter((option) => !option.hidden);
  }

  function status(listbox, text) {
    const region = document.querySelector(`[data-picker-status="${listbox.id}"]`);
    if (region) region.textContent = text;
  }

  function setActive(picker, option) {
    options(picker.listbox).forEach((o) => o.setAttribute("aria-selected", String(o === option)));
    if (option) {
      picker.element.setAttribute("aria-activedescendant", option.id);
      reveal(picker.listbox, option);
    } else {
      picker.element.removeAttribute("aria-activedescendant");
    }
  }

  // Scrolls the list alone: scrollIntoView would scroll every scrollable ancestor too, the
  // page among them, and push the top bar out of sight.
  function reveal(listbox, option) {
    const top = option.offsetTop;
    const bottom = top + option.offsetHeight;
    if (top < listbox.scrollTop) listbox.scrollTop = top;
    else if (bottom > listbox.scrollTop + listbox.clientHeight) {
      listbox.scrollTop = bottom - listbox.clientHeight;
    }
  }

  function activeOption(picker) {
    return picker.listbox.querySelector('[role="option"][aria-selected="true"]:not([hidden])');
  }

  function close() {
    if (!state.picker) return;
    state.picker.listbox.hidden = true;
    setActive(state.picker, null);
    state.picker = null;
    state.token = null;
  }

  function open(picker, token) {
    let shown = 0;
    options(picker.listbox).forEach((option) => {
      const match = option.dataset.search.includes(token.query);
      option.hidden = !match;
      if (match) shown += 1;
    });
    if (!shown) {
      close();
      return;
    }
    const wasOpen = state.picker && state.picker.listbox === picker.listbox;
    state.picker = picker;
    state.token = token;
    picker.listbox.hidden = false;
    const current = activeOption(picker);
    setActive(picker, current || visibleOptions(picker.listbox)[0]);
    if (!wasOpen || !current) {
      const label = picker.listbox.getAttribute("aria-label") || "";
      status(picker.listbox, `${label}: ${shown}. ↑ ↓, Enter, Esc.`);
    }
  }

  function move(step) {
    const list = visibleOptions(state.picker.listbox);
    if (!list.length) return;
    const index = list.indexOf(activeOption(state.picker));
    const next = list[(index + step + list.length) % list.length];
    setActive(state.picker, next);
  }

  function choose(option) {
    const picker = state.picker;
    const token = state.token;
    if (!picker || !token || !option) return;
    const textarea = picker.element;
    const text = option.dataset.insert;
    const value = textarea.value;
    textarea.value = value.slice(0, token.start) + text + value.slice(token.end);
    const caret = token.start + text.length;
    textarea.setSelectionRange(caret, caret);
    close();
    textarea.focus();
    // Lets inbox.js grow the box to fit the inserted text.
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    status(picker.listbox, "");
  }

  function refresh(textarea) {
    const picker = pickerFor(textarea);
    if (!picker) return;
    const token = tokenAt(textarea, picker.trigger);
    if (token) open(picker, token);
    else if (state.picker && state.picker.element === textarea) close();
  }

  document.addEventListener("input", (event) => refresh(event.target));
  document.addEventListener("click", (event) => {
    const option = event.target.closest('.picker [role="option"]');
    if (option && state.picker && state.picker.listbox.contains(option)) {
      event.preventDefault();
      choose(option);
      return;
    }
    if (event.target.tagName === "TEXTAREA") refresh(event.target);
    else if (state.picker && !state.picker.listbox.contains(event.target)) close();
  });
  // Keep the textarea focused while an option is clicked.
  document.addEventListener("mousedown", (event) => {
    if (event.target.closest(".picker")) event.preventDefault();
  });
  document.addEventListener("focusout", (event) => {
    if (state.picker && event.target === state.picker.element) {
      setTimeout(() => {
        if (state.picker && document.activeElement !== state.picker.element) close();
      }, 150);
    }
  });

  // Capture phase on the document: runs before inbox.js, whose Enter would send the reply.
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.isComposing) return;
      const target = event.target;
      if (state.picker && target === state.picker.element) {
        const handled = {
          ArrowDown: () => move(1),
          ArrowUp: () => move(-1),
          Enter: () => choose(activeOption(state.picker)),
          Tab: () => choose(activeOption(state.picker)),
          Escape: () => close(),
        }[event.key];
        if (handled && !(event.key === "Enter" && event.shiftKey)) {
          event.preventDefault();
          event.stopPropagation();
          handled();
          return;
        }
      }
    },
    true,
  );

  // The composer belongs to inbox.html: tell assistive technology about the picker of its
  // current mode.
  function wire() {
    const textarea = document.querySelector("#reply-text");
    if (!textarea) return;
    const config = PICKERS.find((p) => p.mode === modeOf(textarea));
    const list = document.getElementById(config.list);
    const hint = document.getElementById("quick-reply-hint");
    if (hint && config.trigger === "/") textarea.setAttribute("aria-describedby", hint.id);
    else textarea.removeAttribute("aria-describedby");
    if (!list) {
      textarea.removeAttribute("aria-autocomplete");
      textarea.removeAttribute("aria-controls");
      return;
    }
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", list.id);
  }

  // A composer or note form being replaced takes its open picker with it.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (state.picker && target && target.contains(state.picker.element)) close();
  });
  document.addEventListener("htmx:afterSettle", wire);
  document.addEventListener("DOMContentLoaded", wire);
  document.addEventListener("composer:changed", () => {
    close();
    wire();
  });
})();
