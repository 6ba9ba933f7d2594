// Site-wide behaviour. No inline scripts anywhere, so the Content-Security-Policy can forbid them.
function askToConfirm(message, buttonLabel, buttonStyle, onConfirm) {
  "use strict";
  var dialog = document.getElementById("confirm-dialog");
  if (!dialog || !window.bootstrap) {
    // A page without the dialog (a plain page): fall back to the browser's own question.
    if (window.confirm(message)) onConfirm();
    return;
  }
  var accept = dialog.querySelector("[data-confirm-accept]");
  dialog.querySelector("[data-confirm-message]").textContent = message;
  accept.textContent = buttonLabel || accept.dataset.defaultLabel;
  // Destructive by default (red); data-confirm-style="primary" for a question that only double-checks.
  accept.className = "btn btn-" + (buttonStyle === "primary" ? "brand" : "danger");
  var modal = bootstrap.Modal.getOrCreateInstance(dialog);
  var confirmed = false;
  accept.onclick = function () { confirmed = true; modal.hide(); };
  dialog.addEventListener("hidden.bs.modal", function done() {
    dialog.removeEventListener("hidden.bs.modal", done);
    accept.onclick = null;
    if (confirmed) onConfirm();
  });
  modal.show();
}

// Toasts after an action, sent by the server as HX-Trigger {"showToast": {"message", "level", "undoUrl"}}
// (spa_referrals/toasts.py). Undo posts to undoUrl through htmx.
function showToast(detail) {
  "use strict";
  var host = document.getElementById("toasts");
  if (!host || !detail || !detail.message) return;
  var toast = document.createElement("div");
  toast.className = "toast align-items-center border-0 text-bg-" + (detail.level === "warning" ? "warning" : "dark");
  toast.setAttribute("role", detail.level === "warning" ? "alert" : "status");
  var row = document.createElement("div");
  row.className = "d-flex align-items-center";
  var body = document.createElement("div");
  body.className = "toast-body";
  body.textContent = detail.message;
  row.appendChild(body);
  if (detail.undoUrl) {
    var undo = document.createElement("button");
    undo.type = "button";
    undo.className = "btn btn-sm btn-light me-2";
    undo.textContent = host.dataset.undoLabel || "Undo";
    undo.addEventListener("click", function () {
      undo.disabled = true;
      htmx.ajax("POST", detail.undoUrl, { swap: "none" });
      bootstrap.Toast.getOrCreateInstance(toast).hide();
    });
    row.appendChild(undo);
  }
  var close = document.createElement("button");
  close.type = "button";
  close.className = "btn-close btn-close-white me-2 m-auto";
  close.setAttribute("data-bs-dismiss", "toast");
  close.setAttribute("aria-label", host.dataset.closeLabel || "Close");
  row.appendChild(close);
  toast.appendChild(row);
  host.appendChild(toast);
  toast.addEventListener("hidden.bs.toast", function () { toast.remove(); });
  bootstrap.Toast.getOrCreateInstance(toast, { delay: detail.undoUrl ? 10000 : 5000 }).show();
}
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  document.body.addEventListener("showToast", function (event) { showToast(event.detail); });
});

// A form that failed shows its error summary (forms/div.html) at the top; move focus there so a keyboard or
// screen-reader user, or someone on a phone, sees what to fix without hunting for it.
function focusErrorSummary(root) {
  "use strict";
  var summary = (root || document).querySelector(".error-summary");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
    if (summary.scrollIntoView) summary.scrollIntoView({ block: "center" });
  }
}
document.addEventListener("DOMContentLoaded", function () { focusErrorSummary(document); });
document.addEventListener("htmx:afterSwap", function (event) { focusErrorSummary(event.detail.target); });

(function () {
  "use strict";
  // Runs in the capture phase, before htmx sees the submit, so a cancel stops htmx too.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    // Buttons or forms that ask for confirmation: <form data-confirm="Remove Jane?">. The question opens in a
    // Bootstrap dialog (includes/dialogs.html); "confirm" sends the form again, marked as confirmed.
    var message = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
    if (message && form.dataset.confirmed !== "yes") {
      event.preventDefault();
      event.stopImmediatePropagation();
      var buttonLabel = (submitter && submitter.dataset.confirmButton) || form.dataset.confirmButton;
      var buttonStyle = (submitter && submitter.dataset.confirmStyle) || form.dataset.confirmStyle;
      askToConfirm(message, buttonLabel, buttonStyle, function () {
        form.dataset.confirmed = "yes";
        if (submitter) form.requestSubmit(submitter); else form.requestSubmit();
        delete form.dataset.confirmed;
      });
      return;
    }
  }, true);
})();

// Pipeline board: drag a card onto another column. Dropping sets the card's "Move to"
// menu and submits its form through htmx, exactly as a keyboard user would.
(function () {
  "use strict";
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".board-card");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.practice);
  });
  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".board-dropzone.drag-over").forEach(function (zone) {
      zone.classList.remove("drag-over");
    });
  });
  document.addEventListener("dragover", function (event) {
    var zone = event.target.closest && event.target.closest(".board-dropzone");
    if (!zone || !dragged) return;
    event.preventDefault();
    zone.classList.add("drag-over");
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest(".board-dropzone");
    if (zone) zone.classList.remove("drag-over");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest(".board-dropzone");
    if (!zone || !dragged) return;
    event.preventDefault();
    zone.classList.remove("drag-over");
    var form = dragged.querySelector("form.board-move");
    var select = form.querySelector("select[name=stage]");
    if (select.value !== zone.dataset.stage) {
      select.value = zone.dataset.stage;
      form.requestSubmit();
    }
    dragged = null;
  });
  // Errors from htmx actions (e.g. "Say why the practice declined.") arrive as an HX-Trigger event.
  document.body.addEventListener("showMessage", function (event) {
    var host = document.querySelector("main .messages") || document.querySelector("main");
    var alert = document.createElement("div");
    alert.className = "alert alert-warning alert-dismissible fade show";
    alert.setAttribute("role", "alert");
    alert.textContent = event.detail.value;
    var close = document.createElement("button");
    close.type = "button"; close.className = "btn-close"; close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", "Close");
    alert.appendChild(close);
    host.prepend(alert);
  });
})();

// htmx forms that answer a refused post with 400 and the form showing its errors (the referral
// panel, marked data-swap-errors): swap that answer in instead of dropping it as an error.
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  var target = event.detail.target;
  if ((status === 400 || status === 409) && target && target.closest && target.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
