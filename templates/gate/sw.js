// The scanner page's service worker (version {{ version }}): the page opens and works without
// the network. It keeps the page and the files it loads; nothing else passes through it.
//
// - The page: network first (a fresh page, a fresh session), the kept copy when the network
//   fails. A copy is kept only of a real page, never of a redirect to the login.
// - Its files: from the cache of this version; a new version (any file changed) fills a new
//   cache and drops the old ones.
// - Signing out forgets the kept page.
"use strict";

var VERSION = "{{ version }}";
var CACHE = "zz-gate-" + VERSION;
var PAGE = "{{ page }}";
var ASSETS = {{ assets }};

function keepPage(cache) {
  return fetch(PAGE, { credentials: "same-origin", redirect: "manual", cache: "no-store" })
    .then(function (response) {
      if (response.ok && response.type === "basic") return cache.put(PAGE, response);
      return undefined;
    })
    .catch(function () { /* offline: the page is kept on the next visit */ });
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(ASSETS).then(function () { return keepPage(cache); });
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.map(function (name) {
        return name.indexOf("zz-gate-") === 0 && name !== CACHE ? caches.delete(name) : null;
      }));
    }).then(function () { return self.clients.claim(); })
  );
});

function pageFromNetwork(request) {
  return fetch(request).then(function (response) {
    if (response.ok && response.type === "basic" && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(PAGE, copy); });
    }
    return response;
  }, function () {
    return caches.open(CACHE).then(function (cache) {
      return cache.match(PAGE).then(function (kept) {
        return kept || Response.error();
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/staff/logout") {
    event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.delete(PAGE); }));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(pageFromNetwork(request));
    return;
  }
  if (ASSETS.indexOf(url.pathname + url.search) >= 0) {
    event.respondWith(
      caches.open(CACHE).then(function (cache) {
        return cache.match(request, { ignoreVary: true }).then(function (kept) {
          return kept || fetch(request);
        });
      })
    );
  }
});
