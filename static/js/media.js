// Media: the composer's attachment form (a file chosen with its button, pasted or dropped on
// the conversation, previewed in the composer, whose text becomes its caption; reply-to) and
// media previews that can no longer load. Everything here also works without this file (the
// attachment form's own file input, caption and Send file), only less nicely.
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
      showPreview(null);
      return;
    }
    const max = Number(form.dataset.maxBytes || 0);
    if (max && file.size > max) {
      input.value = "";
      form.classList.remove("has-file");
      label.textContent = form.dataset.tooLarge;
      showPreview(null);
      return;
    }
    label.textContent = `${file.name} · ${formatSize(file.size)}`;
    showPreview(file);
    document.getElementById("reply-text")?.focus();
  });

  function composer() {
    return document.getElementById("composer");
  }

  let previewUrl = null;

  // The chosen file in the composer: a thumbnail for a picture, its name and size, and a way
  // to drop it. The composer's text is sent as its caption.
  function showPreview(file) {
    const form = composer();
    const preview = form?.querySelector("[data-attach-preview]");
    if (!preview) return;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    preview.replaceChildren();
    form.classList.toggle("has-attachment", Boolean(file));
    preview.hidden = !file;
    if (!file) return;
    if (file.type.startsWith("image/")) {
      previewUrl = URL.createObjectURL(file);
      const image = document.createElement("img");
      image.src = previewUrl;
      image.alt = "";
      preview.appendChild(image);
    }
    const name = document.createElement("span");
    name.className = "attach-preview-name";
    name.dir = "auto";
    name.textContent = `${file.name} · ${formatSize(file.size)}`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link-button";
    remove.dataset.attachRemove = "";
    remove.textContent = preview.dataset.removeLabel;
    preview.append(name, remove);
  }

  function chooseFile(file) {
    const input = document.querySelector("#attach-form input[type=file]");
    if (!input || input.disabled || !file) return false;
    const files = new DataTransfer();
    files.items.add(file);
    input.files = files.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  function dropFile() {
    const input = document.querySelector("#attach-form input[type=file]");
    if (input) {
      input.value = "";
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    showPreview(null);
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-attach-remove]")) dropFile();
  });

  // A picture pasted into the composer (a screenshot) is attached, not pasted as text.
  document.addEventListener("paste", (event) => {
    if (event.target.id !== "reply-text" || composer()?.dataset.mode === "note") return;
    const file = event.clipboardData && event.clipboardData.files[0];
    if (file && chooseFile(file)) event.preventDefault();
  });

  // Files dragged onto the open conversation.
  function dropZone(event) {
    return event.target.closest?.(".inbox-conversation") && document.getElementById("attach-form");
  }
  function carriesFiles(event) {
    return Array.from(event.dataTransfer?.types || []).includes("Files");
  }
  document.addEventListener("dragover", (event) => {
    if (!dropZone(event) || !carriesFiles(event)) return;
    event.preventDefault();
    composer()?.classList.add("is-dragging");
  });
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget || !dropZone({ target: event.relatedTarget })) {
      composer()?.classList.remove("is-dragging");
    }
  });
  document.addEventListener("drop", (event) => {
    composer()?.classList.remove("is-dragging");
    if (!dropZone(event) || !carriesFiles(event)) return;
    event.preventDefault();
    chooseFile(event.dataTransfer.files[0]);
  });

  // Sending the composer with a file chosen sends the file, its text as the caption (the
  // attachment form's own caption and button stay hidden with this file).
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      if (form.id !== "composer" || form.dataset.mode === "note") return;
      if (!form.classList.contains("has-attachment")) return;
      const attach = document.getElementById("attach-form");
      if (!attach) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      attach.elements.caption.value = form.elements.text.value;
      attach.requestSubmit();
    },
    true,
  );

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
    if (form.id !== "attach-form") return;
    showPreview(null);
    if (form.dataset.sent !== "1") return;
    const element = composer();
    const cancel = element?.querySelector("[data-cancel-reply]");
    if (cancel && element.elements.reply_to?.value) cancel.click();
    const text = element?.elements.text;
    if (text) {
      text.value = "";
      text.dispatchEvent(new Event("input", { bubbles: true }));
    }
    const timeline = document.getElementById("timeline");
    if (timeline) timeline.scrollTop = timeline.scrollHeight;
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
