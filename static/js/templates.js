// Message templates in the composer: small conveniences on top of server-rendered forms (the
// panel works without this file; htmx does the requests).
(function () {
  "use strict";

  function panel() {
    return document.getElementById("template-composer");
  }

  // The 24-hour window can open or close while the page is open: the offer follows it
  // ("Send a template" when closed, a quiet "Template" when open).
  function syncWindowState() {
    const header = document.getElementById("conversation-header");
    const section = panel();
    if (header && section) section.dataset.windowOpen = header.dataset.windowOpen;
  }

  // Keyboard flow: a freshly opened panel puts focus where the next choice is.
  function focusPanel() {
    const section = panel();
    if (!section || !section.classList.contains("is-open")) return;
    const invalid = section.querySelector("[aria-invalid=true]");
    const empty = Array.from(section.querySelectorAll(".template-field input")).find(
      (input) => !input.value,
    );
    const target = invalid || empty || section.querySelector("#template-choice");
    if (target) target.focus();
  }

  document.addEventListener("htmx:oobAfterSwap", (event) => {
    const target = event.detail.target || event.target;
    if (target && target.id === "conversation-header") syncWindowState();
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail.target || event.detail.elt;
    if (target && target.id === "template-composer") focusPanel();
  });

  // Escape closes the panel, like its Cancel link.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.isComposing) return;
    const section = panel();
    if (!section || !section.contains(event.target)) return;
    const cancel = section.querySelector("[data-template-cancel]");
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  });
})();
