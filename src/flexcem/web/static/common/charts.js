/* flexcem dashboards: plain-SVG line charts, no dependencies, works offline.
 *
 *   FlexCharts.lineChart(svgElement, series, options)
 *
 * series:  [{name, points: [[isoTimeOrMs, value], ...], step: bool, color, axis: "left" | "right", dash}]
 *          `step: true` draws each value flat until the next point (prices, planned power per slot).
 *          `axis: "right"` puts the series on a second y axis (e.g. a price next to powers);
 *          `dash` is an SVG stroke-dasharray ("6 3") for a dashed line.
 * options: {yLabel, unit, rightLabel, rightUnit, height, now: isoTimeOrMs}
 *          `now` draws a vertical "now" marker.
 * The time axis is shown in the browser's local time. The chart draws a legend above the plot and
 * returns {xMin, xMax, yMin, yMax} (ms since the epoch and data units) for tests and callers.
 */
(function (global) {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var PALETTE = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#7f7f7f"];

  function toMs(t) {
    return typeof t === "number" ? t : Date.parse(t);
  }

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, attrs) {
    var node = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    node.textContent = content;
    return node;
  }

  function niceStep(span, count) {
    var raw = span / Math.max(1, count);
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * power >= raw) return steps[i] * power;
    }
    return 10 * power;
  }

  function ticks(min, max, count) {
    if (!(max > min)) return [min];
    var step = niceStep(max - min, count);
    var out = [];
    for (var v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  var HOUR = 3600e3;

  function timeTicks(min, max) {
    var span = max - min;
    var choices = [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR];
    var step = choices[choices.length - 1];
    for (var i = 0; i < choices.length; i++) {
      if (span / choices[i] <= 8) {
        step = choices[i];
        break;
      }
    }
    if (span < 2 * HOUR) step = 15 * 60e3;
    var first = new Date(min);
    first.setMinutes(0, 0, 0); // local hour boundaries
    var out = [];
    for (var t = first.getTime(); t <= max; t += step) {
      if (t >= min) out.push(t);
    }
    return out;
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function timeLabel(ms, withDay) {
    var d = new Date(ms);
    var hm = pad(d.getHours()) + ":" + pad(d.getMinutes());
    return withDay ? d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " + hm : hm;
  }

  function formatValue(v) {
    var a = Math.abs(v);
    if (a >= 1000) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1).replace(/\.0$/, "");
    if (a >= 1) return v.toFixed(2).replace(/0$/, "");
    return v.toPrecision(2);
  }

  function extent(list, pick) {
    var lo = Infinity;
    var hi = -Infinity;
    list.forEach(function (s) {
      s.points.forEach(function (p) {
        var v = pick(p);
        if (isFinite(v)) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      });
    });
    return [lo, hi];
  }

  function lineChart(svg, series, options) {
    options = options || {};
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.classList.add("flex-chart"); // sized by style.css before it is measured
    var width = svg.clientWidth || Number(svg.getAttribute("width")) || 720;
    var height = options.height || svg.clientHeight || Number(svg.getAttribute("height")) || 300;
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("role", "img");

    var data = (series || []).map(function (s, i) {
      return {
        name: s.name,
        step: !!s.step,
        dash: s.dash || null,
        color: s.color || PALETTE[i % PALETTE.length],
        axis: s.axis === "right" ? "right" : "left",
        points: (s.points || [])
          .map(function (p) {
            return [toMs(p[0]), Number(p[1])];
          })
          .filter(function (p) {
            return isFinite(p[0]) && isFinite(p[1]);
          })
          .sort(function (a, b) {
            return a[0] - b[0];
          }),
      };
    });
    var left = data.filter(function (s) {
      return s.axis === "left";
    });
    var right = data.filter(function (s) {
      return s.axis === "right";
    });

    var legendRows = Math.ceil(data.length / 4) || 1;
    var margin = { top: 8 + legendRows * 18, right: right.length ? 60 : 16, bottom: 28, left: 60 };
    var plotW = Math.max(10, width - margin.left - margin.right);
    var plotH = Math.max(10, height - margin.top - margin.bottom);

    var xs = extent(data, function (p) {
      return p[0];
    });
    if (!isFinite(xs[0])) {
      text(svg, width / 2, height / 2, options.empty || "no data", { "text-anchor": "middle", class: "chart-empty" });
      return { xMin: null, xMax: null, yMin: null, yMax: null };
    }
    // a step series holds its last value for one more interval
    data.forEach(function (s) {
      if (s.step && s.points.length > 1) {
        var n = s.points.length;
        var last = s.points[n - 1][0] + (s.points[n - 1][0] - s.points[n - 2][0]);
        if (last > xs[1]) xs[1] = last;
      }
    });
    if (xs[1] === xs[0]) xs[1] = xs[0] + HOUR;

    function yRange(list) {
      var ys = extent(list, function (p) {
        return p[1];
      });
      if (!isFinite(ys[0])) return [0, 1];
      var lo = Math.min(0, ys[0]);
      var hi = Math.max(0, ys[1]);
      if (hi === lo) hi = lo + 1;
      var t = ticks(lo, hi, 5);
      var step = t.length > 1 ? t[1] - t[0] : (hi - lo) / 5;
      return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
    }
    var yl = yRange(left);
    var yr = yRange(right);

    function sx(ms) {
      return margin.left + ((ms - xs[0]) / (xs[1] - xs[0])) * plotW;
    }
    function syFor(range) {
      return function (v) {
        return margin.top + plotH - ((v - range[0]) / (range[1] - range[0])) * plotH;
      };
    }
    var syl = syFor(yl);
    var syr = syFor(yr);

    // grid and axes
    var grid = el("g", { class: "chart-grid" }, svg);
    ticks(yl[0], yl[1], 5).forEach(function (v) {
      var y = syl(v);
      el("line", { x1: margin.left, x2: margin.left + plotW, y1: y, y2: y, stroke: v === 0 ? "#888" : "#e3e3e3" }, grid);
      text(grid, margin.left - 6, y + 4, formatValue(v), { "text-anchor": "end", class: "chart-tick" });
    });
    if (right.length) {
      ticks(yr[0], yr[1], 5).forEach(function (v) {
        text(grid, margin.left + plotW + 6, syr(v) + 4, formatValue(v), { class: "chart-tick" });
      });
    }
    var multiDay = xs[1] - xs[0] > 24 * HOUR || new Date(xs[0]).getDate() !== new Date(xs[1] - 1).getDate();
    timeTicks(xs[0], xs[1]).forEach(function (t, i) {
      var x = sx(t);
      el("line", { x1: x, x2: x, y1: margin.top, y2: margin.top + plotH, stroke: "#f0f0f0" }, grid);
      var day = new Date(t).getHours() === 0 || (multiDay && i === 0);
      text(grid, x, margin.top + plotH + 16, timeLabel(t, day), { "text-anchor": "middle", class: "chart-tick" });
    });
    el("rect", {
      x: margin.left, y: margin.top, width: plotW, height: plotH, fill: "none", stroke: "#bbb",
    }, grid);

    if (options.yLabel || options.unit) {
      var label = (options.yLabel || "") + (options.unit ? " [" + options.unit + "]" : "");
      text(svg, 12, margin.top + plotH / 2, label, {
        transform: "rotate(-90 12 " + (margin.top + plotH / 2) + ")", "text-anchor": "middle", class: "chart-axis-label",
      });
    }
    if (right.length && (options.rightLabel || options.rightUnit)) {
      var rlabel = (options.rightLabel || "") + (options.rightUnit ? " [" + options.rightUnit + "]" : "");
      var rx = width - 8;
      text(svg, rx, margin.top + plotH / 2, rlabel, {
        transform: "rotate(-90 " + rx + " " + (margin.top + plotH / 2) + ")", "text-anchor": "middle", class: "chart-axis-label",
      });
    }

    // series
    data.forEach(function (s) {
      if (!s.points.length) return;
      var sy = s.axis === "right" ? syr : syl;
      var d = "";
      s.points.forEach(function (p, i) {
        var x = sx(p[0]);
        var y = sy(p[1]);
        if (i === 0) d += "M" + x + " " + y;
        else if (s.step) d += " H" + x + " V" + y;
        else d += " L" + x + " " + y;
      });
      if (s.step && s.points.length > 1) {
        var n = s.points.length;
        d += " H" + sx(s.points[n - 1][0] + (s.points[n - 1][0] - s.points[n - 2][0]));
      }
      var attrs = { d: d, fill: "none", stroke: s.color, "stroke-width": 2, class: "chart-series" };
      if (s.dash) attrs["stroke-dasharray"] = s.dash;
      var path = el("path", attrs, svg);
      path.setAttribute("data-series", s.name);
      var title = el("title", {}, path);
      title.textContent = s.name;
    });

    if (options.now !== undefined && options.now !== null) {
      var nowMs = toMs(options.now);
      if (nowMs >= xs[0] && nowMs <= xs[1]) {
        var nx = sx(nowMs);
        el("line", { x1: nx, x2: nx, y1: margin.top, y2: margin.top + plotH, stroke: "#444", "stroke-dasharray": "4 3", class: "chart-now" }, svg);
        text(svg, nx + 3, margin.top + 12, "now", { class: "chart-tick" });
      }
    }

    // legend
    var legend = el("g", { class: "chart-legend" }, svg);
    var colW = Math.max(120, (width - margin.left) / 4);
    data.forEach(function (s, i) {
      var lx = margin.left + (i % 4) * colW;
      var ly = 6 + Math.floor(i / 4) * 18;
      el("rect", { x: lx, y: ly + 3, width: 14, height: 4, fill: s.color }, legend);
      var unit = s.axis === "right" ? options.rightUnit : options.unit;
      text(legend, lx + 18, ly + 9, s.name + (unit ? " [" + unit + "]" : ""), { class: "chart-legend-text" });
    });

    return { xMin: xs[0], xMax: xs[1], yMin: yl[0], yMax: yl[1] };
  }

  global.FlexCharts = { lineChart: lineChart, timeLabel: timeLabel };
})(typeof window !== "undefined" ? window : this);
