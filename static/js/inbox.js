// The referral inbox's bulk bar: tick rows (or the whole page), see how many are ticked, act on them.
(function () {
  "use strict";
  var FORM = "bulk-referrals";
  var ticks = 'input[type=checkbox][form="' + FORM + '"]';

  function updateBulkBar() {
    var form = document.getElementById(FORM);
    if (!form) return;
    var boxes = document.querySelectorAll(ticks);
    var ticked = document.querySelectorAll(ticks + ":checked").length;
    form.querySelectorAll("[data-bulk-button]").forEach(function (button) { button.disabled = ticked === 0; });
    var count = form.querySelector("[data-bulk-count]");
    if (count) {
      if (!count.dataset.hint) count.dataset.hint = count.textContent;
      count.textContent = ticked === 0 ? count.dataset.hint : (form.dataset.selectedLabel || "%s selected").replace("%s", ticked);
    }
    var all = document.querySelector("[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches) return;
    if (target.matches("[data-select-all]")) {
      document.querySelectorAll(ticks).forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches("[data-select-all]") || target.matches(ticks)) updateBulkBar();
  });

  // The button that submitted the bulk form names the action. htmx forgets a clicked button once focus moves
  // (as it does to the confirm dialog for Archive), so the action travels with the request explicitly.
  var submitter = null;
  document.addEventListener("submit", function (event) {
    if (event.target.id === FORM) submitter = event.submitter || null;
  }, true);
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt || event.detail.elt.id !== FORM || !submitter || !submitter.name) return;
    var parameters = event.detail.parameters;
    if (parameters.set) parameters.set(submitter.name, submitter.value); else parameters[submitter.name] = submitter.value;
    // The rows' checkboxes sit outside the form element (form="bulk-referrals"): make sure they travel too.
    var ids = Array.prototype.map.call(document.querySelectorAll(ticks + ":checked"), function (box) { return box.value; });
    if (parameters.delete) {
      parameters.delete("referral");
      ids.forEach(function (id) { parameters.append("referral", id); });
    } else {
      parameters.referral = ids;
    }
  });

  document.addEventListener("DOMContentLoaded", updateBulkBar);
  document.addEventListener("htmx:afterSettle", updateBulkBar);
})();
