// xai-bench report: sortable tables, sample picker, optional Plotly curves. No network.
"use strict";
(function () {
  function key(cell, type) {
    var v = cell ? cell.getAttribute("data-sort") : "";
    if (type === "num") { var f = parseFloat(v); return isNaN(f) ? null : f; }
    return (v || "").toLowerCase();
  }
  function sortBy(table, col, th) {
    var type = th.querySelector("button").getAttribute("data-type");
    var first = th.querySelector("button").getAttribute("data-dir") || "asc";
    var cur = th.getAttribute("aria-sort");
    var asc = cur === "none" ? first === "asc" : cur === "descending";
    table.querySelectorAll("thead th").forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col], type), y = key(b.cells[col], type);
      if (x === null) return y === null ? 0 : 1;   // missing values last either way
      if (y === null) return -1;
      var c = x < y ? -1 : x > y ? 1 : 0;
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th, col) {
      var b = th.querySelector("button");
      if (b) b.addEventListener("click", function () { sortBy(table, col, th); });
    });
  });

  document.querySelectorAll("[data-picker]").forEach(function (box) {
    box.querySelectorAll("button[data-pick]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var k = btn.getAttribute("data-pick");
        box.querySelectorAll("button[data-pick]").forEach(function (b) {
          b.setAttribute("aria-pressed", b === btn ? "true" : "false");
        });
        box.querySelectorAll("[data-panel]").forEach(function (p) {
          p.hidden = p.getAttribute("data-panel") !== k;
        });
      });
    });
  });

  // the leaderboard's family switch: one family's tables at a time, for every task;
  // buttons take Enter and Space, the arrow keys move between them
  var fams = Array.prototype.slice.call(document.querySelectorAll("button[data-family]"));
  fams.forEach(function (btn, i) {
    btn.addEventListener("click", function () {
      var f = btn.getAttribute("data-family");
      fams.forEach(function (b) { b.setAttribute("aria-pressed", b === btn ? "true" : "false"); });
      document.querySelectorAll("[data-family-panel]").forEach(function (p) {
        p.hidden = p.getAttribute("data-family-panel") !== f;
      });
    });
    btn.addEventListener("keydown", function (ev) {
      var step = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1}[ev.key];
      if (!step) return;
      ev.preventDefault();
      fams[(i + step + fams.length) % fams.length].focus();
    });
  });

  document.querySelectorAll("[data-task-filter]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var k = btn.getAttribute("data-task-filter");
      // the leaderboard's family switch: one family's tables at a time, for every task;
  // buttons take Enter and Space, the arrow keys move between them
  var fams = Array.prototype.slice.call(document.querySelectorAll("button[data-family]"));
  fams.forEach(function (btn, i) {
    btn.addEventListener("click", function () {
      var f = btn.getAttribute("data-family");
      fams.forEach(function (b) { b.setAttribute("aria-pressed", b === btn ? "true" : "false"); });
      document.querySelectorAll("[data-family-panel]").forEach(function (p) {
        p.hidden = p.getAttribute("data-family-panel") !== f;
      });
    });
    btn.addEventListener("keydown", function (ev) {
      var step = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1}[ev.key];
      if (!step) return;
      ev.preventDefault();
      fams[(i + step + fams.length) % fams.length].focus();
    });
  });

  document.querySelectorAll("[data-task-filter]").forEach(function (b) {
        b.setAttribute("aria-pressed", b === btn ? "true" : "false");
      });
      document.querySelectorAll("[data-task]").forEach(function (el) {
        el.hidden = k !== "" && el.getAttribute("data-task") !== k;
      });
    });
  });

  // links land below the sticky task bar, however many lines it wraps to
  var bar = document.querySelector(".taskbar");
  function pad() { document.documentElement.style.scrollPaddingTop = bar.offsetHeight + 12 + "px"; }
  if (bar) { pad(); window.addEventListener("resize", pad); }

  // downloads: tidy CSV / JSON built from the embedded data; no request leaves the page
  var src = document.getElementById("report-data");
  function scoreRows(d) {
    var rows = [];
    d.scores.forEach(function (g) {
      g.sample.forEach(function (s, i) { rows.push([g.task, g.explainer, g.metric, s, g.seed, g.score[i]]); });
    });
    return rows;
  }
  function cell(v) {
    if (v === null || v === undefined) return "";
    if (typeof v !== "string") return String(v);
    if (/^[=+\-@\t\r]/.test(v)) v = "'" + v;   // a spreadsheet would run it as a formula
    return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }
  function csv(columns, rows) {   // BOM first: Excel then reads the file as UTF-8
    return "\ufeff" + [columns].concat(rows).map(function (r) { return r.map(cell).join(","); }).join("\r\n") + "\r\n";
  }
  function records(columns, rows) {
    return rows.map(function (r) {
      var o = {};
      columns.forEach(function (c, k) { o[c] = r[k]; });
      return o;
    });
  }
  function save(name, text, type) {
    var url = URL.createObjectURL(new Blob([text], {type: type}));
    var a = document.createElement("a");
    a.href = url;
    a.download = "xai-bench-" + name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }
  document.querySelectorAll("button[data-download]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var d = JSON.parse(src.textContent), name = btn.getAttribute("data-download");
      var s = d.summary;
      if (name === "scores.csv") save(name, csv(d.score_fields, scoreRows(d)), "text/csv");
      else if (name === "summary.csv") save(name, csv(s.columns, s.rows), "text/csv");
      else save(name, JSON.stringify({scores: records(d.score_fields, scoreRows(d)),
        scores_omitted: d.scores_omitted, summary: records(s.columns, s.rows)}, null, 1),
        "application/json");
    });
  });

  if (window.Plotly) {
    document.querySelectorAll("figure[data-plot]").forEach(function (fig) {
      var src = fig.querySelector("script.plot-data");
      if (!src) return;
      var d = JSON.parse(src.textContent), traces = [];
      d.series.forEach(function (s) {
        traces.push({x: s.x.concat(s.x.slice().reverse()), y: s.hi.concat(s.lo.slice().reverse()),
          fill: "toself", fillcolor: s.color, opacity: 0.15, line: {width: 0},
          hoverinfo: "skip", showlegend: false, type: "scatter"});
        traces.push({x: s.x, y: s.y, name: s.label, type: "scatter", mode: "lines",
          line: {color: s.color, width: 2,
            dash: s.dashed ? "dash" : s.dash ? s.dash.split(" ").join("px,") + "px" : "solid"}});
      });
      var div = document.createElement("div");
      div.className = "plotly-box";
      var svgEl = fig.querySelector("svg");
      if (svgEl) svgEl.style.display = "none";
      fig.appendChild(div);
      var ink = getComputedStyle(document.body).color;
      window.Plotly.newPlot(div, traces, {
        height: 300, margin: {l: 52, r: 10, t: 10, b: 46}, showlegend: false,
        font: {color: ink, size: 11}, hovermode: "x unified",
        xaxis: {title: {text: d.xlabel}, tickformat: ".0%", range: [0, 1], gridcolor: "rgba(128,128,128,.2)"},
        yaxis: {title: {text: "p(target)"}, range: d.y_range, gridcolor: "rgba(128,128,128,.2)"},
        paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)"
      }, {displaylogo: false, responsive: true});
    });
  }
})();
