// The scanner's offline mode: what it keeps to judge tickets without the network, the judging
// itself, and the queue of scans that waits for the network (window.GateOffline).
//
// Kept in IndexedDB, so a reload, a crash or a flat battery loses nothing:
// - "meta": the offline data of the day (keys, cancelled and used tickets, the people of
//   teams still to come, entry windows, the live limit, the last occupancy, this device's
//   lease), the server's clock offset, the people this device admitted per ticket and its
//   own name;
// - "scans": every scan judged offline, with an id of its own, until the server has it.
//
// A ticket is admitted offline when its Ed25519 signature verifies against a published key
// (WebCrypto where the browser has Ed25519, else the vendored noble-ed25519), it is for today,
// inside its slot's entry window, neither cancelled nor used (on the server's list or on this
// device; a team's people until all are in), and the device's lease still has places: the
// server leases each device a share of the live limit while it is online (renewed with every
// fetch), which online admissions leave free. The lease ends when the device uploads, or at
// its time; after that the device admits nobody until it fetches a new one.
(function () {
  "use strict";

  var DB_NAME = "zz-gate";
  var DB_VERSION = 1;
  // A full copy of the lists at least this often; changes only in between.
  var FULL_REFRESH_MS = 30 * 60 * 1000;
  var UPLOAD_CHUNK = 50;  // the most one upload may hold
  var TOKEN = /^ZT1\.([A-Z2-7]{8})\.([0-9A-Z]{8,16})\.(\d{8})\.([0-9A-Za-z_-]{1,16})\.([1-9]\d{0,3})\.([A-Z2-7]{103})$/;

  // --- IndexedDB ------------------------------------------------------------------------------

  var dbPromise = null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var request = window.indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta", { keyPath: "key" });
        if (!db.objectStoreNames.contains("scans")) {
          var scans = db.createObjectStore("scans", { keyPath: "id" });
          scans.createIndex("state", "state", { unique: false });
        }
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
    return dbPromise;
  }

  function run(storeName, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(storeName, mode);
        var store = transaction.objectStore(storeName);
        var result;
        var request = work(store);
        if (request) request.onsuccess = function () { result = request.result; };
        transaction.oncomplete = function () { resolve(result); };
        transaction.onerror = function () { reject(transaction.error); };
        transaction.onabort = function () { reject(transaction.error); };
      });
    });
  }

  function getMeta(key) {
    return run("meta", "readonly", function (store) { return store.get(key); })
      .then(function (row) { return row ? row.value : null; });
  }
  function putMeta(key, value) {
    return run("meta", "readwrite", function (store) { return store.put({ key: key, value: value }); });
  }
  function putScan(scan) {
    return run("scans", "readwrite", function (store) { return store.put(scan); });
  }
  function allScans() {
    return run("scans", "readonly", function (store) { return store.getAll(); })
      .then(function (rows) { return rows || []; });
  }
  function waitingScans() {
    return run("scans", "readonly", function (store) {
      return store.index("state").getAll("waiting");
    }).then(function (rows) {
      return (rows || []).sort(function (a, b) { return a.seq - b.seq; });
    });
  }

  // --- state in memory (mirrors what is kept) ---------------------------------------------------

  var data = null;        // the offline data, as kept
  var offsetMs = 0;       // server clock minus this device's clock
  var zoneOffsetMin = 480; // the museum's UTC offset, from the server's answers
  // People this device admitted today, per ticket (a team's come in parts).
  var localUsed = { date: null, ids: {} };
  // The device's lease: {allowance, until (server ms)}, or null when it has none.
  var lease = null;
  var reading = null;     // last occupancy from the server: {inside, limit, at (device ms)}
  var deviceName = null;
  var scans = [];         // every scan judged offline that is still kept
  var sequence = 0;

  function nowServer() { return Date.now() + offsetMs; }

  function museumDate(serverMs) {
    return new Date(serverMs + zoneOffsetMin * 60000).toISOString().slice(0, 10);
  }

  // An instant as the museum writes it: 2026-03-10T09:05:10+08:00.
  function museumIso(serverMs) {
    var local = new Date(serverMs + zoneOffsetMin * 60000).toISOString().slice(0, 19);
    var sign = zoneOffsetMin >= 0 ? "+" : "-";
    var minutes = Math.abs(zoneOffsetMin);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return local + sign + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }

  function hhmm(serverMs) { return museumIso(serverMs).slice(11, 16); }
  function hhmmss(serverMs) { return museumIso(serverMs).slice(11, 19); }

  function readZone(iso) {
    var match = /([+-])(\d{2}):(\d{2})$/.exec(String(iso || ""));
    if (match) zoneOffsetMin = (match[1] === "-" ? -1 : 1) * (parseInt(match[2], 10) * 60 + parseInt(match[3], 10));
  }

  // The server said what time it was at some moment between `sentAt` and `receivedAt`.
  function noteServerTime(iso, sentAt, receivedAt) {
    var server = Date.parse(iso);
    if (isNaN(server)) return;
    readZone(iso);
    var deviceMid = sentAt && receivedAt ? (sentAt + receivedAt) / 2 : Date.now();
    offsetMs = server - deviceMid;
    putMeta("clock", { offsetMs: offsetMs, zoneOffsetMin: zoneOffsetMin });
  }

  function noteReading(occupancy) {
    if (!occupancy || typeof occupancy.inside !== "number") return;
    reading = { inside: occupancy.inside, limit: occupancy.limit, at: Date.now() };
    putMeta("reading", reading);
  }

  function today() { return museumDate(nowServer()); }

  // `people` of the ticket went in here (online: all of them, unless given).
  function markUsed(ticketId, people) {
    var day = today();
    if (localUsed.date !== day) localUsed = { date: day, ids: {} };
    var before = admittedHere(ticketId);
    localUsed.ids[ticketId] = people ? before + people : 100000;
    return putMeta("localUsed", localUsed);
  }

  function admittedHere(ticketId) {
    if (localUsed.date !== today()) return 0;
    var value = localUsed.ids[ticketId];
    return value === true ? 100000 : (value || 0);
  }

  // People of the ticket's party still to come, as far as this device knows.
  function stillToCome(claims) {
    var id = claims.ticketId;
    var base = data.remaining && typeof data.remaining[id] === "number" ? data.remaining[id]
      : data.used[id] ? 0 : claims.party;
    return Math.max(base - admittedHere(id), 0);
  }

  // People this device let in offline that the server has not had yet: they use its lease.
  function leaseUsed() {
    return scans.reduce(function (total, scan) {
      return scan.state === "waiting" && scan.admitted && scan.direction === "in" ? total + scan.people : total;
    }, 0);
  }

  // {allowance, left, until} of the lease, or null without one.
  function leaseFacts() {
    if (!lease || !data || data.date !== today()) return null;
    return { allowance: lease.allowance, left: Math.max(lease.allowance - leaseUsed(), 0), until: lease.until };
  }

  // People this device let in that the last occupancy reading cannot include yet: those
  // not uploaded, and those uploaded after the reading was taken.
  function admittedSinceReading() {
    var since = reading ? reading.at : 0;
    var day = today();
    return scans.reduce(function (total, scan) {
      if (!scan.admitted || scan.direction !== "in" || scan.day !== day) return total;
      if (scan.uploadedAt && scan.uploadedAt <= since) return total;
      return total + scan.people;
    }, 0);
  }

  function estimate() {
    var base = reading || (data ? { inside: data.inside, limit: data.limit } : null);
    if (!base) return null;
    return { inside: base.inside + admittedSinceReading(), limit: data ? data.limit : base.limit };
  }

  // --- the offline data ---------------------------------------------------------------------------

  function toSet(list) {
    var set = {};
    (list || []).forEach(function (id) { set[id] = true; });
    return set;
  }

  function absorb(answer, sentAt, receivedAt) {
    noteServerTime(answer.generated_at, sentAt, receivedAt);
    var complete = answer.complete || !data || data.date !== answer.date;
    var next = complete ? {
      date: answer.date, revoked: {}, used: {}, lastFullAt: receivedAt
    } : data;
    var added = toSet(answer.revoked);
    Object.keys(added).forEach(function (id) { next.revoked[id] = true; });
    added = toSet(answer.used);
    Object.keys(added).forEach(function (id) { next.used[id] = true; });
    next.generatedAt = answer.generated_at;
    next.receivedAt = receivedAt;
    next.keys = answer.keys.map(function (key) { return { kid: key.kid, publicKey: key.public_key }; });
    next.windows = {};
    answer.entry_windows.forEach(function (window_) {
      next.windows[window_.slot_id] = { opens: Date.parse(window_.opens_at), closes: Date.parse(window_.closes_at) };
    });
    next.limit = answer.limit;
    next.inside = answer.inside;
    next.remaining = answer.remaining || {};
    data = next;
    noteReading({ inside: answer.inside, limit: answer.limit });
    verifiers = {};
    lease = answer.lease_until ? { allowance: answer.allowance, until: Date.parse(answer.lease_until) } : null;
    return Promise.all([putMeta("data", data), putMeta("lease", lease)]);
  }

  // The upload ended the lease: nothing more may be admitted offline until a new fetch.
  function endLease() {
    lease = null;
    return putMeta("lease", null);
  }

  // The cursor for changes only, or null for everything.
  function cursor() {
    if (!data || data.date !== today()) return null;
    if (!data.lastFullAt || Date.now() - data.lastFullAt > FULL_REFRESH_MS) return null;
    return data.generatedAt;
  }

  function dataAgeMinutes() {
    return data && data.receivedAt ? Math.floor((Date.now() - data.receivedAt) / 60000) : null;
  }

  // --- signatures -------------------------------------------------------------------------------

  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  // Unpadded RFC 4648 base32; null unless it is the one canonical spelling.
  function base32(text) {
    var bits = 0;
    var value = 0;
    var out = [];
    for (var i = 0; i < text.length; i++) {
      value = (value << 5) | ALPHABET.indexOf(text.charAt(i));
      bits += 5;
      if (bits >= 8) {
        out.push((value >>> (bits - 8)) & 255);
        bits -= 8;
      }
    }
    if (bits > 0 && (value & ((1 << bits) - 1)) !== 0) return null;
    return new Uint8Array(out);
  }

  function fromBase64(text) {
    var raw = window.atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  var verifierKind = null;  // "webcrypto" or "noble", once known
  var verifiers = {};       // kid -> Promise of function(signature, message) -> Promise<bool>
  var noble = null;

  function webCryptoWorks() {
    if (!window.crypto || !window.crypto.subtle) return Promise.resolve(false);
    // A valid public key (the base point's encoding) must import and a verify must run.
    var point = new Uint8Array(32);
    point[0] = 0x58;
    for (var i = 1; i < 32; i++) point[i] = 0x66;
    try {
      return window.crypto.subtle.importKey("raw", point, { name: "Ed25519" }, false, ["verify"])
        .then(function (key) {
          return window.crypto.subtle.verify({ name: "Ed25519" }, key, new Uint8Array(64), new Uint8Array(1));
        })
        .then(function () { return true; }, function () { return false; });
    } catch (e) {
      return Promise.resolve(false);
    }
  }

  function chooseVerifier(verifierUrl) {
    return webCryptoWorks().then(function (works) {
      if (works) {
        verifierKind = "webcrypto";
        return verifierKind;
      }
      return import(verifierUrl).then(function (module) {
        noble = module;
        verifierKind = "noble";
        return verifierKind;
      });
    });
  }

  function verifierFor(kid) {
    if (verifiers[kid]) return verifiers[kid];
    var known = data && data.keys.filter(function (key) { return key.kid === kid; })[0];
    if (!known) return null;
    var publicKey = fromBase64(known.publicKey);
    if (verifierKind === "webcrypto") {
      verifiers[kid] = window.crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"])
        .then(function (key) {
          return function (signature, message) {
            return window.crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
          };
        });
    } else {
      verifiers[kid] = Promise.resolve(function (signature, message) {
        // The strict RFC 8032 rules, as the server's verifier applies them.
        return noble.verifyAsync(signature, message, publicKey, { zip215: false });
      });
    }
    return verifiers[kid];
  }

  // What a scanner typed, as the printed token (the server's normalize_payload).
  function normalize(raw) {
    var text = String(raw || "").normalize("NFKC").replace(/[。．]/g, ".").replace(/[\x00-\x20\x7f]/g, "");
    var signature = text.slice(text.lastIndexOf(".") + 1);
    if (signature && signature === signature.toLowerCase() && signature !== signature.toUpperCase()) {
      text = text.split("").map(function (c) {
        var upper = c.toUpperCase();
        return c === upper ? c.toLowerCase() : upper;
      }).join("");
    }
    return text;
  }

  function parse(token) {
    var match = TOKEN.exec(token);
    if (!match) return null;
    var day = match[3].slice(0, 4) + "-" + match[3].slice(4, 6) + "-" + match[3].slice(6, 8);
    return {
      kid: match[1], ticketId: match[2], day: day, slotId: match[4],
      party: parseInt(match[5], 10), signature: match[6],
      body: token.slice(0, token.lastIndexOf("."))
    };
  }

  function verify(claims) {
    var signature = base32(claims.signature);
    var makeVerifier = verifierFor(claims.kid);
    if (!signature || signature.length !== 64 || !makeVerifier) return Promise.resolve(false);
    var message = new TextEncoder().encode(claims.body);
    return makeVerifier.then(function (check) { return check(signature, message); })
      .then(function (ok) { return ok === true; }, function () { return false; });
  }

  // --- judging a ticket ----------------------------------------------------------------------------

  // {admitted, reason, people, claims, window, error}
  function judge(raw, direction, headcount, gate) {
    if (!data || data.date !== today()) {
      return Promise.resolve({ admitted: false, reason: "invalid", error: "no-data", people: 0 });
    }
    var token = normalize(raw);
    var claims = parse(token);
    var refuse = function (reason, extra) {
      var verdict = { admitted: false, reason: reason, people: 0, claims: claims, token: token };
      return Object.assign(verdict, extra || {});
    };
    if (!claims) return Promise.resolve(refuse("invalid"));
    return verify(claims).then(function (genuine) {
      if (!genuine) return refuse("invalid");
      var window_ = data.windows[claims.slotId] || null;
      var now = nowServer();
      if (direction === "out") {
        // Checked out here; the server counts the party out when it has the scan.
        return { admitted: true, reason: null, people: claims.party, claims: claims, token: token, window: window_ };
      }
      if (claims.day !== today()) return refuse("wrong_date", { window: window_ });
      if (data.revoked[claims.ticketId]) return refuse("cancelled", { window: window_ });
      var toCome = stillToCome(claims);
      if (toCome <= 0) return refuse("already_used", { window: window_ });
      if (!window_) return refuse("invalid");
      if (now < window_.opens) return refuse("too_early", { window: window_ });
      if (now > window_.closes) return refuse("too_late", { window: window_ });
      if (headcount && headcount > toCome) {
        return refuse(null, { error: "headcount", window: window_, toCome: toCome });
      }
      var people = headcount || toCome;
      // The lease: the places the server keeps for this device while it is offline.
      var facts = leaseFacts();
      if (!facts) return refuse("capacity_full", { window: window_, lease: "none" });
      if (now > facts.until) return refuse("capacity_full", { window: window_, lease: "expired", until: facts.until });
      if (people > facts.left) {
        return refuse("capacity_full", {
          window: window_, lease: facts.left > 0 ? "too-few" : "used-up", left: facts.left, allowance: facts.allowance
        });
      }
      return { admitted: true, reason: null, people: people, claims: claims, token: token, window: window_ };
    });
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // Judge a scan offline and queue it: it is on this device before the verdict is shown.
  function scanOffline(raw, direction, headcount, gate) {
    return judge(raw, direction, headcount, gate).then(function (verdict) {
      if (verdict.error === "headcount" || verdict.error === "no-data") return verdict;
      var at = nowServer();
      var scan = {
        id: newId(),
        seq: ++sequence,
        payload: (verdict.token || normalize(raw)).slice(0, 512),
        gate: gate,
        direction: direction,
        at: museumIso(at),
        atMs: at,
        day: museumDate(at),
        // What went in, always said: a team's people may come in parts.
        headcount: direction === "in" && verdict.admitted ? verdict.people : (direction === "in" && headcount ? headcount : null),
        admitted: verdict.admitted,
        reason: verdict.admitted ? null : verdict.reason,
        people: verdict.admitted ? verdict.people : 0,
        ticketId: verdict.claims ? verdict.claims.ticketId : null,
        state: "waiting",
        uploadedAt: null,
        result: null
      };
      var kept = putScan(scan).then(function () {
        scans.push(scan);
        if (scan.admitted && direction === "in" && scan.ticketId) return markUsed(scan.ticketId, scan.people);
        return undefined;
      });
      return kept.then(function () {
        verdict.scan = scan;
        return verdict;
      });
    });
  }

  // --- the upload --------------------------------------------------------------------------------

  var uploading = null;

  // Send every waiting scan; resolves {sent, conflicts, rejected} or rejects like `post`.
  function upload(post, url) {
    if (uploading) return uploading;
    var totals = { sent: 0, conflicts: 0, rejected: 0, results: [] };
    function next() {
      return waitingScans().then(function (waiting) {
        if (!waiting.length) return totals;
        var chunk = waiting.slice(0, UPLOAD_CHUNK);
        var body = {
          device: deviceName,
          // The lease ends with the last part of the queue.
          more: waiting.length > UPLOAD_CHUNK,
          scans: chunk.map(function (scan) {
            var item = {
              id: scan.id, payload: scan.payload, gate: scan.gate, direction: scan.direction,
              at: scan.at, headcount: scan.headcount, admitted: scan.admitted
            };
            if (!scan.admitted) item.reason = scan.reason || "invalid";
            return item;
          })
        };
        return post(url, body).then(function (answer) {
          var byId = {};
          answer.results.forEach(function (result) { byId[result.id] = result; });
          var uploadedAt = Date.now();
          return Promise.all(chunk.map(function (scan) {
            var result = byId[scan.id];
            if (!result) return null;
            scan.state = "uploaded";
            scan.uploadedAt = uploadedAt;
            scan.result = result;
            remember(scan);
            totals.sent += 1;
            if (result.conflict) totals.conflicts += 1;
            totals.results.push({ scan: scan, result: result });
            return putScan(scan);
          }));
        }, function (error) {
          if (error.kind !== "http" || error.status !== 422) throw error;
          // The server will never take these as they are: keep them, set apart, and go on.
          return Promise.all(chunk.map(function (scan) {
            scan.state = "rejected";
            totals.rejected += 1;
            remember(scan);
            return putScan(scan);
          }));
        }).then(next);
      });
    }
    uploading = next().then(function (result) {
      uploading = null;
      if (result.sent) return endLease().then(function () { return result; });
      return result;
    }, function (error) {
      uploading = null;
      throw error;
    });
    return uploading;
  }

  // The copy in memory follows the kept one.
  function remember(scan) {
    for (var i = 0; i < scans.length; i++) {
      if (scans[i].id === scan.id) {
        scans[i] = scan;
        return;
      }
    }
    scans.push(scan);
  }

  function waitingCount() {
    return scans.filter(function (scan) { return scan.state === "waiting"; }).length;
  }

  // Scans of earlier days that the server has are no longer needed here.
  function forgetOldScans() {
    var day = today();
    var keep = [];
    var drop = [];
    scans.forEach(function (scan) {
      (scan.state !== "waiting" && scan.day !== day ? drop : keep).push(scan);
    });
    scans = keep;
    if (!drop.length) return Promise.resolve();
    return run("scans", "readwrite", function (store) {
      drop.forEach(function (scan) { store["delete"](scan.id); });
      return null;
    });
  }

  // --- start --------------------------------------------------------------------------------------

  function randomName() {
    var bytes = new Uint8Array(3);
    window.crypto.getRandomValues(bytes);
    return "scanner-" + Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  function start(options) {
    return Promise.all([
      getMeta("data"), getMeta("clock"), getMeta("localUsed"), getMeta("reading"),
      getMeta("device"), allScans(), getMeta("lease")
    ]).then(function (kept) {
      lease = kept[6] || null;
      data = kept[0];
      if (kept[1]) {
        offsetMs = kept[1].offsetMs;
        zoneOffsetMin = kept[1].zoneOffsetMin;
      }
      localUsed = kept[2] || { date: null, ids: {} };
      reading = kept[3];
      scans = kept[5];
      sequence = scans.reduce(function (high, scan) { return Math.max(high, scan.seq || 0); }, 0);
      deviceName = kept[4];
      if (!deviceName) {
        deviceName = randomName();
        putMeta("device", deviceName);
      }
      return forgetOldScans();
    }).then(function () {
      return chooseVerifier(options.verifierUrl);
    });
  }

  window.GateOffline = {
    start: start,
    absorb: absorb,
    cursor: cursor,
    judge: judge,
    scanOffline: scanOffline,
    upload: upload,
    markUsed: markUsed,
    noteServerTime: noteServerTime,
    noteReading: noteReading,
    estimate: estimate,
    leaseFacts: leaseFacts,
    waitingCount: waitingCount,
    dataAgeMinutes: dataAgeMinutes,
    hasData: function () { return !!data && data.date === today(); },
    deviceName: function () { return deviceName; },
    verifierKind: function () { return verifierKind; },
    hhmm: hhmm,
    hhmmss: hhmmss,
    normalize: normalize
  };
})();
