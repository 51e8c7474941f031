/* Starts ReDoc on /redoc (a file, not an inline script: see swagger-start.js). */
(function () {
  "use strict";
  var root = document.getElementById("redoc");
  Redoc.init(root.getAttribute("data-openapi"), { hideDownloadButton: false }, root);
})();
