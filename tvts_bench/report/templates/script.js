// tvts-bench leaderboard: sortable tables, details links, the summary's protocol tabs and the
// "compare two models" control. Vanilla JS, no external code; text is set with textContent only.
(function () {
  "use strict";

  function sortValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return null; }
    var raw = cell.getAttribute("data-sort");
    if (raw === null) { raw = cell.textContent.trim(); }
    if (raw === "" || raw === "\u2013") { return null; }
    var num = Number(raw);
    return isNaN(num) ? raw.toLowerCase() : num;
  }

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    return String(a).localeCompare(String(b));
  }

  function sortBy(th) {
    var table = th.closest("table");
    var body = table && table.tBodies[0];
    if (!body) { return; }
    // a two-level header: leaf cells name their body column (data-index)
    var index = th.hasAttribute("data-index") ? Number(th.getAttribute("data-index")) : th.cellIndex;
    var current = th.getAttribute("aria-sort");
    var direction;
    if (current === "descending") { direction = "ascending"; }
    else if (current === "ascending") { direction = "descending"; }
    else {
      // first click: text A-Z; numbers best first (lower-is-better columns ascending)
      var textual = th.getAttribute("data-type") === "text";
      direction = (textual || th.getAttribute("data-lower") === "1") ? "ascending" : "descending";
    }
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (ra, rb) {
      var a = sortValue(ra, index), b = sortValue(rb, index);
      if (a === null && b === null) { return 0; }
      if (a === null) { return 1; }      // empty cells last in both directions
      if (b === null) { return -1; }
      var r = compare(a, b);
      return direction === "ascending" ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call((th.closest("thead") || th.parentNode).querySelectorAll("th"), function (other) {
      if (other !== th) { other.removeAttribute("aria-sort"); }
    });
    th.setAttribute("aria-sort", direction);
  }

  Array.prototype.forEach.call(document.querySelectorAll("th.sortable"), function (th) {
    th.setAttribute("tabindex", "0");
    th.addEventListener("click", function () { sortBy(th); });
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(th); }
    });
  });

  function openDetails(id) {
    var target = document.getElementById(id);
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }

  // "details" links (and the summary's numbers) open the matching <details> panel before the browser
  // scrolls to it.
  Array.prototype.forEach.call(document.querySelectorAll("a.details-link"), function (a) {
    a.addEventListener("click", function () { openDetails(a.getAttribute("href").slice(1)); });
  });
  if (location.hash.length > 1) { openDetails(decodeURIComponent(location.hash.slice(1))); }

  // ---------------------------------------------------------------- summary: one protocol at a time
  // When the summary is wider than its box, show one protocol group's columns (tabs) rather than let
  // the table run off the page.
  var wrap = document.getElementById("summary-wrap");
  var table = document.getElementById("summary-table");
  var tabs = document.getElementById("summary-tabs");
  var chosen = null;

  function showGroup(group) {
    Array.prototype.forEach.call(table.querySelectorAll("[data-g]"), function (cell) {
      cell.classList.toggle("off", group !== null && group !== "all" && cell.getAttribute("data-g") !== group);
    });
    Array.prototype.forEach.call(tabs.querySelectorAll("button"), function (b) {
      b.setAttribute("aria-selected", String(b.getAttribute("data-g") === group));
    });
  }

  function fit() {
    showGroup(null);
    if (table.offsetWidth <= wrap.clientWidth + 1) {
      tabs.hidden = true;
      table.classList.remove("tabbed");
      return;
    }
    tabs.hidden = false;
    table.classList.add("tabbed");
    var first = tabs.querySelector("button");
    showGroup(chosen !== null ? chosen : first.getAttribute("data-g"));
  }

  if (wrap && table && tabs) {
    Array.prototype.forEach.call(tabs.querySelectorAll("button"), function (b) {
      b.addEventListener("click", function () { chosen = b.getAttribute("data-g"); showGroup(chosen); });
    });
    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) { clearTimeout(pending); }
      pending = setTimeout(fit, 100);
    });
    fit();
  }

  // ---------------------------------------------------------------- compare two models
  var dataNode = document.getElementById("leaderboard-data");
  var selA = document.getElementById("compare-a");
  var selB = document.getElementById("compare-b");
  var body = document.getElementById("compare-body");
  var summary = null;
  try { summary = JSON.parse(dataNode.textContent).summary; } catch (e) { summary = null; }

  function num(x, signed) {
    if (x === null || x === undefined || !isFinite(x)) { return "n/a"; }
    var text = Math.abs(x).toFixed(1);
    if (!signed) { return (x < 0 ? "\u2212" : "") + text; }
    if (text === "0.0") { return "\u00b10.0"; }
    return (x > 0 ? "+" : "\u2212") + text;
  }

  function pairOf(col, a, b) {
    for (var i = 0; i < col.pairs.length; i++) {
      var p = col.pairs[i];
      if (p.a === a && p.b === b) { return p; }
      if (p.a === b && p.b === a) {
        return {d: p.d === null ? null : -p.d, lo: p.hi === null ? null : -p.hi, hi: p.lo === null ? null : -p.lo,
                rule: p.rule, sep: p.sep};
      }
    }
    return null;
  }

  function td(row, text, cls) {
    var cell = document.createElement("td");
    cell.textContent = text;
    if (cls) { cell.className = cls; }
    row.appendChild(cell);
    return cell;
  }

  function renderCompare() {
    var a = Number(selA.value), b = Number(selB.value);
    var names = summary.models;
    while (body.firstChild) { body.removeChild(body.firstChild); }
    summary.columns.forEach(function (col) {
      var row = document.createElement("tr");
      var va = col.values[a], vb = col.values[b];
      td(row, col.key);
      td(row, col.metric + (col.lower ? " (lower is better)" : ""));
      td(row, va ? num(va[0]) : "\u2013", "num");
      td(row, vb ? num(vb[0]) : "\u2013", "num");
      var diff = "\u2013", range = "", verdict = "", rule = "", cls = "";
      if (a === b) {
        verdict = "the same model";
      } else if (!va || !vb || va[0] === null || vb[0] === null) {
        verdict = "no comparison: " + (!va || va[0] === null ? names[a] : names[b]) + " has no value here";
      } else {
        var p = pairOf(col, a, b);
        var d = p ? p.d : va[0] - vb[0];
        diff = num(d, true);
        if (p && p.lo !== null && p.hi !== null) { range = "[" + num(p.lo, true) + ", " + num(p.hi, true) + "]"; }
        else if (va[1] !== null && vb[1] !== null) {
          range = "not paired: A [" + num(va[1]) + ", " + num(va[2]) + "], B [" + num(vb[1]) + ", " + num(vb[2]) + "]";
        }
        rule = p ? p.rule : "none";
        var aBetter = col.lower ? d < 0 : d > 0;
        if (!p || p.sep === null) { verdict = "cannot tell"; }
        else if (p.sep === false) { verdict = "not separable"; }
        else { verdict = (aBetter ? names[a] : names[b]) + " better"; cls = aBetter ? "better-a" : "better-b"; }
      }
      td(row, diff, "num");
      td(row, range, "num");
      td(row, verdict, cls);
      td(row, rule);
      body.appendChild(row);
    });
  }

  if (summary && selA && selB && body) {
    selA.addEventListener("change", renderCompare);
    selB.addEventListener("change", renderCompare);
    renderCompare();
  }
})();
