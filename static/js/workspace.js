// The conversation workspace: the contact panel's toggle and the header's menus. Without this
// file the panel opens through its #contact-panel link (:target) and the menus are <details>.
(function () {
  "use strict";

  const STORAGE_KEY = "waba.contact-panel";
  // Wide enough for the list, the conversation and the panel side by side.
  const WIDE = window.matchMedia("(min-width: 1200px)");
  const PHONE = window.matchMedia("(max-width: 760px)");

  function inbox() {
    return document.querySelector(".inbox.has-open");
  }

  function remembered() {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  }

  function remember(open) {
    try {
      window.localStorage.setItem(STORAGE_KEY, open ? "open" : "closed");
    } catch {
      // Storage refused (private mode): the panel simply starts as the screen suggests.
    }
  }

  // The header is swapped by htmx (assign, close, the poll): its toggle is told again.
  function syncToggle() {
    const root = inbox();
    const open = Boolean(root && root.classList.contains("panel-open"));
    document.querySelectorAll("[data-panel-toggle]").forEach((toggle) => {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  function setPanel(open, { focus = false, save = true } = {}) {
    const root = inbox();
    const panel = document.getElementById("contact-panel");
    if (!root || !panel) return;
    root.classList.toggle("panel-open", open);
    // A phone shows one screen at a time: the remembered choice is for wide screens.
    if (save && !PHONE.matches) remember(open);
    syncToggle();
    if (focus && open) panel.focus();
    if (focus && !open) {
      const toggle = document.querySelector("[data-panel-toggle]");
      if (toggle) toggle.focus();
    }
  }

  function closeMenus(except) {
    document.querySelectorAll(".more-menu[open]").forEach((menu) => {
      if (menu !== except) menu.removeAttribute("open");
    });
  }

  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-panel-toggle]");
    if (toggle) {
      event.preventDefault();
      const root = inbox();
      setPanel(!(root && root.classList.contains("panel-open")), { focus: PHONE.matches });
      return;
    }
    if (event.target.closest("[data-panel-close]")) {
      event.preventDefault();
      setPanel(false, { focus: true });
      return;
    }
    closeMenus(event.target.closest(".more-menu"));
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.isComposing) return;
    const menu = event.target.closest && event.target.closest(".more-menu[open]");
    if (menu) {
      menu.removeAttribute("open");
      const summary = menu.querySelector("summary");
      if (summary) summary.focus();
      return;
    }
    const panel = document.getElementById("contact-panel");
    if (panel && panel.contains(event.target) && PHONE.matches) setPanel(false, { focus: true });
  });

  // The poll replaces the header when the conversation changes: a menu someone has open
  // stays open rather than closing under their pointer, and keyboard focus stays on the
  // same control of the new header instead of falling back to the page.
  const FOCUSABLE = "a[href], button, summary, select, input, textarea, [tabindex]";
  let menuWasOpen = false;
  let focusedIndex = -1;
  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const target = event.detail.target;
    if (target && target.id === "conversation-header") {
      menuWasOpen = Boolean(target.querySelector(".more-menu[open]"));
      focusedIndex = target.contains(document.activeElement)
        ? Array.from(target.querySelectorAll(FOCUSABLE)).indexOf(document.activeElement)
        : -1;
    }
  });
  document.addEventListener("htmx:oobAfterSwap", () => {
    const header = document.getElementById("conversation-header");
    if (menuWasOpen) {
      const menu = header && header.querySelector(".more-menu");
      if (menu) menu.setAttribute("open", "");
      menuWasOpen = false;
    }
    if (focusedIndex >= 0 && header) {
      const control = header.querySelectorAll(FOCUSABLE)[focusedIndex];
      if (control) control.focus();
      focusedIndex = -1;
    }
    syncToggle();
  });
  document.addEventListener("htmx:afterSettle", syncToggle);

  function start() {
    const state = remembered();
    const open = !PHONE.matches && (state ? state === "open" : WIDE.matches);
    setPanel(open, { save: false });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
