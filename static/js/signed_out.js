// The sign-in page: whoever was signed in in this tab is not any more (signed out, or the
// session ended), so the composer's drafts (static/js/composer.js) go.
(function () {
  "use strict";
  try {
    const store = window.sessionStorage;
    Object.keys(store)
      .filter((key) => key.startsWith("waba:draft:"))
      .forEach((key) => store.removeItem(key));
  } catch {
    // storage switched off: there are no drafts
  }
})();
