// Site-wide behaviour. No inline scripts anywhere, so the Content-Security-Policy can forbid them.
(function () {
  "use strict";
  // Runs in the capture phase, before htmx sees the submit, so a cancel stops htmx too.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    // Buttons or forms that ask for confirmation: <form data-confirm="Remove Jane?">.
    var message = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    // Declining a practice needs a reason: ask for it.
    var stage = form.querySelector && form.querySelector("select[name=stage]");
    var reason = form.querySelector && form.querySelector("input[name=reason][type=hidden]");
    if (stage && reason && stage.value === "declined" && !reason.value) {
      var answer = window.prompt(form.dataset.declinePrompt || "Why did the practice decline?");
      if (!answer || !answer.trim()) {
        event.preventDefault();
        event.stopImmediatePropagation();
        // A cancelled drop leaves the card where it was: put its menu back too.
        if (form.dataset.currentStage) stage.value = form.dataset.currentStage;
        return;
      }
      reason.value = answer.trim();
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
