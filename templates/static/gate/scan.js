// The scanner page at the entrance.
//
// Codes arrive three ways: a USB or Bluetooth scanner that types the code and Enter into
// the focused field (the common gate hardware), the device camera read with the browser's
// BarcodeDetector where it has one, or the vendored jsQR decoder in every other browser.
// Each code is checked once by the server; the live occupancy is polled every 2 seconds.
// Without a code, the visitor's identity document finds their ticket (a keyboard-wedge card
// reader types its number into the document field, or staff type it), and so does the
// ticket number printed under the QR, looked up first so that staff compare the masked name.
//
// When the server cannot be reached the page keeps admitting QR codes within its lease:
// offline.js judges the ticket on this device and queues the scan, and the queue goes up as
// soon as the server answers again (or when staff press "upload now"), before anything else
// is asked of it. The bar at the top always says which of the two it is, how many scans
// wait, how old the offline data is, and how many people the lease still lets in.
(function () {
  "use strict";

  var root = document.getElementById("scanner");
  if (!root) return;

  var POLL_MS = 2000;
  // A server that has not answered a scan within this time is treated as unreachable.
  var REQUEST_TIMEOUT_MS = 6000;
  // While offline, how often to try the server again.
  var PROBE_MS = 10000;
  var REFRESH_MS = (parseInt(root.getAttribute("data-refresh-seconds"), 10) || 60) * 1000;
  var Offline = window.GateOffline;
  var verdictWords = JSON.parse(root.getAttribute("data-verdicts") || "{}");
  var CAMERA_FRAME_MS = 150;
  // The same code seen again by the camera within this time is the same scan.
  var CAMERA_REPEAT_MS = 4000;

  var $ = function (id) { return document.getElementById(id); };
  var form = $("scan-form");
  var payloadInput = $("payload");
  var gateInput = $("gate");
  var headcountInput = $("headcount");
  var partyInput = $("party");
  var documentForm = $("document-form");
  var documentType = $("document-type");
  var documentNumber = $("document-number");
  var numberForm = $("number-form");
  var numberInput = $("ticket-number");
  var verdict = $("verdict");
  var headline = $("verdict-headline");
  var modeLine = $("verdict-mode");
  var peopleLine = $("verdict-people");
  var partyLine = $("verdict-party-line");
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

  function failure(kind, message, status, code) {
    var error = new Error(message || kind);
    error.kind = kind;
    error.status = status || 0;
    error.code = code || null;
    return error;
  }

  // fetch with a time limit; errors have a kind: network, session or http.
  function call(url, options) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    var settings = Object.assign({ credentials: "same-origin", redirect: "manual", cache: "no-store" }, options);
    if (controller) settings.signal = controller.signal;
    return fetch(url, settings).then(function (response) {
      if (timer) window.clearTimeout(timer);
      // A lapsed session redirects to the login page like every staff page.
      if (response.type === "opaqueredirect" || response.status === 401) throw failure("session");
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) {
          var problem = data && data.error ? data.error : {};
          throw failure("http", problem.message || text("error"), response.status, problem.code);
        }
        return data;
      });
    }, function () {
      if (timer) window.clearTimeout(timer);
      throw failure("network");
    });
  }

  function post(url, body) {
    return call(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken },
      body: JSON.stringify(body)
    });
  }

  // --- online or not ------------------------------------------------------------------------

  var online = navigator.onLine !== false;
  var netbar = $("netbar");
  var netState = $("net-state");
  var uploadStatus = $("upload-status");
  var probeTimer = null;

  function setOnline(value) {
    var changed = value !== online;
    online = value;
    netbar.setAttribute("data-online", value ? "true" : "false");
    root.setAttribute("data-online", value ? "true" : "false");
    var words = text(value ? "online" : "offline");
    if (netState.textContent !== words) netState.textContent = words;
    if (changed && value) {
      sync();
    }
    if (!value && !probeTimer) {
      probeTimer = window.setInterval(function () { sync(); }, PROBE_MS);
    }
    if (value && probeTimer) {
      window.clearInterval(probeTimer);
      probeTimer = null;
    }
    showNetFacts();
  }

  // A request failed: was it the network?
  function noteFailure(error) {
    if (error && error.kind === "network") setOnline(false);
  }

  function showNetFacts() {
    $("queue-count").textContent = text("waiting-scans", { n: Offline.waitingCount() });
    var age = Offline.dataAgeMinutes();
    $("data-age").textContent = !Offline.hasData() ? text("no-data")
      : age < 1 ? text("data-fresh") : text("data-age", { minutes: age });
    $("device-name").textContent = Offline.deviceName() || "—";
    root.setAttribute("data-waiting", String(Offline.waitingCount()));
    var facts = Offline.leaseFacts();
    $("lease").textContent = facts
      ? text("lease", { left: facts.left, allowance: facts.allowance, time: Offline.hhmm(facts.until) })
      : text("no-lease");
    root.setAttribute("data-lease-left", facts ? String(facts.left) : "0");
    if (!online) showEstimate();
  }

  // Each fetch renews this device's lease: its share of the live limit while offline.
  function refreshData() {
    var since = Offline.cursor();
    var query = "device=" + encodeURIComponent(Offline.deviceName() || "");
    if (since) query += "&since=" + encodeURIComponent(since);
    var url = root.getAttribute("data-offline-data-url") + "?" + query;
    var sentAt = Date.now();
    return call(url, { headers: { "Accept": "application/json" } }).then(function (answer) {
      return Offline.absorb(answer, sentAt, Date.now()).then(function () {
        root.setAttribute("data-offline-ready", "true");
        setOnline(true);
        showOccupancy({ inside: answer.inside, limit: answer.limit }, true);
      });
    }, function (error) {
      if (error.kind === "session") showSession();
      noteFailure(error);
    }).then(showNetFacts);
  }

  // What waits goes up first, then fresh data and a new lease: a fetch renews the lease,
  // and the scans it covers must reach the server under it. A failed upload asks nothing
  // more until the next try.
  function sync(forced) {
    if (!Offline.waitingCount()) {
      if (forced) uploadStatus.textContent = text("nothing-waiting");
      return refreshData();
    }
    return uploadQueue().then(function (uploaded) {
      if (uploaded) return refreshData();
      return undefined;
    });
  }

  // Resolves true when everything waiting reached the server.
  function uploadQueue() {
    if (!Offline.waitingCount()) return Promise.resolve(true);
    uploadStatus.textContent = text("uploading");
    return Offline.upload(post, root.getAttribute("data-offline-scans-url")).then(function (totals) {
      setOnline(true);
      var words = text("upload-done", { n: totals.sent });
      if (totals.conflicts) words += " " + text("upload-conflicts", { n: totals.conflicts });
      if (totals.rejected) words += " " + text("upload-rejected", { n: totals.rejected });
      uploadStatus.textContent = words;
      totals.results.forEach(function (done) { updateRecent(done.scan); });
      root.setAttribute("data-uploads", String(parseInt(root.getAttribute("data-uploads") || "0", 10) + 1));
      // The server's count now includes what was uploaded.
      pollNow();
      showNetFacts();
      return true;
    }, function (error) {
      if (error.kind === "session") {
        showSession();
      } else if (error.kind === "http" && error.code === "csrf_failed" && online) {
        window.location.reload();  // a kept page's token: a fresh page brings a fresh one
        return false;
      }
      noteFailure(error);
      uploadStatus.textContent = text("upload-failed");
      showNetFacts();
      return false;
    });
  }

  $("force-upload").addEventListener("click", function () {
    sync(true);
    payloadInput.focus({ preventScroll: true });
  });

  function showSession() {
    showMessage("bad", text("session"), root.getAttribute("data-login-url"));
  }

  // Scans are handled one after another, in the order they were read.
  var queue = Promise.resolve();

  // A resident ID typed into the code field (a card reader with the focus there) goes as
  // a document, never as a code.
  var RESIDENT_ID = /^[0-9]{17}[0-9Xx]$/;

  function scanOptions() {
    var headcount = parseInt(headcountInput.value, 10);
    var options = { gate: gateInput.value.trim(), direction: direction(), headcount: null, party: false };
    if (options.direction === "in" && headcount > 0) options.headcount = headcount;
    if (options.direction === "in" && partyInput.checked) options.party = true;
    return options;
  }

  function submitCode(raw, source) {
    var code = (raw || "").trim();
    if (!code) return;
    if (RESIDENT_ID.test(Offline.normalize(code))) {
      submitOnline({ document: { id_type: "resident_id", id_number: code } }, source);
      return;
    }
    submitOnline({ payload: code }, source);
  }

  // One way to the ticket (payload, document or ticket_number) with the scan's options.
  function submitOnline(what, source) {
    var options = scanOptions();
    if (!options.gate) {
      showMessage("bad", text("gate-required"));
      gateInput.focus();
      return;
    }
    var body = Object.assign(options, what);
    headcountInput.value = "";
    partyInput.checked = false;
    var needsNetwork = !body.payload;
    queue = queue.then(function () {
      if (!online) return needsNetwork ? refuseOffline() : judgeOffline(body);
      showMessage("busy", text("checking"));
      var sentAt = Date.now();
      return post(root.getAttribute("data-check-url"), body).then(function (result) {
        Offline.noteServerTime(result.at, sentAt, Date.now());
        if (result.admitted && result.direction === "in") {
          (result.admitted_tickets || []).forEach(function (item) { Offline.markUsed(item.ticket_id, item.people); });
        }
        showVerdict(result, source);
        showOccupancy(result.occupancy, true);
        if (needsNetwork) clearLookup();
      }, function (error) {
        if (error.kind === "network") {
          // The server is out of reach: judge it here rather than keep a family waiting.
          setOnline(false);
          return needsNetwork ? refuseOffline() : judgeOffline(body);
        }
        if (error.kind === "session") {
          showSession();
        } else {
          showMessage("bad", error.message);
        }
        beep(false);
        return undefined;
      });
    });
  }

  // Entry by document or ticket number needs the server: offline data holds no names.
  function refuseOffline() {
    showMessage("bad", text("needs-network"));
    verdict.setAttribute("data-reason", "needs_network");
    beep(false);
    payloadInput.focus();
  }

  function judgeOffline(body) {
    if (body.party) {
      showMessage("bad", text("party-offline"));
      verdict.setAttribute("data-reason", "party_offline");
      beep(false);
      return Promise.resolve();
    }
    return Offline.scanOffline(body.payload, body.direction, body.headcount, body.gate).then(function (verdict) {
      if (verdict.error === "no-data") {
        showMessage("bad", text("no-offline-data"));
        beep(false);
        return;
      }
      if (verdict.error === "headcount") {
        showMessage("bad", text("remaining-headcount", { n: verdict.toCome }));
        beep(false);
        return;
      }
      showOfflineVerdict(verdict, body.direction);
      showNetFacts();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = payloadInput.value;
    payloadInput.value = "";
    submitCode(code, "keyboard");
    payloadInput.focus();
  });

  // --- entry by document, and the ticket number ----------------------------------------------

  documentForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var number = documentNumber.value.trim();
    // The number is sent once and kept nowhere on this page.
    documentNumber.value = "";
    if (!number) { documentNumber.focus(); return; }
    submitOnline({ document: { id_type: documentType.value, id_number: number } }, "document");
    documentNumber.focus();
  });

  var lookupBox = $("lookup");
  var lookupStatus = $("lookup-status");
  var lookupDetails = $("lookup-details");
  var lookupAdmit = $("lookup-admit");
  var lookupCompanions = $("lookup-companions");
  var lookedUp = null;  // the ticket number shown, once the server found it

  function clearLookup() {
    lookedUp = null;
    lookupBox.hidden = true;
    lookupAdmit.hidden = true;
    lookupDetails.hidden = true;
    $("lookup-companions-box").hidden = true;
    lookupStatus.textContent = "";
  }

  function stateWords(state, valid) {
    if (!valid) return text("state-void");
    return text("state-" + (state === "inside" || state === "left" ? state : "unused"));
  }

  function showLookup(answer) {
    lookupBox.hidden = false;
    var ticket = answer.ticket;
    lookupBox.setAttribute("data-state", ticket && !answer.reason ? "ok" : "bad");
    lookupBox.setAttribute("data-reason", answer.reason || "");
    if (!ticket) {
      lookupStatus.textContent = text("not-found");
      lookupDetails.hidden = true;
      $("lookup-companions-box").hidden = true;
      lookupAdmit.hidden = true;
      return;
    }
    lookedUp = ticket.ticket_id;
    lookupStatus.textContent = (answer.reason ? "✕ " : "✓ ") + answer.message;
    $("lookup-name").textContent = ticket.visitor.name || "—";
    $("lookup-id").textContent = ticket.visitor.id_masked || "—";
    $("lookup-slot").textContent = ticket.date + " · " + ticket.slot.start + "–" + ticket.slot.end;
    $("lookup-party").textContent = text("people", { n: ticket.party_size }) +
      (ticket.party_size > 1 && answer.remaining > 0 ? " · " + text("remaining", { n: answer.remaining }) : "");
    $("lookup-state").textContent = stateWords(ticket.state, answer.reason !== "cancelled");
    lookupDetails.hidden = false;
    lookupCompanions.textContent = "";
    answer.party.forEach(function (item) {
      var line = document.createElement("li");
      line.textContent = (item.visitor.name || item.ticket_id) + " · " + (item.visitor.id_masked || "") +
        " · " + stateWords(item.state, item.valid);
      lookupCompanions.appendChild(line);
    });
    $("lookup-companions-box").hidden = !answer.party.length;
    lookupAdmit.hidden = !!answer.reason;
  }

  numberForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var number = numberInput.value.trim();
    if (!number) { numberInput.focus(); return; }
    if (!online) { refuseOffline(); return; }
    lookupBox.hidden = false;
    lookupAdmit.hidden = true;
    lookupDetails.hidden = true;
    lookupStatus.textContent = text("looking-up");
    post(root.getAttribute("data-lookup-url"), { ticket_number: number }).then(function (answer) {
      showLookup(answer);
      if (!lookupAdmit.hidden) lookupAdmit.focus();
    }, function (error) {
      if (error.kind === "network") {
        setOnline(false);
        clearLookup();
        refuseOffline();
      } else if (error.kind === "session") {
        showSession();
      } else {
        lookupStatus.textContent = error.message;
      }
    });
  });

  lookupAdmit.addEventListener("click", function () {
    if (!lookedUp) return;
    numberInput.value = "";
    submitOnline({ ticket_number: lookedUp }, "ticket-number");
    payloadInput.focus({ preventScroll: true });
  });
  $("lookup-clear").addEventListener("click", function () {
    clearLookup();
    numberInput.value = "";
    numberInput.focus();
  });

  // --- showing verdicts ---------------------------------------------------------------------

  function setState(state, mode) {
    var shown = state === "offline-ok" ? "offline" : state;
    verdict.className = "verdict verdict--" + shown;
    verdict.setAttribute("data-state", state);
    verdict.setAttribute("data-mode", mode || "online");
    modeLine.hidden = mode !== "offline";
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
    partyLine.hidden = true;
    details.hidden = true;
    checkHint.hidden = true;
  }

  // The server writes instants in the museum's own time zone: show its HH:MM as written,
  // whatever zone this device is set to.
  function clock(iso) {
    return String(iso).slice(11, 16);
  }

  function showRow(id, value) {
    $(id).textContent = value || "";
    $(id + "-row").hidden = !value;
  }

  var checkWords = checkHint.textContent;

  function showVerdict(result, source) {
    var ok = result.admitted;
    checkHint.textContent = checkWords;
    setState(ok ? "ok" : "bad", "online");
    headline.textContent = (ok ? "✓ " : "✕ ") + result.message;
    verdict.setAttribute("data-reason", result.reason || "");
    var ticket = result.ticket;
    if (ok && result.people) {
      peopleLine.textContent = text(result.direction === "out" ? "checked-out-people" : "admitted-people", { n: result.people });
      peopleLine.hidden = false;
    } else {
      peopleLine.hidden = true;
    }
    var together = result.admitted_tickets || [];
    var partyWords = [];
    if (ok && result.direction === "in" && together.length > 1) {
      partyWords.push(text("party-admitted", {
        names: together.map(function (item) { return item.visitor.name || item.ticket_id; }).join(text("list-separator"))
      }));
    }
    if (ticket && result.direction === "in" && result.remaining > 0 && ticket.party_size > 1) {
      partyWords.push(text("remaining", { n: result.remaining }));
    }
    partyLine.textContent = partyWords.join(" · ");
    partyLine.hidden = !partyWords.length;
    if (ticket) {
      $("verdict-name").textContent = ticket.visitor.name || "—";
      $("verdict-name-row").hidden = false;
      $("verdict-id").textContent = ticket.visitor.id_masked || "—";
      $("verdict-id-row").hidden = false;
      $("verdict-party").textContent = text("people", { n: ticket.party_size });
      $("verdict-slot").textContent = ticket.date + " · " + ticket.slot.start + "–" + ticket.slot.end;
      showRow("verdict-window", result.entry_opens_at
        ? text("window", { opens: clock(result.entry_opens_at), closes: clock(result.entry_closes_at) }) : "");
      showRow("verdict-org", ticket.organization || "");
      var showEntry = !ok && ticket.entered_at;
      showRow("verdict-entered", showEntry
        ? text("entered", { time: clock(ticket.entered_at), gate: ticket.entered_gate || "" }) : "");
      details.hidden = false;
      checkHint.hidden = !(ok && result.direction === "in");
    } else {
      details.hidden = true;
      checkHint.hidden = true;
    }
    addRecent({
      ok: ok,
      message: result.message,
      who: ticket ? (ticket.visitor.name || ticket.ticket_id) : "",
      time: String(result.at || "").slice(11, 19),
      offline: false
    });
    beep(ok);
  }

  function reasonWords(reason, window_, result) {
    if (result && result.lease === "none") return text("no-lease");
    if (result && result.lease === "expired") return text("lease-expired", { time: Offline.hhmm(result.until) });
    if (result && result.lease === "used-up") return text("lease-used-up", { n: result.allowance });
    if (result && result.lease === "too-few") return text("lease-too-few", { n: result.left });
    if (window_ && reason === "too_early") return verdictWords.too_early_at.replace("{time}", Offline.hhmm(window_.opens));
    if (window_ && reason === "too_late") return verdictWords.too_late_at.replace("{time}", Offline.hhmm(window_.closes));
    return verdictWords[reason] || verdictWords.invalid;
  }

  function showOfflineVerdict(result, way) {
    var ok = result.admitted;
    var claims = result.claims;
    setState(ok ? "offline-ok" : "bad", "offline");
    var words = ok ? text(way === "out" ? "offline-checked-out" : "offline-admitted") : reasonWords(result.reason, result.window, result);
    verdict.setAttribute("data-lease", result.lease || "");
    partyLine.hidden = true;
    headline.textContent = (ok ? "✓ " : "✕ ") + words;
    verdict.setAttribute("data-reason", result.reason || "");
    if (ok) {
      peopleLine.textContent = text(way === "out" ? "checked-out-people" : "admitted-people", { n: result.people });
      peopleLine.hidden = false;
    } else {
      peopleLine.hidden = true;
    }
    if (claims) {
      // Offline there are no names: the ticket's own facts, and the document to check.
      $("verdict-name-row").hidden = true;
      $("verdict-id-row").hidden = true;
      $("verdict-party").textContent = text("people", { n: claims.party });
      $("verdict-slot").textContent = claims.day + " · " + claims.slotId;
      showRow("verdict-window", result.window
        ? text("window", { opens: Offline.hhmm(result.window.opens), closes: Offline.hhmm(result.window.closes) }) : "");
      showRow("verdict-org", "");
      showRow("verdict-entered", "");
      details.hidden = false;
    } else {
      details.hidden = true;
    }
    checkHint.textContent = text("offline-hint");
    checkHint.hidden = !ok;
    if (result.scan) {
      addRecent({
        ok: ok,
        message: words,
        who: claims ? claims.ticketId : "",
        time: Offline.hhmmss(result.scan.atMs),
        offline: true,
        scan: result.scan
      });
    }
    beep(ok);
  }


  // Each line says when: the server's time of its verdict, or for a scan judged offline
  // this device's time corrected by the server's offset, marked as such.
  function addRecent(entry) {
    var item = document.createElement("li");
    item.className = entry.ok ? "recent__ok" : "recent__bad";
    var time = document.createElement("time");
    time.className = "recent__time";
    time.textContent = entry.time;
    item.appendChild(time);
    var mark = document.createElement("span");
    mark.className = "recent__mark";
    mark.textContent = entry.offline ? text("device-time") : text("server-time");
    item.appendChild(mark);
    var what = document.createElement("span");
    what.textContent = (entry.ok ? "✓ " : "✕ ") + entry.message + (entry.who ? " · " + entry.who : "");
    item.appendChild(what);
    if (entry.offline) {
      var state = document.createElement("span");
      state.className = "recent__state";
      item.appendChild(state);
      item.id = "scan-" + entry.scan.id;
      item.setAttribute("data-offline", "true");
      fillState(state, entry.scan);
    } else {
      item.setAttribute("data-offline", "false");
    }
    recent.insertBefore(item, recent.firstChild);
    while (recent.children.length > 10) recent.removeChild(recent.lastChild);
  }

  function fillState(element, scan) {
    var words = scan.state === "waiting" ? text("queued")
      : scan.result && scan.result.conflict ? text("conflict") : text("uploaded");
    element.textContent = " · " + words;
    element.parentNode.setAttribute("data-state", scan.state);
  }

  function updateRecent(scan) {
    var item = document.getElementById("scan-" + scan.id);
    if (item) fillState(item.querySelector(".recent__state"), scan);
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
      Offline.noteReading(occupancy);
    }
  }

  // Offline: the last count from the server plus what this device let in since.
  function showEstimate() {
    var known = Offline.estimate();
    if (!known) return;
    showOccupancy({ inside: known.inside, limit: known.limit }, false);
    stale.textContent = text("estimate");
    stale.hidden = false;
  }

  function pollNow() {
    return fetch(root.getAttribute("data-occupancy-url"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (occupancy) {
        if (!occupancy) return;
        showOccupancy(occupancy, true);
        // Scans still waiting here are not in the server's count yet.
        if (Offline.waitingCount()) showEstimate();
      })
      .catch(function () { /* shown as stale below */ });
  }

  function poll() {
    if (document.hidden) return;
    pollNow().then(function () {
      if (!online) {
        showEstimate();
      } else if (Date.now() - lastFresh > 3 * POLL_MS) {
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
    if (!online) { status.textContent = text("exits-offline"); return; }
    post(root.getAttribute("data-exits-url"), { gate: gate, count: count }).then(function (result) {
      showOccupancy(result.occupancy, true);
      status.textContent = text("exits-done", { n: count });
      $("exit-count").value = "1";
    }, function (error) {
      noteFailure(error);
      status.textContent = error.kind === "session" ? text("session")
        : error.kind === "http" ? error.message : text("exits-offline");
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
              // How often the code in view was read again without being sent: what tests
              // wait for before checking that nothing more was sent.
              root.setAttribute("data-camera-repeats",
                String(parseInt(root.getAttribute("data-camera-repeats") || "0", 10) + 1));
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

  // --- offline: the worker, the data, the queue ----------------------------------------------

  window.addEventListener("online", function () { sync(); });
  window.addEventListener("offline", function () { setOnline(false); });

  function registerWorker() {
    if (!("serviceWorker" in navigator) || !window.isSecureContext) return Promise.resolve();
    return navigator.serviceWorker.register(root.getAttribute("data-worker-url"), {
      scope: root.getAttribute("data-worker-scope")
    }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      root.setAttribute("data-worker", "ready");
    }).catch(function () { root.setAttribute("data-worker", "failed"); });
  }

  Offline.start({ verifierUrl: root.getAttribute("data-verifier-url") }).then(function () {
    root.setAttribute("data-verifier", Offline.verifierKind());
    setOnline(navigator.onLine !== false);
    showNetFacts();
    registerWorker();
    // While online, fresh data (and a renewed lease) every minute; what waited goes up first.
    window.setInterval(function () { if (online) sync(); }, REFRESH_MS);
    window.setInterval(showNetFacts, 15000);
    return sync();
  }).catch(function () {
    root.setAttribute("data-verifier", "none");
  }).then(function () {
    root.setAttribute("data-ready", "true");
  });
  payloadInput.focus();
})();
