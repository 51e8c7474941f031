// The scanner page at the entrance.
//
// Codes arrive three ways: a USB or Bluetooth scanner that types the code and Enter into
// the focused field (the common gate hardware), the device camera read with the browser's
// BarcodeDetector where it has one, or the vendored jsQR decoder in every other browser.
// Each code is checked once by the server; the live occupancy is polled every 2 seconds.
(function () {
  "use strict";

  var root = document.getElementById("scanner");
  if (!root) return;

  var POLL_MS = 2000;
  var CAMERA_FRAME_MS = 150;
  // The same code seen again by the camera within this time is the same scan.
  var CAMERA_REPEAT_MS = 4000;

  var $ = function (id) { return document.getElementById(id); };
  var form = $("scan-form");
  var payloadInput = $("payload");
  var gateInput = $("gate");
  var headcountInput = $("headcount");
  var verdict = $("verdict");
  var headline = $("verdict-headline");
  var peopleLine = $("verdict-people");
  var details = $("verdict-details");
  var checkHint = $("verdict-check");
  var recent = $("recent");
  var cameraBox = $("camera");
  var cameraToggle = $("camera-toggle");
  var cameraVideo = $("camera-video");
  var cameraStatus = $("camera-status");
  var soundToggle = $("sound");

  function text(name, values) {
    var template = root.getAttribute("data-t-" + name) || "";
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return values && key in values ? String(values[key]) : all;
    });
  }

  // --- settings kept on this device --------------------------------------------------------

  function remember(key, value) {
    try { window.localStorage.setItem("zz-gate-" + key, value); } catch (e) { /* private mode */ }
  }
  function recall(key) {
    try { return window.localStorage.getItem("zz-gate-" + key); } catch (e) { return null; }
  }
  var savedGate = recall("gate");
  if (savedGate) gateInput.value = savedGate;
  gateInput.addEventListener("change", function () { remember("gate", gateInput.value.trim()); });
  var savedDirection = recall("direction");
  if (savedDirection === "out" || savedDirection === "in") {
    form.querySelector('input[name="direction"][value="' + savedDirection + '"]').checked = true;
  }
  form.querySelectorAll('input[name="direction"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      remember("direction", direction());
      payloadInput.focus();
    });
  });
  if (recall("sound") === "off") soundToggle.checked = false;
  soundToggle.addEventListener("change", function () {
    remember("sound", soundToggle.checked ? "on" : "off");
    payloadInput.focus();
  });

  function direction() {
    var chosen = form.querySelector('input[name="direction"]:checked');
    return chosen ? chosen.value : "in";
  }

  // --- keeping the scanner's keystrokes in the code field ---------------------------------

  var TEXT_INPUTS = ["text", "number", "search", "password", "email", "tel", "url"];

  // Fields that take typing; a radio button or a checkbox with focus does not.
  function isEditable(element) {
    if (!element) return false;
    var tag = element.tagName;
    if (tag === "INPUT") return TEXT_INPUTS.indexOf(element.type) >= 0;
    return tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  // A scanner types into whatever has focus. When nothing editable has it (staff clicked
  // on the page), its characters are put into the code field instead of being lost.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || isEditable(event.target)) return;
    if (event.key && event.key.length === 1) {
      event.preventDefault();
      payloadInput.focus();
      payloadInput.value += event.key;
    } else if (event.key === "Enter" && payloadInput.value) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // --- talking to the server ----------------------------------------------------------------

  var csrfToken = root.getAttribute("data-csrf");

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": csrfToken
      },
      body: JSON.stringify(body)
    }).then(function (response) {
      // A lapsed session redirects to the login page like every staff page.
      if (response.type === "opaqueredirect" || response.status === 401) {
        var error = new Error("session");
        error.kind = "session";
        throw error;
      }
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) {
          var failure = new Error("http " + response.status);
          failure.kind = "http";
          failure.message = data && data.error ? data.error.message : text("error");
          throw failure;
        }
        return data;
      });
    });
  }

  // Scans are sent one after another, in the order they were read.
  var queue = Promise.resolve();

  function submitCode(raw, source) {
    var code = (raw || "").trim();
    if (!code) return;
    var gate = gateInput.value.trim();
    if (!gate) {
      showMessage("bad", text("gate-required"));
      gateInput.focus();
      return;
    }
    var headcount = parseInt(headcountInput.value, 10);
    var body = { payload: code, gate: gate, direction: direction(), headcount: null };
    if (body.direction === "in" && headcount > 0) body.headcount = headcount;
    headcountInput.value = "";
    queue = queue.then(function () {
      showMessage("busy", text("checking"));
      return post(root.getAttribute("data-check-url"), body).then(function (result) {
        showVerdict(result, source);
        showOccupancy(result.occupancy, true);
      }, function (error) {
        if (error.kind === "session") {
          showMessage("bad", text("session"), "/staff/login?next=/staff/scan");
        } else if (error.kind === "http") {
          showMessage("bad", error.message);
        } else {
          showMessage("bad", text("network"));
        }
        beep(false);
      });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = payloadInput.value;
    payloadInput.value = "";
    submitCode(code, "keyboard");
    payloadInput.focus();
  });

  // --- showing verdicts ---------------------------------------------------------------------

  function setState(state) {
    verdict.className = "verdict verdict--" + state;
    verdict.setAttribute("data-state", state);
  }

  function showMessage(state, message, link) {
    setState(state);
    headline.textContent = message;
    if (link) {
      var anchor = document.createElement("a");
      anchor.href = link;
      anchor.textContent = " →";
      headline.appendChild(anchor);
    }
    peopleLine.hidden = true;
    details.hidden = true;
    checkHint.hidden = true;
  }

  // The server writes instants in the museum's own time zone: show its HH:MM as written,
  // whatever zone this device is set to.
  function clock(iso) {
    return String(iso).slice(11, 16);
  }

  function showVerdict(result, source) {
    var ok = result.admitted;
    setState(ok ? "ok" : "bad");
    headline.textContent = (ok ? "✓ " : "✕ ") + result.message;
    verdict.setAttribute("data-reason", result.reason || "");
    var ticket = result.ticket;
    if (ok && result.people) {
      peopleLine.textContent = text(result.direction === "out" ? "checked-out-people" : "admitted-people", { n: result.people });
      peopleLine.hidden = false;
    } else {
      peopleLine.hidden = true;
    }
    if (ticket) {
      $("verdict-name").textContent = ticket.visitor.name || "—";
      $("verdict-id").textContent = ticket.visitor.id_masked || "—";
      $("verdict-party").textContent = text("people", { n: ticket.party_size });
      $("verdict-slot").textContent = ticket.date + " · " + ticket.slot.start + "–" + ticket.slot.end;
      $("verdict-org").textContent = ticket.organization || "";
      $("verdict-org-row").hidden = !ticket.organization;
      var showEntry = !ok && ticket.entered_at;
      $("verdict-entered").textContent = showEntry
        ? text("entered", { time: clock(ticket.entered_at), gate: ticket.entered_gate || "" })
        : "";
      $("verdict-entered-row").hidden = !showEntry;
      details.hidden = false;
      checkHint.hidden = !(ok && result.direction === "in");
    } else {
      details.hidden = true;
      checkHint.hidden = true;
    }
    addRecent(result);
    beep(ok);
  }

  function addRecent(result) {
    var item = document.createElement("li");
    item.className = result.admitted ? "recent__ok" : "recent__bad";
    var now = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var who = result.ticket ? (result.ticket.visitor.name || result.ticket.ticket_id) : "";
    item.textContent = pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds()) +
      "  " + (result.admitted ? "✓" : "✕") + " " + result.message + (who ? " · " + who : "");
    recent.insertBefore(item, recent.firstChild);
    while (recent.children.length > 10) recent.removeChild(recent.lastChild);
  }

  var audio = null;
  function beep(ok) {
    if (!soundToggle.checked) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.frequency.value = ok ? 1320 : 220;
      oscillator.type = ok ? "sine" : "square";
      gain.gain.value = 0.15;
      oscillator.connect(gain);
      gain.connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + (ok ? 0.15 : 0.45));
    } catch (e) { /* no sound on this device */ }
  }

  // --- live occupancy -----------------------------------------------------------------------

  var meter = $("occupancy-meter");
  var stale = $("occupancy-stale");
  var lastFresh = 0;

  function showOccupancy(occupancy, fresh) {
    if (!occupancy) return;
    $("occupancy-inside").textContent = occupancy.inside;
    $("occupancy-limit").textContent = occupancy.limit;
    meter.max = occupancy.limit;
    meter.low = Math.round(occupancy.limit * 0.8);
    meter.high = Math.round(occupancy.limit * 0.95);
    meter.value = occupancy.inside;
    meter.textContent = occupancy.inside + " / " + occupancy.limit;
    if (typeof occupancy.entered_today === "number") {
      $("occupancy-entered").textContent = occupancy.entered_today;
      $("occupancy-exited").textContent = occupancy.exited_today;
    }
    if (fresh) {
      lastFresh = Date.now();
      stale.hidden = true;
    }
  }

  function poll() {
    if (document.hidden) return;
    fetch(root.getAttribute("data-occupancy-url"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (occupancy) {
        if (occupancy) showOccupancy(occupancy, true);
      })
      .catch(function () { /* shown as stale below */ })
      .then(function () {
        if (Date.now() - lastFresh > 3 * POLL_MS) {
          stale.textContent = text("stale");
          stale.hidden = false;
        }
      });
  }
  lastFresh = Date.now();
  window.setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });

  // --- exit counts --------------------------------------------------------------------------

  $("exits-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var count = parseInt($("exit-count").value, 10);
    var gate = gateInput.value.trim();
    var status = $("exits-status");
    if (!(count > 0)) return;
    if (!gate) { status.textContent = text("gate-required"); gateInput.focus(); return; }
    post(root.getAttribute("data-exits-url"), { gate: gate, count: count }).then(function (result) {
      showOccupancy(result.occupancy, true);
      status.textContent = text("exits-done", { n: count });
      $("exit-count").value = "1";
    }, function (error) {
      status.textContent = error.kind === "session" ? text("session")
        : error.kind === "http" ? error.message : text("network");
    });
  });

  // --- the camera ---------------------------------------------------------------------------

  var stream = null;
  var timer = null;
  var lastCode = "";
  var lastCodeAt = 0;

  function loadScript(url) {
    return new Promise(function (resolve, reject) {
      if (window.jsQR) { resolve(); return; }
      var script = document.createElement("script");
      script.src = url;
      script.onload = function () { resolve(); };
      script.onerror = function () { reject(new Error("decoder")); };
      document.head.appendChild(script);
    });
  }

  // A function reading one video frame: the platform's detector where there is one for QR
  // codes, otherwise jsQR on a canvas (every current browser).
  function makeDecoder() {
    var native = window.BarcodeDetector && window.BarcodeDetector.getSupportedFormats
      ? window.BarcodeDetector.getSupportedFormats().catch(function () { return []; })
      : Promise.resolve([]);
    return native.then(function (formats) {
      if (formats.indexOf("qr_code") >= 0) {
        var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        root.setAttribute("data-decoder", "barcode-detector");
        return function (video) {
          return detector.detect(video).then(function (codes) {
            return codes.length ? codes[0].rawValue : null;
          });
        };
      }
      return loadScript(root.getAttribute("data-decoder-url")).then(function () {
        root.setAttribute("data-decoder", "jsqr");
        var canvas = document.createElement("canvas");
        var context = canvas.getContext("2d", { willReadFrequently: true });
        return function (video) {
          var width = video.videoWidth;
          var height = video.videoHeight;
          if (!width || !height) return Promise.resolve(null);
          var scale = Math.min(1, 960 / Math.max(width, height));
          canvas.width = Math.round(width * scale);
          canvas.height = Math.round(height * scale);
          context.drawImage(video, 0, 0, canvas.width, canvas.height);
          var image = context.getImageData(0, 0, canvas.width, canvas.height);
          var found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
          return Promise.resolve(found ? found.data : null);
        };
      });
    });
  }

  function startCamera() {
    cameraBox.hidden = false;
    // On a phone, the verdict and the picture together fill the screen.
    verdict.scrollIntoView({ block: "start", behavior: "smooth" });
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraStatus.textContent = text("camera-insecure");
      return;
    }
    cameraToggle.textContent = text("camera-stop");
    cameraToggle.setAttribute("aria-pressed", "true");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (media) {
        stream = media;
        cameraVideo.srcObject = media;
        return cameraVideo.play();
      })
      .then(makeDecoder)
      .then(function (decode) {
        cameraStatus.textContent = text("camera-looking");
        root.setAttribute("data-camera", "on");
        var busy = false;
        timer = window.setInterval(function () {
          if (busy || !stream) return;
          busy = true;
          decode(cameraVideo).then(function (code) {
            var now = Date.now();
            if (code && (code !== lastCode || now - lastCodeAt > CAMERA_REPEAT_MS)) {
              lastCode = code;
              lastCodeAt = now;
              submitCode(code, "camera");
            } else if (code) {
              lastCodeAt = now;
            }
          }).catch(function () { /* next frame */ }).then(function () { busy = false; });
        }, CAMERA_FRAME_MS);
      })
      .catch(function () {
        stopCamera();
        cameraBox.hidden = false;
        cameraStatus.textContent = text("camera-denied");
      });
  }

  function stopCamera() {
    if (timer) window.clearInterval(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    cameraVideo.srcObject = null;
    cameraBox.hidden = true;
    cameraToggle.textContent = text("camera-start");
    cameraToggle.setAttribute("aria-pressed", "false");
    root.setAttribute("data-camera", "off");
  }

  cameraToggle.addEventListener("click", function () {
    if (stream || timer) stopCamera(); else startCamera();
    payloadInput.focus({ preventScroll: true });
  });

  root.setAttribute("data-ready", "true");
  payloadInput.focus();
})();
