// The public pages' only script (the patient landing page, on a phone, maybe on a slow connection).
// A form sent back with errors opens with its summary (portal/partials/error_summary.html: role="alert", each
// error a link to its field) at the top of the form: move focus there so the patient sees what to fix at once.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var summary = document.querySelector(".error-summary");
  if (!summary) return;
  summary.setAttribute("tabindex", "-1");
  summary.focus({ preventScroll: true });
  summary.scrollIntoView({ block: "start" });
});
