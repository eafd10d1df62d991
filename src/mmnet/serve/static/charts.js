// The page's charts, drawn as SVG: class probabilities as bars, a recording's timeline. Loaded before app.js.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const AXIS = "#767676";
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                 "#bcbd22", "#7f7f7f"];

// One colour per class of the model, in the order of its classes; grey for none.
function classColour(classes, label) {
  const k = classes.indexOf(label);
  return k < 0 ? "#888" : PALETTE[k % PALETTE.length];
}

// A class score (a softmax output, not a calibrated probability) as the page writes it everywhere (verdict,
// table, bars): a whole percentage.
function percent(p) {
  return p > 0 && p < 0.005 ? "< 1 %" : `${Math.round(p * 100)} %`;
}

// A number as the CLI writes it: at most 2 decimals, trailing zeros dropped (29.97002997 -> 29.97, 30.0 -> 30).
function short(v) { return String(+Number(v).toFixed(2)); }

// Seconds as a clock, as a video player shows them: m:ss.mmm, h:mm:ss.mmm from an hour on (134.267 -> 2:14.267),
// with `digits` decimals of the second. The JSON and the CSV keep seconds.
function clock(seconds, digits = 3) {
  const unit = 10 ** digits, total = Math.round(seconds * unit);
  const whole = Math.floor(total / unit), fraction = total - whole * unit;
  const h = Math.floor(whole / 3600), m = Math.floor(whole / 60) % 60, two = (v) => String(v).padStart(2, "0");
  const s = two(whole % 60) + (digits ? `.${String(fraction).padStart(digits, "0")}` : "");
  return h ? `${h}:${two(m)}:${s}` : `${m}:${s}`;
}

function el(tag, attrs, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function bars(svg, probabilities, label, colour) {
  svg.textContent = "";
  const names = Object.keys(probabilities);
  const row = 22, left = 110, width = 320, barMax = width - left - 50;
  svg.setAttribute("viewBox", `0 0 ${width} ${names.length * row + 4}`);
  svg.setAttribute("height", names.length * row + 4);
  // its words for screen readers, which do not read the bars' texts in a role=img
  const said = names.map((name) => `${name} ${percent(probabilities[name])}`);
  svg.setAttribute("aria-label", `Class scores: ${said.join(", ")}`);
  names.forEach((name, i) => {
    const p = probabilities[name], y = i * row + 2;
    const text = el("text", { x: left - 6, y: y + 15, "text-anchor": "end" }, svg);
    text.textContent = name;
    if (name === label) text.setAttribute("font-weight", "bold");
    el("rect", { x: left, y: y + 3, width: Math.max(1, p * barMax), height: row - 7, fill: colour(name),
                 class: "bar", "data-class": name }, svg);
    el("text", { x: left + p * barMax + 5, y: y + 15 }, svg).textContent = percent(p);
  });
}

// The spotting timeline: the motion curves (motion(): both scales', with their thresholds), the
// stretches without a face hatched, the intervals as bands coloured by class (for the mouse: each with its interval's number in data-k, hidden from screen
// readers, which reach the intervals by the table's buttons), a time axis.
function timeline(svg, data, colour) {
  svg.textContent = "";
  const W = Math.max(svg.clientWidth || 900, 300), H = 190, top = 18, bottom = 30, left = 8, right = 8;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const first = data.curve && data.curve.frames.length ? data.curve.frames[0] : 0;  // a video's first frame is 0
  const last = Math.max(data.frames + first - 1, first + 1);
  const x = (f) => left + (f - first) / (last - first) * (W - left - right);
  const plotH = H - top - bottom;
  // the stretches without a face, hatched as the CLI's timeline.png hatches them: nothing was analysed there
  const gaps = data.gaps || [];
  if (gaps.length) {
    const pattern = el("pattern", { id: "gap-hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse",
      patternTransform: "rotate(45)" }, el("defs", {}, svg));
    el("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#8a8f99", "stroke-width": 2 }, pattern);
  }
  gaps.forEach((g) => {
    const band = el("rect", { x: x(g.first), y: top, width: Math.max(2, Math.min(x(g.last + 1), W - right) - x(g.first)), height: plotH,
      fill: "url(#gap-hatch)", class: "gap" }, svg);
    el("title", {}, band).textContent = `Frames ${g.first}–${g.last}: no face, not analysed`;
  });
  data.intervals.forEach((iv, k) => {
    const band = el("rect", { x: x(iv.onset), y: top, width: Math.max(2, x(iv.offset) - x(iv.onset)),
      height: plotH, fill: colour(iv.label), class: "interval", "data-k": k }, svg);
    const title = `Interval ${k + 1}: ${iv.type}, ${iv.label || "not classified"}, frames ${iv.onset}–${iv.offset}`;
    el("title", {}, band).textContent = title;
    band.setAttribute("aria-hidden", "true");
    el("text", { x: x(iv.onset), y: top - 4 }, svg).textContent = iv.type === "macro" ? "M" : "µ";
  });
  const said = data.curve ? motion(svg, data, x, top, plotH, left, W - right) : "";
  if (!data.curve) {
    el("text", { x: W / 2, y: top + plotH / 2, "text-anchor": "middle" }, svg).textContent = "(no motion curve)";
  }
  // the axis and its ticks: #767676 on the plot's #fafbfd is 4.3:1 (#999 was 2.7:1, below the 3:1 graphics need)
  el("line", { x1: left, x2: W - right, y1: top + plotH, y2: top + plotH, stroke: AXIS }, svg);
  // the frame shown at t seconds: by a video's own frame times where the curve has them (its rate may vary)
  const timed = data.curve && Array.isArray(data.curve.seconds) ? data.curve.frames
    .map((f, i) => [data.curve.seconds[i], f]).filter(([s]) => typeof s === "number") : [];
  const frameAt = (t) => {
    if (timed.length < 2) return first + t * data.fps;
    let i = 1;
    while (i < timed.length - 1 && timed[i][0] < t) i++;
    const [s0, f0] = timed[i - 1], [s1, f1] = timed[i];
    return s1 > s0 ? f0 + (t - s0) / (s1 - s0) * (f1 - f0) : f0;
  };
  const end = timed[timed.length - 1];
  const seconds = timed.length < 2 ? (last - first) / data.fps : end[0] + (last - end[1]) / data.fps;
  const step = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600].find((s) => seconds / s <= 10) || 1200;
  for (let t = 0; t <= seconds + 1e-9; t += step) {
    const px = x(frameAt(t));
    el("line", { x1: px, x2: px, y1: top + plotH, y2: top + plotH + 4, stroke: AXIS }, svg);
    el("text", { x: px, y: H - 8, "text-anchor": "middle" }, svg).textContent = clock(t, step < 1 ? 1 : 0);
  }
  return said;
}

// Both scales' curves (the micro scale's dark and solid, the macro scale's blue and dash-dotted: not told apart by
// colour alone, which forced colours or colour blindness lose) with their thresholds (dashed, dotted), on one
// axis cut at 3 times the higher threshold, so that one spike (a hand, a turn of the head) does not press the
// thresholds to the floor: a peak above it is marked with a triangle at the top, its value in its title. Returns
// the words for screen readers.
const CURVES = { micro: { stroke: "#1d2330", pattern: "none", dash: "5 4", line: "#b3261e" },
                 macro: { stroke: "#2f6db5", pattern: "8 3 2 3", dash: "1.5 3", line: "#2f6db5" } };

// The legend's key of a curve (`kind` "line") or of a threshold ("dash") of `scale`: a short stretch of the line
// drawn as the timeline draws it, its colour and its dash pattern.
function lineKey(kind, scale) {
  const svg = el("svg", { width: 24, height: 8, class: `key ${kind} ${scale}`, "aria-hidden": "true" });
  const curve = kind === "line";
  el("line", { x1: 0, x2: 24, y1: 4, y2: 4, stroke: curve ? CURVES[scale].stroke : CURVES[scale].line,
               "stroke-width": 2, "stroke-dasharray": curve ? CURVES[scale].pattern : CURVES[scale].dash }, svg);
  return svg;
}
function motion(svg, data, x, top, plotH, left, right) {
  const curves = { micro: data.curve.score, macro: Array.isArray(data.curve.macro) ? data.curve.macro : null };
  const thresholds = Object.entries(data.thresholds || {}).filter(([s, t]) => curves[s] && typeof t === "number");
  const values = Object.values(curves).flatMap((c) => (c || []).filter((v) => typeof v === "number"));
  const highest = Math.max(...values, 0);
  const cap = thresholds.length ? 3 * Math.max(...thresholds.map(([, t]) => t)) : Infinity;
  const max = Math.max(Math.min(highest, cap), ...thresholds.map(([, t]) => t), 1e-9);
  const y = (v) => (top + plotH * (1 - Math.min(v, max) / max)).toFixed(1);
  let clipped = 0;
  for (const [scale, score] of Object.entries(curves)) {
    if (!score) continue;
    let d = "", pen = false, run = null;  // run: the highest point of a stretch above the axis
    const mark = () => {
      const [f, v] = run, px = x(f);
      const d = `M${(px - 4).toFixed(1)},${top + 6}L${px.toFixed(1)},${top}L${(px + 4).toFixed(1)},${top + 6}Z`;
      const tip = el("path", { d, fill: CURVES[scale].stroke, class: `clipped ${scale}` }, svg);
      const said = `Frame ${f}: ${scale} motion ${short(v)}, above the axis (cut at ${short(max)})`;
      el("title", {}, tip).textContent = said;
      clipped++;
      run = null;
    };
    data.curve.frames.forEach((f, i) => {
      const v = score[i];
      if (run && !(typeof v === "number" && v > max)) mark();
      if (typeof v !== "number") { pen = false; return; }
      if (v > max && (!run || v > run[1])) run = [f, v];
      d += `${pen ? "L" : "M"}${x(f).toFixed(1)},${y(v)}`;
      pen = true;
    });
    if (run) mark();
    el("path", { d, fill: "none", stroke: CURVES[scale].stroke, "stroke-width": 1.2,
                 "stroke-dasharray": CURVES[scale].pattern, class: `curve ${scale}` }, svg);
  }
  for (const [scale, t] of thresholds) {
    el("line", { x1: left, x2: right, y1: y(t), y2: y(t), stroke: CURVES[scale].line,
                 "stroke-dasharray": CURVES[scale].dash, class: `threshold ${scale}` }, svg);
  }
  const cut = highest > max;
  const label = el("text", { x: left + 2, y: top + 11, class: "axis-label" }, svg);
  label.textContent = cut ? `motion (axis to ${short(max)})` : "motion";
  const lines = curves.macro ? "micro-expression motion (dark solid line) and macro-expression motion (blue " +
    "dash-dotted line)"
    : "micro-expression motion";
  const limits = thresholds.map(([scale, t]) => `${scale} threshold ${short(t)}`).join(", ");
  const peaks = clipped === 1 ? "1 peak above it marked by a triangle"
    : `${clipped} peaks above it marked by triangles`;
  return `${lines}${limits ? `; ${limits}` : ""}` + (cut ? `; the axis is cut at ${short(max)}, 3 times the ` +
    `higher threshold: ${peaks}, the highest ${short(highest)}` : "");
}
