/*
 * lantern.js: small progressive enhancements for the portal. Loaded with `defer` from
 * /assets/<hash>/ (CSP default-src 'self': no inline script, no eval). The portal works
 * without it; this file only adds:
 *   - copy-to-clipboard on buttons with data-copy="text" (rendered hidden, revealed here);
 *   - a confirmation dialog on <form data-confirm="what will happen">;
 *   - relative times (<time data-rel=SERVER_NOW datetime=...>) kept current while the page
 *     is open;
 *   - closing the user menu on Escape or an outside click, and the navigation disclosure
 *     on narrow screens;
 *   - focus on a form's error summary after a failed submit.
 */
(function () {
  "use strict";

  /* ------------------------------------------------------------ copy buttons */
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Fallback for browsers without the async clipboard API.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "sr-only";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  var live = null;
  function announce(message) {
    if (!live) {
      live = document.createElement("div");
      live.className = "sr-only";
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = "";
    window.setTimeout(function () { live.textContent = message; }, 50);
  }

  function setupCopy(button) {
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener("click", function () {
      copyText(button.getAttribute("data-copy") || "").then(function () {
        button.textContent = "Copied";
        button.setAttribute("data-copied", "");
        announce("Copied to the clipboard");
      }, function () {
        button.textContent = "Select and copy by hand";
        announce("Could not copy; select the text and copy it by hand");
      });
      window.setTimeout(function () {
        button.textContent = label;
        button.removeAttribute("data-copied");
      }, 2000);
    });
  }

  /* ------------------------------------------------------------ confirmations */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    var message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  /* ------------------------------------------------------------ relative times */
  // Same thresholds and wording as ui::components::relative on the server.
  function pad(n, width) {
    var s = String(n);
    while (s.length < width) { s = "0" + s; }
    return s;
  }
  function relative(then, now) {
    var diff = Math.floor((now - then) / 1000);
    var n = Math.abs(diff);
    var amount;
    if (n < 10) { return "just now"; }
    if (n < 60) { amount = n + " s"; }
    else if (n < 3600) { amount = Math.floor(n / 60) + " min"; }
    else if (n < 86400) { amount = Math.floor(n / 3600) + " h"; }
    else if (n < 30 * 86400) {
      var days = Math.floor(n / 86400);
      amount = days + (days === 1 ? " day" : " days");
    } else {
      var d = new Date(then);
      return pad(d.getUTCFullYear(), 4) + "-" + pad(d.getUTCMonth() + 1, 2) + "-" + pad(d.getUTCDate(), 2);
    }
    return diff >= 0 ? amount + " ago" : "in " + amount;
  }
  // data-rel holds the server's "now" (unix seconds) when the page was rendered: measure from
  // it plus the time the page has been open, so a wrong browser clock does not matter.
  var loadedAt = Date.now();
  function refreshTimes() {
    var elapsed = Date.now() - loadedAt;
    var times = document.querySelectorAll("time[data-rel][datetime]");
    for (var i = 0; i < times.length; i++) {
      var then = Date.parse(times[i].getAttribute("datetime"));
      var serverNow = parseInt(times[i].getAttribute("data-rel"), 10) * 1000;
      if (!isNaN(then) && !isNaN(serverNow)) {
        var text = relative(then, serverNow + elapsed);
        if (times[i].textContent !== text) { times[i].textContent = text; }
      }
    }
  }

  /* ------------------------------------------------------------ menus */
  function closeMenus(except) {
    var menus = document.querySelectorAll("details[data-menu][open]");
    for (var i = 0; i < menus.length; i++) {
      if (menus[i] !== except) { menus[i].open = false; }
    }
  }
  document.addEventListener("click", function (event) {
    var inside = event.target instanceof Element ? event.target.closest("details[data-menu]") : null;
    closeMenus(inside);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector("details[data-menu][open]");
    if (open) {
      open.open = false;
      var summary = open.querySelector("summary");
      if (summary) { summary.focus(); }
    }
  });

  // The navigation is rendered open so it is there without JavaScript; on a narrow screen
  // it would push the page down, so start it closed there and open it again when widened.
  var narrow = window.matchMedia("(max-width: 900px)");
  function fitNav() {
    var nav = document.querySelector("details[data-nav]");
    if (nav) { nav.open = !narrow.matches; }
  }

  /* ------------------------------------------------------------ start */
  function start() {
    var buttons = document.querySelectorAll("button[data-copy]");
    for (var i = 0; i < buttons.length; i++) { setupCopy(buttons[i]); }

    refreshTimes();
    window.setInterval(refreshTimes, 30000);

    fitNav();
    if (narrow.addEventListener) { narrow.addEventListener("change", fitNav); }

    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
