// My day and the task list (loaded by those pages only; no inline script, see app.js).
(function () {
  "use strict";

  // "Patients to contact": Log attempt and Accept post to the referral page's own action addresses
  // (hx-swap="none"). Their answer is the referral page's panel, which has no place here: drop it, say what
  // happened in a toast, and let the list draw itself again (it listens for patientsChanged).
  function patientAction(event) {
    var form = event.detail && event.detail.elt;
    return form && form.matches && form.matches("form[data-patient-action]") ? form : null;
  }

  function refusal(xhr) {
    // The panel shows a refused action's reason at its top, or beside the field.
    try {
      var html = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      var reason = html.querySelector(".alert-danger, .invalid-feedback");
      return reason ? reason.textContent.trim() : "";
    } catch (error) {
      return "";
    }
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    // Nothing of the answer is swapped in, not even the panel's out-of-band parts (heading, timeline).
    if (patientAction(event)) event.detail.shouldSwap = false;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = patientAction(event);
    if (!form) return;
    if (event.detail.successful) {
      showToast({ message: form.dataset.done, level: "success" });
    } else {
      var reason = event.detail.xhr ? refusal(event.detail.xhr) : "";
      showToast({ message: reason ? form.dataset.failed + " " + reason : form.dataset.failed, level: "warning" });
    }
    htmx.trigger(document.body, "patientsChanged");
  });

  // Bulk "Mark selected done": say how many are ticked, and keep the button off until one is.
  function updateBulkBar() {
    var form = document.getElementById("bulk-tasks");
    if (!form) return;
    var ticked = document.querySelectorAll('input[type=checkbox][form="bulk-tasks"]:checked').length;
    var button = form.querySelector("button[type=submit]");
    var count = form.querySelector("[data-bulk-count]");
    if (button) button.disabled = ticked === 0;
    if (count) {
      if (!count.dataset.hint) count.dataset.hint = count.textContent;
      count.textContent = ticked === 0 ? count.dataset.hint : (form.dataset.selectedLabel || "%s selected").replace("%s", ticked);
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches('input[type=checkbox][form="bulk-tasks"]')) updateBulkBar();
  });
  document.addEventListener("DOMContentLoaded", updateBulkBar);
  document.addEventListener("htmx:afterSettle", updateBulkBar);
})();
