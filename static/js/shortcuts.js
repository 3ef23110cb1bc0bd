// Keyboard shortcuts (listed in inbox/shortcuts_help.html and README.md): single keys outside
// text boxes, matched by the key's position (event.code) so that they also work with an Arabic
// layout. Esc leaves the composer so that they can be used. Each only presses what the page
// already offers: the server decides, as for a click.
(function () {
  "use strict";

  function help() {
    return document.getElementById("shortcuts-help");
  }

  function openHelp() {
    const dialog = help();
    if (dialog && !dialog.open) dialog.showModal();
  }

  function header() {
    return document.getElementById("conversation-header");
  }

  function compose(mode) {
    document.dispatchEvent(new CustomEvent("composer:mode", { detail: { mode } }));
  }

  // "Assign to me": the header's own button, or, for those who may assign anyone, their
  // name in its menu.
  function assignToMe() {
    const button = header()?.querySelector("button[name=assignee][value=me]");
    if (button) {
      button.click();
      return;
    }
    const me = document.getElementById("composer")?.dataset.user;
    const select = header()?.querySelector("select[name=assignee]");
    const option = me && select && select.querySelector(`option[value="${CSS.escape(me)}"]`);
    if (option && !option.selected) {
      select.value = me;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  function closeConversation() {
    header()?.querySelector("button[name=state][value=closed]")?.click();
  }

  // The next (or previous) unread conversation in the list, after (before) the open one.
  function unread(step) {
    const rows = Array.from(document.querySelectorAll("#conversation-list .conversation-row"));
    const current = rows.findIndex((row) => row.querySelector("a[aria-current]"));
    const order = step > 0 ? rows.slice(current + 1) : rows.slice(0, Math.max(current, 0)).reverse();
    const row = order.find((candidate) => candidate.classList.contains("is-unread"));
    row?.querySelector("a")?.click();
  }

  const ACTIONS = {
    KeyR: () => compose("reply"),
    KeyN: () => compose("note"),
    KeyA: assignToMe,
    KeyC: closeConversation,
    KeyU: () => unread(1),
    "Shift+KeyU": () => unread(-1),
  };

  function typing(target) {
    return Boolean(target.closest && target.closest("input, textarea, select, [contenteditable]"));
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (event.key === "Escape" && target.id === "reply-text") {
      // The timeline takes focus: single-key shortcuts and arrow scrolling work from there.
      document.getElementById("timeline")?.focus({ preventScroll: true });
      return;
    }
    if (typing(target) || help()?.open) return;
    if (event.key === "?" || event.key === "؟") {
      event.preventDefault();
      openHelp();
      return;
    }
    const action = ACTIONS[(event.shiftKey ? "Shift+" : "") + event.code];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-shortcuts-help]")) openHelp();
  });
})();
