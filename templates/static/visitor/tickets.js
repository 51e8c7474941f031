/*
 * Tickets, made handier with JavaScript (the links work without):
 * - "save image" saves a picture of the whole ticket (QR, masked name, date, slot), not the
 *   bare QR, so the photo album shows which visit it is for;
 * - "copy link" copies the private management link;
 * - "print" opens the browser's print dialog.
 */
(function () {
  "use strict";

  function fontFamily() {
    return window.getComputedStyle(document.body).fontFamily || "sans-serif";
  }

  function ticketImage(ticket, qr) {
    var scale = 2, width = 360, height = 470, padding = 24, qrSize = 260;
    var canvas = document.createElement("canvas");
    canvas.width = width * scale;
    canvas.height = height * scale;
    var context = canvas.getContext("2d");
    if (!context) return null;
    context.scale(scale, scale);
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, width, height);
    context.fillStyle = "#0b5cab";
    context.fillRect(0, 0, width, 8);
    var family = fontFamily();
    var y = 48;
    context.textAlign = "center";
    context.fillStyle = "#14213d";
    context.font = "700 17px " + family;
    var list = ticket.closest("[data-museum]");
    var museum = list ? list.getAttribute("data-museum") : "";
    context.fillText(museum || "", width / 2, y, width - 2 * padding);
    y += 34;
    context.font = "700 24px " + family;
    context.fillText(ticket.getAttribute("data-name") || "", width / 2, y);
    y += 28;
    context.font = "600 16px " + family;
    context.fillText(ticket.getAttribute("data-caption") || "", width / 2, y, width - 2 * padding);
    y += 16;
    context.imageSmoothingEnabled = false;
    context.drawImage(qr, (width - qrSize) / 2, y, qrSize, qrSize);
    y += qrSize + 28;
    context.font = "14px " + family;
    context.fillStyle = "#3d4a63";
    var number = ticket.querySelector(".ticket__no");
    context.fillText(number ? number.textContent.trim() : "", width / 2, y, width - 2 * padding);
    y += 22;
    context.fillText(ticket.getAttribute("data-reference") || "", width / 2, y);
    return canvas;
  }

  function download(blob, name) {
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    document.body.removeChild(link);
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  document.addEventListener("click", function (event) {
    var save = event.target.closest("[data-save-ticket]");
    if (save) {
      var ticket = save.closest("[data-ticket]");
      var qr = ticket && ticket.querySelector("img.ticket__qr");
      if (!qr || !qr.complete || !qr.naturalWidth || !HTMLCanvasElement.prototype.toBlob) return;
      var canvas;
      try {
        canvas = ticketImage(ticket, qr);
      } catch (error) {
        return; // the plain link saves the bare QR image
      }
      if (!canvas) return;
      event.preventDefault();
      canvas.toBlob(function (blob) {
        if (blob) download(blob, save.getAttribute("download") || "ticket.png");
        else window.location.href = save.href;
      }, "image/png");
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector("[data-copy-source]");
      if (!source) return;
      var done = function () {
        var label = copy.textContent;
        copy.textContent = copy.getAttribute("data-done") || label;
        setTimeout(function () { copy.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.value).then(done, function () {
          source.select();
        });
      } else {
        source.select();
        try {
          if (document.execCommand("copy")) done();
        } catch (error) { /* the text stays selected for the visitor to copy */ }
      }
      return;
    }
    if (event.target.closest("[data-print]")) window.print();
  });

  // The page after booking carries ?booked=1 for its banner; bookmarks should not.
  if (/[?&]booked=1/.test(window.location.search) && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname);
  }

  var copyButton = document.querySelector("[data-copy]");
  if (copyButton) copyButton.hidden = false;
  var printButton = document.querySelector("[data-print]");
  if (printButton) {
    printButton.hidden = false;
    var hint = document.querySelector("[data-print-hint]");
    if (hint) hint.hidden = true;
  }
})();
