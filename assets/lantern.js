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
 *   - focus on a form's error summary after a failed submit;
 *   - live lists: a region with data-live="/url" is replaced by what the server pushes over
 *     server-sent events, with a "Live" indicator and a pause button;
 *   - an "Add a rule" button on forms with repeated rule rows;
 *   - uploads with progress: a <form data-upload="/url"> sends each chosen file as its own
 *     request body (CSRF token in X-CSRF-Token), shows a progress bar and each file's
 *     result, then reloads the page to show the import list;
 *   - a file chooser (<input type=file data-fill="FIELD-ID">, in a hidden field revealed
 *     here) that puts a chosen text file into a textarea, so a CSV need not be pasted;
 *   - forms with data-validate="/url" (the action form): validation as you type, and the
 *     fields of other action types (data-kinds="…") hidden.
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
  // Times swapped in by a live list carry data-seen: when they arrived, with their own "now".
  var loadedAt = Date.now();
  function refreshTimes() {
    var times = document.querySelectorAll("time[data-rel][datetime]");
    for (var i = 0; i < times.length; i++) {
      var seen = parseInt(times[i].getAttribute("data-seen"), 10);
      var elapsed = Date.now() - (isNaN(seen) ? loadedAt : seen);
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

  /* ------------------------------------------------------------ live lists */
  // The server sends "rows" events with the region's new HTML (rendered and escaped by the
  // server, like the page itself) and "end" when the session is over. While the keyboard
  // focus is inside the region the update waits, so nobody loses their place.
  function setupLive(region) {
    if (!window.EventSource) { return; }
    var url = region.getAttribute("data-live");
    var indicator = document.querySelector("[data-live-indicator]");
    var toggle = document.querySelector("[data-live-toggle]");
    var source = null;
    var pending = null;
    function show(text, paused) {
      if (!indicator) { return; }
      indicator.hidden = false;
      indicator.textContent = text;
      if (paused) { indicator.setAttribute("data-paused", ""); } else { indicator.removeAttribute("data-paused"); }
    }
    function apply(html) {
      region.innerHTML = html;
      var now = String(Date.now());
      var times = region.querySelectorAll("time[data-rel]");
      for (var i = 0; i < times.length; i++) { times[i].setAttribute("data-seen", now); }
      refreshTimes();
    }
    function stop(text) {
      if (source) { source.close(); source = null; }
      show(text, true);
    }
    function start() {
      source = new EventSource(url);
      show("Live", false);
      source.addEventListener("rows", function (event) {
        show("Live", false);
        if (region.contains(document.activeElement)) { pending = event.data; return; }
        pending = null;
        apply(event.data);
      });
      source.addEventListener("end", function () {
        stop("Stopped: reload the page to sign in again");
        if (toggle) { toggle.hidden = true; }
      });
      source.addEventListener("error", function () {
        if (!source) { return; }
        if (source.readyState === EventSource.CLOSED) { stop("Offline: reload the page"); }
        else { show("Reconnecting…", true); }
      });
    }
    region.addEventListener("focusout", function () {
      window.setTimeout(function () {
        if (pending !== null && !region.contains(document.activeElement)) {
          apply(pending);
          pending = null;
        }
      }, 0);
    });
    if (toggle) {
      toggle.hidden = false;
      toggle.addEventListener("click", function () {
        if (source) {
          stop("Paused");
          toggle.textContent = "Resume";
        } else {
          start();
          toggle.textContent = "Pause";
        }
      });
    }
    window.addEventListener("pagehide", function () { if (source) { source.close(); source = null; } });
    start();
  }

  /* ------------------------------------------------------------ repeated rule rows */
  var MAX_RULES = 20;
  function setupAddRule(button) {
    var list = document.querySelector("[data-rules]");
    if (!list) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = list.querySelectorAll("[data-rule-row]");
      if (rows.length >= MAX_RULES || rows.length === 0) { return; }
      var n = rows.length + 1;
      var row = rows[rows.length - 1].cloneNode(true);
      var number = row.querySelector(".rule-number");
      var labels = row.querySelectorAll("label");
      var select = row.querySelector("select");
      var input = row.querySelector("input");
      if (!select || !input || labels.length < 2) { return; }
      if (number) { number.textContent = String(n); }
      select.id = "f-field-" + n;
      input.id = "f-pattern-" + n;
      input.value = "";
      labels[0].htmlFor = select.id;
      labels[0].textContent = "Rule " + n + ": what it looks at";
      labels[1].htmlFor = input.id;
      labels[1].textContent = "Rule " + n + ": pattern";
      list.appendChild(row);
      input.focus();
      if (n >= MAX_RULES) { button.disabled = true; }
    });
  }

  /* ------------------------------------------------------------ uploads */
  function describeImport(name, answer) {
    if (answer && answer.error) { return name + ": failed: " + answer.error.message; }
    if (!answer || typeof answer.kept !== "number") { return name + ": failed"; }
    var text = name + ": kept " + answer.kept + " (" + answer.added + " new, " +
      answer.replaced + " replaced), invalid " + answer.invalid_total +
      ", withdrawn " + answer.withdrawn + ", " + (answer.duration_ms / 1000).toFixed(1) + " s";
    return text;
  }

  function setupUpload(form) {
    var input = form.querySelector("input[type=file]");
    var bar = form.querySelector("progress");
    var result = form.querySelector("output");
    var csrf = form.querySelector("input[name=csrf]");
    var button = form.querySelector("button[type=submit]");
    if (!input || !bar || !result || !csrf) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var files = Array.prototype.slice.call(input.files || []);
      if (files.length === 0) { input.focus(); return; }
      if (button) { button.disabled = true; }
      bar.parentNode.hidden = false;
      result.textContent = "";
      var lines = [];
      var failed = false;
      function next(i) {
        if (i >= files.length) {
          announce(lines.join(". "));
          if (button) { button.disabled = false; }
          // The page lists every run with its invalid records: show it, unless the last
          // answer is an error the user should read first.
          if (!failed) { window.setTimeout(function () { window.location.reload(); }, 1500); }
          return;
        }
        var file = files[i];
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.getAttribute("data-upload") + "?name=" + encodeURIComponent(file.name));
        xhr.setRequestHeader("X-CSRF-Token", csrf.value);
        xhr.setRequestHeader("Content-Type", "application/octet-stream");
        xhr.upload.addEventListener("progress", function (e) {
          if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
        });
        xhr.addEventListener("loadend", function () {
          var answer = null;
          try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = null; }
          if (xhr.status !== 201) { failed = true; }
          lines.push(describeImport(file.name, answer) + (xhr.status === 0 ? " (connection lost)" : ""));
          result.textContent = lines.join("\n");
          bar.value = 0;
          next(i + 1);
        });
        result.textContent = lines.concat(["Uploading " + file.name + " (" + (i + 1) + " of " + files.length + ")…"]).join("\n");
        xhr.send(file);
      }
      next(0);
    });
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

    var regions = document.querySelectorAll("[data-live]");
    for (var r = 0; r < regions.length; r++) { setupLive(regions[r]); }

    var add = document.querySelector("button[data-add-rule]");
    if (add) { setupAddRule(add); }

    var uploads = document.querySelectorAll("form[data-upload]");
    for (var u = 0; u < uploads.length; u++) { setupUpload(uploads[u]); }

    var fills = document.querySelectorAll("input[type=file][data-fill]");
    for (var f = 0; f < fills.length; f++) { setupFill(fills[f]); }

    var validated = document.querySelectorAll("form[data-validate]");
    for (var v = 0; v < validated.length; v++) { setupValidate(validated[v]); }
  }

  /* ------------------------------------------------------------ validation as you type */
  // The form is posted (debounced) to its data-validate address, which answers with the
  // server's own checks: {"valid": bool, "errors": [{"field", "message"}]}. Messages are
  // shown under the fields the user has touched; submitting still goes through the server,
  // which checks everything again. Groups with data-kinds="type …" show for those types only.
  function setupValidate(form) {
    var url = form.getAttribute("data-validate");
    var type = form.querySelector("select[name=type]");
    var status = form.querySelector("[data-validate-status]");
    var touched = {};
    // After a refused submit every field's message is already on the page: keep showing all.
    var all = !!form.querySelector("[data-error-summary]");
    var timer = null;
    var asked = 0;
    function showKinds() {
      if (!type) { return; }
      var groups = form.querySelectorAll("[data-kinds]");
      for (var i = 0; i < groups.length; i++) {
        groups[i].hidden = groups[i].getAttribute("data-kinds").split(" ").indexOf(type.value) < 0;
      }
    }
    function box(name) {
      var el = document.getElementById("f-" + name);
      if (!el) { return null; }
      return el.classList.contains("field") ? el : el.closest(".field");
    }
    function show(errors) {
      var old = form.querySelectorAll(".field-error");
      for (var i = 0; i < old.length; i++) { old[i].parentNode.removeChild(old[i]); }
      var invalid = form.querySelectorAll(".field-invalid");
      for (var j = 0; j < invalid.length; j++) { invalid[j].classList.remove("field-invalid"); }
      var marked = form.querySelectorAll("[aria-invalid]");
      for (var k = 0; k < marked.length; k++) { marked[k].removeAttribute("aria-invalid"); }
      var shown = 0;
      for (var n = 0; n < errors.length; n++) {
        var e = errors[n];
        var b = box(e.field);
        if (!b || !(all || touched[e.field]) || b.closest("[hidden]")) { continue; }
        var p = document.createElement("p");
        p.className = "field-error";
        p.id = "f-" + e.field + "-error";
        p.textContent = e.message;
        var control = b.querySelector("input, select, textarea");
        if (control && control.parentNode === b) {
          control.setAttribute("aria-invalid", "true");
          b.insertBefore(p, control.nextSibling);
        } else {
          b.appendChild(p);
        }
        b.classList.add("field-invalid");
        shown++;
      }
      if (status) {
        status.textContent = shown === 0 ? (errors.length === 0 ? "Ready to create." : "")
          : shown + (shown === 1 ? " problem" : " problems") + " so far.";
      }
    }
    function validate() {
      var mine = ++asked;
      var body = new URLSearchParams(new FormData(form));
      fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" }
      }).then(function (r) { return r.json(); }).then(function (answer) {
        if (mine !== asked || !answer || !answer.errors) { return; }
        show(answer.errors);
      }).catch(function () { /* the server checks again on submit */ });
    }
    function changed(event) {
      var name = event.target && event.target.name;
      if (name) { touched[name] = true; }
      if (name === "type") { showKinds(); }
      window.clearTimeout(timer);
      timer = window.setTimeout(validate, 350);
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    showKinds();
  }

  /* ------------------------------------------------------- a file into a field */
  function setupFill(input) {
    var target = document.getElementById(input.getAttribute("data-fill"));
    if (!target) { return; }
    var wrap = input.closest(".field");
    if (wrap) { wrap.hidden = false; }
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) { return; }
      var reader = new FileReader();
      reader.addEventListener("load", function () {
        target.value = String(reader.result || "");
        announce(file.name + " is in the form; press Import to send it.");
      });
      reader.readAsText(file);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
