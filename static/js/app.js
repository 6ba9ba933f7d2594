// Site-wide behaviour. No inline scripts anywhere, so the Content-Security-Policy can forbid them.
(function () {
  "use strict";
  // Buttons that ask for confirmation: <button data-confirm="Remove Jane?">.
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var message = (submitter && submitter.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();
