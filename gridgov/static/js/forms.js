// A form is sent once per tap: a second submit of the same form within a few seconds (a
// double tap, an impatient second press on a slow network) is dropped, so it cannot create
// a second record. After that the form may be sent again (a download leaves the page as it
// was), and going back to the page resets it. Forms that htmx sends, and submits another
// handler cancelled (a declined confirm()), are left alone.
(function () {
  "use strict";
  var HOLD_MS = 5000;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.method || "").toLowerCase() !== "post") return;
    var sent = Number(form.dataset.sentAt || 0);
    if (Date.now() - sent < HOLD_MS) {
      event.preventDefault();
      return;
    }
    form.dataset.sentAt = String(Date.now());
    form.classList.add("is-sending");
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent-at]").forEach(function (form) {
      delete form.dataset.sentAt;
      form.classList.remove("is-sending");
    });
  });
})();
