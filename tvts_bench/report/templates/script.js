// tvts-bench leaderboard: sortable tables and details links. Vanilla JS, no external code.
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
    var index = th.cellIndex;
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
    Array.prototype.forEach.call(th.parentNode.children, function (other) {
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

  // "details" links open the matching <details> panel before the browser scrolls to it.
  Array.prototype.forEach.call(document.querySelectorAll("a.details-link"), function (a) {
    a.addEventListener("click", function () {
      var target = document.getElementById(a.getAttribute("href").slice(1));
      if (target && target.tagName === "DETAILS") { target.open = true; }
    });
  });
})();
