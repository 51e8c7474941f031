/*
 * Proof of work for booking forms (no third-party service).
 *
 * For every <form data-challenge>, on submit: when its hidden field challenge_solution is
 * empty, ask GET /api/v1/challenge; when the service wants a solution, find a counter so
 * that SHA-256("<challenge>:<counter>") starts with `difficulty` zero bits, put
 * "<challenge>:<counter>" in the field and submit. When no solution is needed, or the
 * challenge cannot be fetched, the form is submitted as it is and the server decides.
 *
 * The search runs a small SHA-256 in JavaScript that hashes the fixed prefix once: a call
 * to crypto.subtle per try costs more than the hash itself. The solution found is checked
 * with crypto.subtle where the page has it (a secure context), and the search works where
 * it has not (plain HTTP on a local network).
 *
 * Also usable from other scripts: ZZPow.solve(challenge, difficulty) -> Promise<solution>,
 * and ZZPow.fetchSolution(url) -> Promise<solution or "">.
 */
(function () {
  "use strict";

  var FIELD = "challenge_solution";
  var DEFAULT_URL = "/api/v1/challenge";
  var encoder = new TextEncoder();

  function zeroBits(bytes, difficulty) {
    var full = difficulty >> 3;
    for (var i = 0; i < full; i++) {
      if (bytes[i] !== 0) return false;
    }
    var rest = difficulty & 7;
    return rest === 0 || (bytes[full] >> (8 - rest)) === 0;
  }

  // --- SHA-256 ------------------------------------------------------------------------
  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2
  ]);
  var INITIAL = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
    0x5be0cd19
  ];
  var W = new Int32Array(64);

  // One compression of the 64-byte block at data[offset..] into state (8 words, in place).
  function compress(state, data, offset) {
    var t;
    for (t = 0; t < 16; t++) {
      var j = offset + t * 4;
      W[t] = (data[j] << 24) | (data[j + 1] << 16) | (data[j + 2] << 8) | data[j + 3];
    }
    for (t = 16; t < 64; t++) {
      var a15 = W[t - 15], a2 = W[t - 2];
      var s0 = ((a15 >>> 7) | (a15 << 25)) ^ ((a15 >>> 18) | (a15 << 14)) ^ (a15 >>> 3);
      var s1 = ((a2 >>> 17) | (a2 << 15)) ^ ((a2 >>> 19) | (a2 << 13)) ^ (a2 >>> 10);
      W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
    }
    var a = state[0], b = state[1], c = state[2], d = state[3];
    var e = state[4], f = state[5], g = state[6], h = state[7];
    for (t = 0; t < 64; t++) {
      var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      var temp1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t] + W[t]) | 0;
      var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      var temp2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + temp1) | 0;
      d = c; c = b; b = a; a = (temp1 + temp2) | 0;
    }
    state[0] = (state[0] + a) | 0; state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0; state[3] = (state[3] + d) | 0;
    state[4] = (state[4] + e) | 0; state[5] = (state[5] + f) | 0;
    state[6] = (state[6] + g) | 0; state[7] = (state[7] + h) | 0;
  }

  // Pads the last `length` bytes of a `total`-byte message, held from buffer[0], in place;
  // returns how many bytes of buffer now hold whole blocks.
  function pad(buffer, length, total) {
    var padded = ((length + 9 + 63) >> 6) << 6;
    buffer[length] = 0x80;
    for (var i = length + 1; i < padded; i++) buffer[i] = 0;
    var bits = total * 8;
    buffer[padded - 4] = (bits >>> 24) & 0xff;
    buffer[padded - 3] = (bits >>> 16) & 0xff;
    buffer[padded - 2] = (bits >>> 8) & 0xff;
    buffer[padded - 1] = bits & 0xff;
    return padded;
  }

  function sha256(message) {
    var buffer = new Uint8Array(message.length + 72);
    buffer.set(message);
    var padded = pad(buffer, message.length, message.length);
    var state = new Int32Array(INITIAL);
    for (var offset = 0; offset < padded; offset += 64) compress(state, buffer, offset);
    var out = new Uint8Array(32);
    for (var k = 0; k < 8; k++) {
      out[k * 4] = state[k] >>> 24;
      out[k * 4 + 1] = (state[k] >>> 16) & 0xff;
      out[k * 4 + 2] = (state[k] >>> 8) & 0xff;
      out[k * 4 + 3] = state[k] & 0xff;
    }
    return out;
  }

  // --- solving ---------------------------------------------------------------------
  // The search hashes "<challenge>:" once up to its last whole block (the midstate) and
  // then only the short tail with each counter: hundreds of thousands of tries a second
  // on a phone, where one crypto.subtle call per try would cost far more than the hash.
  function search(challenge, difficulty, deadline) {
    var prefix = encoder.encode(challenge + ":");
    var whole = prefix.length - (prefix.length % 64);
    var midstate = new Int32Array(INITIAL);
    for (var offset = 0; offset < whole; offset += 64) compress(midstate, prefix, offset);
    var tailLength = prefix.length - whole;
    var tail = new Uint8Array(256);
    tail.set(prefix.subarray(whole));
    var state = new Int32Array(8);
    var shift = 32 - difficulty;
    var counter = 0;

    return new Promise(function (resolve, reject) {
      (function round() {
        var stop = counter + 50000;
        for (; counter < stop; counter++) {
          var digits = String(counter);
          var length = tailLength;
          for (var i = 0; i < digits.length; i++) tail[length++] = digits.charCodeAt(i);
          var padded = pad(tail, length, whole + length);
          state.set(midstate);
          for (var block = 0; block < padded; block += 64) compress(state, tail, block);
          if ((state[0] >>> shift) === 0) {
            resolve(challenge + ":" + counter);
            return;
          }
        }
        if (deadline && Date.now() > deadline) {
          reject(new Error("challenge took too long"));
          return;
        }
        setTimeout(round, 0); // let the page breathe between rounds
      })();
    });
  }

  function confirm(solution, difficulty) {
    // Where the browser has crypto.subtle, the found solution is checked with it.
    if (!(window.crypto && window.crypto.subtle && window.isSecureContext)) {
      return Promise.resolve(solution);
    }
    return window.crypto.subtle
      .digest("SHA-256", encoder.encode(solution))
      .then(function (digest) {
        if (!zeroBits(new Uint8Array(digest), difficulty)) {
          throw new Error("solution does not check");
        }
        return solution;
      });
  }

  function solve(challenge, difficulty) {
    return search(challenge, difficulty, Date.now() + 60000).then(function (solution) {
      return confirm(solution, difficulty);
    });
  }

  // "" when the service wants no solution now.
  function fetchSolution(url) {
    return fetch(url || DEFAULT_URL, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" }
    })
      .then(function (response) {
        if (!response.ok) throw new Error("challenge " + response.status);
        return response.json();
      })
      .then(function (offer) {
        if (!offer.required || !offer.challenge) return "";
        return solve(offer.challenge, offer.difficulty);
      });
  }

  // --- forms -------------------------------------------------------------------------
  function solutionField(form) {
    var field = form.querySelector('input[name="' + FIELD + '"]');
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = FIELD;
      form.appendChild(field);
    }
    field.autocomplete = "off";
    return field;
  }

  function submitAgain(form, submitter) {
    form.dataset.challengeDone = "1";
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
    } else {
      form.submit();
    }
    // Should the browser refuse the form after all, the next submit asks again.
    setTimeout(function () {
      delete form.dataset.challengeDone;
    }, 0);
  }

  function onSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-challenge")) return;
    if (form.dataset.challengeDone === "1") {
      delete form.dataset.challengeDone;
      return;
    }
    var field = solutionField(form);
    if (field.value) return;
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return; // already solving
    form.setAttribute("aria-busy", "true");
    var status = form.querySelector("[data-challenge-status]");
    if (status) status.hidden = false;
    var submitter = event.submitter;
    fetchSolution(form.getAttribute("data-challenge") || DEFAULT_URL)
      .then(function (solution) {
        field.value = solution;
      })
      .catch(function () {
        // Submit without a solution: the server says whether one was needed.
      })
      .then(function () {
        form.removeAttribute("aria-busy");
        if (status) status.hidden = true;
        submitAgain(form, submitter);
      });
  }

  // A solution is good for one booking: never resubmit one restored by the browser.
  function forgetSolutions() {
    var fields = document.querySelectorAll('form[data-challenge] input[name="' + FIELD + '"]');
    for (var i = 0; i < fields.length; i++) fields[i].value = "";
  }

  document.addEventListener("submit", onSubmit);
  window.addEventListener("pageshow", forgetSolutions);

  window.ZZPow = { solve: solve, fetchSolution: fetchSolution, sha256: sha256 };
})();
