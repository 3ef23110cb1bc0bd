// Media: the composer's attachment form (chosen file, caption, reply-to) and media previews
// that can no longer load. Everything here also works without this file, only less nicely.
(function () {
  "use strict";

  // Loaded once per page; a re-rendered attachment form does not run it again.
  if (window.wabaMediaLoaded) return;
  window.wabaMediaLoaded = true;
  document.documentElement.classList.add("js");

  function formatSize(bytes) {
    if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
    return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  }

  // The chosen file's name and size; the caption and Send button appear (CSS, .has-file).
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!input.matches || !input.matches("#attach-form input[type=file]")) return;
    const form = input.form;
    const label = form.querySelector("[data-attach-name]");
    const file = input.files && input.files[0];
    form.classList.toggle("has-file", Boolean(file));
    if (!file) {
      label.textContent = "";
      return;
    }
    const max = Number(form.dataset.maxBytes || 0);
    if (max && file.size > max) {
      input.value = "";
      form.classList.remove("has-file");
      label.textContent = form.dataset.tooLarge;
      return;
    }
    label.textContent = `${file.name} · ${formatSize(file.size)}`;
    const caption = form.querySelector("[name=caption]");
    if (caption && !caption.disabled) caption.focus();
  });

  // A reply chosen in the text composer ("Reply" on a message) applies to the file too.
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      if (form.id !== "attach-form" || !form.elements.reply_to) return;
      const composer = document.getElementById("composer");
      form.elements.reply_to.value = composer?.elements.reply_to?.value || "";
    },
    true,
  );

  // The fresh form after a sent file: the reply it answered is done.
  document.addEventListener("htmx:load", (event) => {
    const form = event.target;
    if (form.id !== "attach-form" || form.dataset.sent !== "1") return;
    const composer = document.getElementById("composer");
    const cancel = composer?.querySelector("[data-cancel-reply]");
    if (cancel && composer.elements.reply_to?.value) cancel.click();
  });

  // The 24-hour window can close (or open again) while the page is open.
  function syncWindow() {
    const header = document.getElementById("conversation-header");
    const form = document.getElementById("attach-form");
    if (!header || !form) return;
    const open = header.dataset.windowOpen === "1";
    form.classList.toggle("is-closed", !open);
    form.querySelectorAll("input[type=file], input[name=caption], button[type=submit]").forEach(
      (control) => {
        control.disabled = !open;
      },
    );
  }
  document.addEventListener("htmx:oobAfterSwap", (event) => {
    const target = event.detail.target || event.target;
    if (target.id === "conversation-header") syncWindow();
  });

  // A preview Meta no longer serves (media expire after some days): say so instead of
  // showing a broken image or a dead player.
  function markUnavailable(media) {
    const preview = media.closest(".media-preview") || media;
    const note = preview.parentElement?.querySelector(".media-unavailable");
    preview.hidden = true;
    if (note) note.hidden = false;
  }
  document.addEventListener(
    "error",
    (event) => {
      const media = event.target;
      if (media.matches?.("img.media-image, video.media-preview, audio.media-preview")) {
        markUnavailable(media);
      }
    },
    true,
  );
})();
