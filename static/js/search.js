// Search in the timeline: a conversation opened from a search scrolls to the newest message
// it found (#search-match), and the search inside the conversation (#find-in-conversation)
// steps through its matches. Messages further back are loaded the way a quote's original is
// (window.inboxShowMessage, inbox.js). Without this file the page opens at the newest message.
(function () {
  "use strict";

  function timeline() {
    return document.getElementById("timeline");
  }

  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  function clearMarks() {
    document.querySelectorAll("#timeline mark.search-match").forEach((mark) => {
      mark.replaceWith(document.createTextNode(mark.textContent));
    });
    timeline()?.normalize();
  }

  // Wraps each occurrence of `term` in the message's text (any case) in <mark>: text nodes
  // only, so no markup of the message is ever re-parsed.
  function markTerm(message, term) {
    const pattern = new RegExp(escapeRegExp(term), "giu");
    const bodies = message.querySelectorAll(".msg-body, .msg-media, .msg-location, .msg-contacts");
    const roots = bodies.length ? bodies : [message];
    let first = null;
    roots.forEach((root) => {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      const nodes = [];
      while (walker.nextNode()) nodes.push(walker.currentNode);
      nodes.forEach((node) => {
        const text = node.nodeValue;
        pattern.lastIndex = 0;
        if (!pattern.test(text)) return;
        pattern.lastIndex = 0;
        const fragment = document.createDocumentFragment();
        let last = 0;
        for (const found of text.matchAll(pattern)) {
          fragment.append(text.slice(last, found.index));
          const mark = document.createElement("mark");
          mark.className = "search-match";
          mark.textContent = found[0];
          fragment.append(mark);
          first = first || mark;
          last = found.index + found[0].length;
        }
        fragment.append(text.slice(last));
        node.replaceWith(fragment);
      });
    });
    return first;
  }

  function show(id, term, done) {
    const element = timeline();
    if (!element || !window.inboxShowMessage) return;
    window.inboxShowMessage(id, element, (message) => {
      clearMarks();
      if (message) {
        const mark = markTerm(message, term);
        if (mark) mark.classList.add("is-current");
      }
      if (done) done(message);
    });
  }

  // The search inside the open conversation.
  const finder = {
    box: null,
    term: "",
    found: [],
    more: false,
    current: -1,
  };

  function say(text) {
    const status = finder.box.querySelector(".find-status");
    status.textContent = text;
  }

  function position() {
    const total = finder.found.length + (finder.more ? "+" : "");
    return finder.box.dataset.position
      .replace("%(current)s", String(finder.current + 1))
      .replace("%(total)s", total);
  }

  function step(by) {
    if (!finder.found.length) return;
    const next = finder.current + by;
    if (next < 0 || next >= finder.found.length) return;
    finder.current = next;
    say(position());
    show(finder.found[next], finder.term, (message) => {
      if (!message) say(finder.box.dataset.further);
    });
  }

  async function find(term) {
    finder.term = term;
    finder.found = [];
    finder.current = -1;
    clearMarks();
    if (!term) {
      say("");
      return;
    }
    const url = `${finder.box.dataset.url}?${new URLSearchParams({ q: term })}`;
    let answer;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      answer = await response.json();
    } catch {
      // Offline or signed out: "none found" would be untrue, so the status stays empty.
      say("");
      return;
    }
    if (finder.term !== term) return; // a newer search was typed meanwhile
    finder.found = answer.messages;
    finder.more = answer.more;
    if (!finder.found.length) {
      say(finder.box.dataset.none);
      return;
    }
    step(1);
  }

  function toggle(open) {
    const button = finder.box.querySelector(".find-toggle");
    const form = finder.box.querySelector(".find-form");
    button.setAttribute("aria-expanded", String(open));
    form.hidden = !open;
    button.hidden = open;
    if (open) {
      form.elements.q.focus();
      form.elements.q.select();
    } else {
      clearMarks();
      finder.found = [];
      finder.term = "";
      say("");
      button.focus();
    }
  }

  function setUpFinder() {
    finder.box = document.getElementById("find-in-conversation");
    if (!finder.box) return;
    finder.box.hidden = false;
    const form = finder.box.querySelector(".find-form");
    finder.box.querySelector(".find-toggle").addEventListener("click", () => toggle(true));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const term = form.elements.q.value.trim();
      if (term && term === finder.term && finder.found.length) step(1);
      else find(term);
    });
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        toggle(false);
      } else if (event.key === "Enter" && event.shiftKey) {
        event.preventDefault();
        step(-1);
      }
    });
    form.addEventListener("click", (event) => {
      const stepper = event.target.closest("[data-find-step]");
      if (stepper) step(Number(stepper.dataset.findStep));
      if (event.target.closest("[data-find-close]")) toggle(false);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpFinder();
    const match = document.getElementById("search-match");
    if (match) show(match.dataset.message, match.dataset.term);
  });
})();
