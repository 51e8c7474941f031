/*
 * The booking form, made quicker with JavaScript (it works without):
 * - checks names, document numbers and the phone as the visitor types, with the same rules
 *   and the same words as the server (the messages come from the form's data-msg-* attributes,
 *   already in the page's language);
 * - adds and removes companion rows in place;
 * - shows the guardian's consent only when a child under 14 is in the booking;
 * - sends the form once, even when tapped twice on a slow connection.
 * The server checks everything again: nothing here is trusted.
 */
(function () {
  "use strict";

  var form = document.querySelector("form[data-booking-form]");
  if (!form) return;
  form.noValidate = true;

  var rowsBox = form.querySelector("[data-rows]");
  var template = form.querySelector("template[data-row-template]");
  var addWrap = form.querySelector("[data-add-row-wrap]");
  var guardian = form.querySelector("[data-guardian]");
  var guardianBox = document.getElementById("guardian_consent");
  var submitButton = form.querySelector("[data-submit]");
  var maxRows = parseInt(form.getAttribute("data-max-rows"), 10) || 5;
  var visitDate = form.getAttribute("data-visit-date") || "";
  var sending = false;

  function msg(key) {
    return form.getAttribute("data-msg-" + key) || "";
  }

  // --- identity documents and phone numbers: the server's rules ----------------------------
  // Each kind of document's pattern, and which kinds are GB 11643 numbers (address code,
  // birth date, check character), come from the server's registry of documents through
  // the form's data-documents attribute.
  var DOCUMENTS = JSON.parse(form.getAttribute("data-documents") || "{}");
  var KINDS = DOCUMENTS.kinds || {};
  var PROVINCES = DOCUMENTS.address_codes || [];
  var PATTERNS = {};
  Object.keys(KINDS).forEach(function (type) {
    PATTERNS[type] = new RegExp(KINDS[type].pattern);
  });
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK = "10X98765432";

  function clean(value) {
    return value.replace(/[\s-]/g, "").toUpperCase();
  }

  function isGb11643(type) {
    return !!(KINDS[type] && KINDS[type].gb11643);
  }

  function birthDate(number) {
    var year = +number.slice(6, 10), month = +number.slice(10, 12), day = +number.slice(12, 14);
    var date = new Date(Date.UTC(year, month - 1, day));
    if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 ||
        date.getUTCDate() !== day) return null;
    return [year, month, day];
  }

  // What is wrong with a GB 11643 number that fits its pattern, "" when nothing.
  function gb11643Problem(number) {
    if (PROVINCES.indexOf(+number.slice(0, 2)) < 0) return "address_code";
    var born = birthDate(number);
    if (!born || born[0] < 1900 || number.slice(6, 14) > visitDate.replace(/-/g, "")) {
      return "birth_date";
    }
    var total = 0;
    for (var i = 0; i < 17; i++) total += (+number.charAt(i)) * WEIGHTS[i];
    return CHECK.charAt(total % 11) === number.charAt(17) ? "" : "check_character";
  }

  // "" when the number fits its kind, else what is wrong with it (the server's words for
  // each: format, address_code, birth_date, check_character).
  function documentProblem(type, number) {
    var pattern = PATTERNS[type];
    if (!pattern) return "";
    if (!pattern.test(number)) return "format";
    return isGb11643(type) ? gb11643Problem(number) : "";
  }

  function documentOk(type, number) {
    return documentProblem(type, number) === "";
  }

  function phoneOk(value) {
    var digits = value.replace(/[\s\-()]/g, "");
    if (digits.indexOf("+86") === 0) digits = digits.slice(3);
    else if (digits.indexOf("0086") === 0) digits = digits.slice(4);
    return /^1[3-9]\d{9}$/.test(digits);
  }

  // Age on the visit day from a valid resident ID; null when the document tells no age
  // (other documents count as adults', as on the server); undefined for no valid number.
  function ageOf(type, raw) {
    var number = clean(raw);
    if (!number || !documentOk(type, number)) return undefined;
    if (!isGb11643(type) || !visitDate) return null;
    var born = birthDate(number);
    var visit = visitDate.split("-").map(Number);
    var age = visit[0] - born[0];
    if (visit[1] < born[1] || (visit[1] === born[1] && visit[2] < born[2])) age -= 1;
    return age;
  }

  function isChild(type, raw) {
    var age = ageOf(type, raw);
    return typeof age === "number" && age < 14;
  }

  // --- messages next to the fields --------------------------------------------------------
  function holderOf(input) {
    return input.closest(".field, .consent, fieldset") || input.parentNode;
  }

  function describedBy(input, id, present) {
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    ids = ids.filter(function (item) { return item !== id; });
    if (present) ids.push(id);
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
  }

  function showError(input, key, text) {
    var id = key + "-error";
    var note = document.getElementById(id);
    if (text) {
      if (!note) {
        note = document.createElement("p");
        note.className = "field-error";
        note.id = id;
        holderOf(input).appendChild(note);
      }
      note.textContent = text;
      input.setAttribute("aria-invalid", "true");
    } else {
      if (note) note.parentNode.removeChild(note);
      input.removeAttribute("aria-invalid");
    }
    describedBy(input, id, !!text);
  }

  function rowOf(input) {
    return input.closest("[data-row]");
  }

  function rowIsBlank(row) {
    return !row.querySelector("[data-name]").value.trim() &&
      !row.querySelector("[data-id-number]").value.trim();
  }

  function isFirstRow(row) {
    return rowsBox.querySelector("[data-row]") === row;
  }

  function nameProblem(input) {
    var row = rowOf(input);
    if (!isFirstRow(row) && rowIsBlank(row)) return "";
    return input.value.trim() ? "" : msg("name");
  }

  function numberProblem(input) {
    var row = rowOf(input);
    if (!isFirstRow(row) && rowIsBlank(row)) return "";
    var type = row.querySelector("[data-id-type]").value;
    var number = clean(input.value);
    if (!number) return msg("number");
    var problem = documentProblem(type, number);
    return problem ? msg(type + "-" + problem) || msg(type) : "";
  }

  function phoneProblem(input) {
    if (!input.value.trim()) return msg("phone-empty");
    return phoneOk(input.value) ? "" : msg("phone");
  }

  function check(input) {
    if (input.matches("[data-name]")) showError(input, input.id, nameProblem(input));
    else if (input.matches("[data-id-number]")) showError(input, input.id, numberProblem(input));
    else if (input.matches("[data-phone]")) showError(input, "phone", phoneProblem(input));
  }

  function childInBooking() {
    var rows = rowsBox.querySelectorAll("[data-row]");
    for (var i = 0; i < rows.length; i++) {
      var type = rows[i].querySelector("[data-id-type]").value;
      if (isChild(type, rows[i].querySelector("[data-id-number]").value)) return true;
    }
    return false;
  }

  function adultInBooking() {
    var rows = rowsBox.querySelectorAll("[data-row]");
    for (var i = 0; i < rows.length; i++) {
      var age = ageOf(rows[i].querySelector("[data-id-type]").value,
        rows[i].querySelector("[data-id-number]").value);
      if (age === null || (typeof age === "number" && age >= 18)) return true;
    }
    return false;
  }

  function updateGuardian() {
    if (!guardian) return;
    var needed = childInBooking();
    guardian.hidden = !needed && !guardianBox.checked && !document.getElementById("guardian_consent-error");
    guardianBox.required = needed;
  }

  form.addEventListener("focusout", function (event) {
    var input = event.target;
    if (input.matches && input.matches("[data-name], [data-id-number], [data-phone]") && input.value) {
      check(input);
    }
  });

  form.addEventListener("input", function (event) {
    var input = event.target;
    if (input.getAttribute("aria-invalid") === "true") check(input);
    if (input.matches("[data-id-number]")) updateGuardian();
    if (input.type === "checkbox" && input.checked) showError(input, input.id, "");
  });

  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches("[data-id-type]")) {
      var number = rowOf(input).querySelector("[data-id-number]");
      if (number.value) check(number);
      updateGuardian();
    }
    if (input.type === "radio") {
      var note = document.getElementById("slot-error");
      if (note) note.parentNode.removeChild(note);
    }
    if (input.type === "checkbox" && input.checked) showError(input, input.id, "");
  });

  // --- companion rows ---------------------------------------------------------------------
  function renumber() {
    var rows = rowsBox.querySelectorAll("[data-row]");
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var elements = row.querySelectorAll("[id], [for], [aria-describedby], [data-remove-row]");
      for (var j = 0; j < elements.length; j++) {
        var element = elements[j];
        ["id", "for", "aria-describedby"].forEach(function (name) {
          var value = element.getAttribute(name);
          if (value) {
            element.setAttribute(name, value.replace(/(name|id_type|id_number|id-hint)-\d+/g,
              "$1-" + i));
          }
        });
        if (element.hasAttribute("data-remove-row")) element.value = "remove-" + i;
      }
      row.querySelector("[data-row-number]").textContent = String(i + 1);
    }
    if (addWrap) addWrap.hidden = rows.length >= maxRows;
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || !form.contains(button)) return;
    if (button.hasAttribute("data-add-row")) {
      event.preventDefault();
      var count = rowsBox.querySelectorAll("[data-row]").length;
      if (count >= maxRows || !template) return;
      var html = template.innerHTML.replace(/__i__/g, String(count))
        .replace(/__n__/g, String(count + 1));
      rowsBox.insertAdjacentHTML("beforeend", html);
      renumber();
      var rows = rowsBox.querySelectorAll("[data-row]");
      rows[rows.length - 1].querySelector("[data-name]").focus();
    } else if (button.hasAttribute("data-remove-row")) {
      event.preventDefault();
      var row = button.closest("[data-row]");
      var previous = row.previousElementSibling;
      row.parentNode.removeChild(row);
      renumber();
      updateGuardian();
      var target = previous && previous.querySelector("[data-name]");
      if (target) target.focus();
    }
  });

  // --- sending ----------------------------------------------------------------------------
  function problems() {
    var found = [];
    var slots = form.querySelectorAll('input[name="slot_id"]');
    var chosen = form.querySelector('input[name="slot_id"]:checked');
    if (slots.length && !chosen) {
      var slotBox = document.getElementById("slot");
      var note = document.getElementById("slot-error");
      if (!note) {
        note = document.createElement("p");
        note.className = "field-error";
        note.id = "slot-error";
        slotBox.insertBefore(note, slotBox.querySelector(".choices"));
      }
      note.textContent = msg("slot");
      var first = form.querySelector('input[name="slot_id"]:not(:disabled)');
      if (first) found.push(first);
    }
    var inputs = form.querySelectorAll("[data-name], [data-id-number], [data-phone]");
    for (var i = 0; i < inputs.length; i++) {
      check(inputs[i]);
      if (inputs[i].getAttribute("aria-invalid") === "true") found.push(inputs[i]);
    }
    // A child needs an adult in the same booking: said now, with everything else.
    var visitorsBox = document.getElementById("visitors");
    var firstName = rowsBox.querySelector("[data-name]");
    if (visitorsBox && firstName) {
      var alone = childInBooking() && !adultInBooking() ? msg("minor_without_adult") : "";
      var old = document.getElementById("visitors-error");
      if (old) old.parentNode.removeChild(old);
      describedBy(firstName, "visitors-error", !!alone);
      if (alone) {
        var note = document.createElement("p");
        note.className = "field-error";
        note.id = "visitors-error";
        note.textContent = alone;
        visitorsBox.insertBefore(note, rowsBox);
        firstName.setAttribute("aria-invalid", "true");
        found.push(firstName);
      }
    }
    ["consent", "sensitive_consent", "guardian_consent"].forEach(function (name) {
      var box = document.getElementById(name);
      if (!box) return;
      var needed = name !== "guardian_consent" || childInBooking();
      var text = needed && !box.checked ? msg(name) : "";
      showError(box, name, text);
      if (text) found.push(box);
    });
    updateGuardian();
    return found;
  }

  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.name === "change") {
      // A helper button (move to another day): an ordinary post, no booking, no challenge.
      event.stopPropagation();
      return;
    }
    if (form.dataset.challengeDone === "1") return; // the challenge script sending it on
    if (sending) {
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    var found = problems();
    if (found.length) {
      event.preventDefault();
      event.stopPropagation();
      var summary = document.querySelector("[data-error-summary]");
      if (summary) summary.parentNode.removeChild(summary);
      found[0].focus();
      found[0].scrollIntoView({ block: "center" });
      return;
    }
    sending = true;
    if (submitButton) {
      submitButton.setAttribute("aria-disabled", "true");
      submitButton.textContent = msg("sending");
    }
  });

  window.addEventListener("pageshow", function () {
    sending = false;
    if (submitButton && submitButton.getAttribute("aria-disabled")) {
      submitButton.removeAttribute("aria-disabled");
      submitButton.textContent = submitButton.getAttribute("data-label") || submitButton.textContent;
    }
  });
  if (submitButton) submitButton.setAttribute("data-label", submitButton.textContent);

  updateGuardian();
  var serverSummary = document.querySelector("[data-error-summary]");
  if (serverSummary) serverSummary.focus();
})();
