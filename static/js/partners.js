// Partners pages: the practice page's "Log a touchpoint" button and the pipeline board's decline dialog.
// No inline scripts anywhere, so the Content-Security-Policy can forbid them.
(function () {
  "use strict";

  // <a href="#quick-log" data-open-details>: open the <details> it points at and put the cursor in its form.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-open-details]");
    if (!link) return;
    var details = document.querySelector(link.getAttribute("href"));
    if (!details || details.tagName !== "DETAILS") return;
    event.preventDefault();
    details.open = true;
    details.scrollIntoView({ block: "start" });
    var field = details.querySelector("select, input:not([type=hidden]), textarea");
    if (field) field.focus();
  });

  // Declining a practice needs a reason: a card's move to "Declined" (menu or drag) opens the decline dialog
  // (partners/partials/decline_dialog.html) instead of posting. The dialog's answer goes into the card's
  // hidden "reason" field and the card's form is sent; Cancel puts the card's menu back. Runs in the capture
  // phase, before htmx sees the submit.
  var dialog = null;
  var pendingForm = null;

  function resetPending() {
    if (!pendingForm) return;
    var stage = pendingForm.querySelector("select[name=stage]");
    if (stage && pendingForm.dataset.currentStage) stage.value = pendingForm.dataset.currentStage;
    pendingForm = null;
  }

  function openDeclineDialog(form) {
    dialog = dialog || document.getElementById("decline-dialog");
    if (!dialog || !window.bootstrap) return false;
    pendingForm = form;
    var dialogForm = dialog.querySelector("form");
    dialogForm.reset();
    dialog.querySelectorAll(".is-invalid").forEach(function (field) { field.classList.remove("is-invalid"); });
    dialog.querySelector("[data-decline-practice]").textContent = form.dataset.practiceName || "";
    bootstrap.Modal.getOrCreateInstance(dialog).show();
    return true;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id === "decline-form") {
      event.preventDefault();
      var chosen = form.querySelector("input[name=decline_reason]:checked");
      var details = form.querySelector("textarea[name=decline_details]").value.trim();
      var reason = chosen ? chosen.value : "";
      if (reason === "other") reason = "";
      var text = reason && details ? reason + " — " + details : reason || details;
      var error = form.querySelector("[data-decline-error]");
      if (!text) {
        error.classList.remove("d-none");
        form.querySelector("fieldset").classList.add("is-invalid");
        (chosen && chosen.value === "other" ? form.querySelector("textarea") : form.querySelector("input[type=radio]")).focus();
        return;
      }
      error.classList.add("d-none");
      var target = pendingForm;
      pendingForm = null;
      target.querySelector("input[name=reason]").value = text.slice(0, 255);
      bootstrap.Modal.getOrCreateInstance(dialog).hide();
      target.requestSubmit();
      return;
    }
    if (!form.classList || !form.classList.contains("board-move")) return;
    var stage = form.querySelector("select[name=stage]");
    var reasonField = form.querySelector("input[name=reason]");
    if (stage.value === "declined" && !reasonField.value && openDeclineDialog(form)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("hidden.bs.modal", function (event) {
    if (event.target.id === "decline-dialog") resetPending();
  });
  document.addEventListener("change", function (event) {
    // "Other" asks for the free text.
    if (event.target.name === "decline_reason") {
      var details = document.getElementById("decline-details");
      details.required = event.target.value === "other";
    }
  });
})();
