/*
 * The desk's pages, made handier with JavaScript (they work without):
 * - a keyboard-wedge card reader types the document number into the focused field and
 *   presses Enter: in a document field Enter moves on to the next field instead of sending
 *   the form before the rest is filled in;
 * - a form with data-confirm asks before it is sent.
 */
(function () {
  "use strict";

  function nextField(input) {
    var form = input.form;
    if (!form) return null;
    var fields = Array.prototype.filter.call(form.elements, function (element) {
      return !element.disabled && element.type !== "hidden" && element.tagName !== "FIELDSET";
    });
    var index = fields.indexOf(input);
    return index >= 0 && index + 1 < fields.length ? fields[index + 1] : null;
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || !input.hasAttribute || !input.hasAttribute("data-card-reader")) return;
    var next = nextField(input);
    if (!next || next.type === "submit") return; // the last field: Enter sends, as usual
    event.preventDefault();
    input.value = input.value.trim();
    next.focus();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
})();
