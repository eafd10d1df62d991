// The page of `mmnet serve`: plain JavaScript, no library, nothing loaded from the network.
// It talks to the API of the same server (docs/serve.md) and draws the charts as SVG itself.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                 "#bcbd22", "#7f7f7f"];
let model = { classes: [] };
let current = null; // the last result shown: {kind, data, id}

function colour(label) {
  const k = model.classes.indexOf(label);
  return k < 0 ? "#888" : PALETTE[k % PALETTE.length];
}

function el(tag, attrs, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function mode() { return document.querySelector("input[name=mode]:checked").value; }

function setMode() {
  document.body.classList.toggle("mode-clip", mode() === "clip");
  document.body.classList.toggle("mode-recording", mode() === "recording");
}

async function loadModel() {
  try {
    const r = await fetch("/api/model");
    model = await r.json();
  } catch (e) {
    $("model-text").textContent = "The server does not answer. Is `mmnet serve` still running?";
    return;
  }
  const size = model.image_size ? `${model.image_size}×${model.image_size} px faces` : "";
  $("model-text").textContent = `${model.name || "Model"}: classes ${model.classes.join(", ")}` +
    (size ? `; reads ${size}` : "") + (model.mmnet_version ? `; saved by mmnet ${model.mmnet_version}` : "") +
    `. ${model.summary || ""}`;
  if (model.synthetic) {
    $("model-warning").hidden = false;
    $("model-warning").textContent = "This model was trained on synthetic faces: it is here for trying the page " +
      "only. Its classes mean nothing on recordings of real people.";
  }
  $("limit").textContent = model.max_upload_mb ? `Files up to ${model.max_upload_mb} MB.` : "";
  if (!model.spotting) {
    $("mode-recording").disabled = true;
    $("spotting-note").hidden = false;
    $("spotting-note").textContent = "Finding expressions in long recordings is not available on this server: it needs mmnet's face extra.";
  }
}

function showError(message) {
  $("progress").hidden = true;
  $("error").hidden = false;
  $("error").textContent = message;
}

function progress(fraction, text) {
  $("progress").hidden = false;
  const bar = $("progress-bar");
  if (fraction === null || fraction === undefined) bar.removeAttribute("value"); else bar.value = fraction;
  $("progress-text").textContent = text;
}

// POST a form with upload progress (fetch cannot report it); resolves to {status, body}.
function post(url, form) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) progress(e.loaded / e.total * 0.5, `Uploading: ${Math.round(e.loaded / e.total * 100)} %`);
    };
    xhr.upload.onload = () => progress(null, "Analysing…");
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.response || {} });
    xhr.onerror = () => resolve({ status: 0, body: { error: "The upload did not reach the server. Is it still running?" } });
    xhr.send(form);
  });
}

function errorText(status, body) {
  return (body && body.error) || `The server answered with status ${status}.`;
}

async function analyse(file) {
  $("error").hidden = true;
  $("result").hidden = true;
  progress(0, `Uploading ${file.name}…`);
  const form = new FormData();
  form.append("file", file, file.name);
  if (mode() === "clip") {
    for (const name of ["onset", "apex"]) if ($(name).value !== "") form.append(name, $(name).value);
    const { status, body } = await post("/api/predict", form);
    if (status !== 200) return showError(errorText(status, body));
    $("progress").hidden = true;
    showClip(body);
  } else {
    if ($("fps").value !== "") form.append("fps", $("fps").value);
    const { status, body } = await post("/api/recordings", form);
    if (status !== 202) return showError(errorText(status, body));
    follow(body);
  }
}

// Follow a recording's job by server-sent events (polling if they fail), then show its result.
function follow(job) {
  progress(0, "Waiting for a free worker…");
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    const r = await fetch(job.urls.result);
    const body = await r.json();
    if (r.status !== 200) return showError(errorText(r.status, body));
    $("progress").hidden = true;
    showRecording(body, job.id);
  };
  const update = (s) => {
    progress(s.progress, `${s.stage}${s.progress !== null ? ` (${Math.round(s.progress * 100)} %)` : ""}`);
    if (s.status === "done" || s.status === "failed") finish();
  };
  const events = new EventSource(job.urls.events);
  events.onmessage = (e) => update(JSON.parse(e.data));
  events.onerror = () => {
    events.close();
    const poll = async () => {
      if (finished) return;
      const r = await fetch(job.urls.state);
      if (r.status !== 200) return showError(errorText(r.status, await r.json()));
      update(await r.json());
      setTimeout(poll, 1000);
    };
    poll();
  };
}

function bars(svg, probabilities, label) {
  svg.textContent = "";
  const names = Object.keys(probabilities);
  const row = 22, left = 110, width = 320, barMax = width - left - 50;
  svg.setAttribute("viewBox", `0 0 ${width} ${names.length * row + 4}`);
  svg.setAttribute("height", names.length * row + 4);
  names.forEach((name, i) => {
    const p = probabilities[name], y = i * row + 2;
    const text = el("text", { x: left - 6, y: y + 15, "text-anchor": "end" }, svg);
    text.textContent = name;
    if (name === label) text.setAttribute("font-weight", "bold");
    el("rect", { x: left, y: y + 3, width: Math.max(1, p * barMax), height: row - 7, fill: colour(name),
                 class: "bar", "data-class": name }, svg);
    el("text", { x: left + p * barMax + 5, y: y + 15 }, svg).textContent = `${(p * 100).toFixed(1)} %`;
  });
}

// A note of the result as a sentence: capitalised, with its full stop.
function sentence(note) {
  return note.charAt(0).toUpperCase() + note.slice(1) + (note.endsWith(".") ? "" : ".");
}

// One prediction: verdict, onset and apex crops, probability bars, attention figure.
function detail(data, files, prefix) {
  const node = $("detail-template").content.firstElementChild.cloneNode(true);
  node.querySelector(".label").textContent = data.label || "not classified";
  node.querySelector(".label").style.color = colour(data.label);
  if (data.label) node.querySelector(".p").textContent = `(p = ${data.probabilities[data.label].toFixed(2)})`;
  node.querySelector(".frames").textContent = `onset frame ${data.onset}, apex frame ${data.apex}` +
    (data.apex_spotted ? " (found automatically: the largest motion after the onset)" : "");
  node.querySelector("img.onset").src = files[`${prefix}onset.png`];
  node.querySelector("img.apex").src = files[`${prefix}apex.png`];
  if (data.probabilities) bars(node.querySelector("svg.bars"), data.probabilities, data.label);
  else node.querySelector("figure.chart").hidden = true;
  const attention = files[`${prefix}attention.png`];
  if (attention) node.querySelector("img.attention").src = attention;
  else {
    node.querySelector(".attention-figure").hidden = true;
    node.querySelector(".attention-note").hidden = false;
    node.querySelector(".attention-note").textContent = data.note ? sentence(data.note) : "No attention figure for this model.";
  }
  return node;
}

// The whole result as JSON and CSV, named after the upload; figures: [link text, URL, file name] each.
function downloads(data, id, name, figures) {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  $("dl-json").href = URL.createObjectURL(blob);
  $("dl-json").download = `${name}.json`;
  $("dl-csv").href = `/api/jobs/${id}/result?format=csv`;
  $("dl-csv").download = `${name}.csv`;
  $("dl-png").replaceChildren();
  for (const [text, url, file] of figures) {
    if (!url) continue;
    const a = document.createElement("a");
    a.href = url;
    a.download = file;
    a.textContent = text;
    $("dl-png").append(" · ", a);
  }
}

function baseName(source) { return source.replace(/\.[^.]*$/, ""); }

// A recording's figures: its timeline and, once one is selected, the attention figure of interval k.
function recordingFigures(data, k) {
  const name = baseName(data.source);
  const figures = [["PNG (timeline)", (data.files || {})["timeline.png"], `${name}-timeline.png`]];
  if (k !== undefined) {
    const url = (data.intervals[k].files || {})[`interval-${k}-attention.png`];
    figures.push([`PNG (interval ${k + 1} attention figure)`, url, `${name}-interval-${k + 1}-attention.png`]);
  }
  return figures;
}

function showClip(data) {
  current = { kind: "clip", data };
  $("result").hidden = false;
  $("result-name").textContent = `— ${data.source}`;
  $("recording-result").hidden = true;
  const box = $("clip-result");
  box.hidden = false;
  box.replaceChildren(detail(data, data.files, ""));
  const notes = data.warnings || (data.warning ? [data.warning] : []);
  if (notes.length) {  // what the result cannot vouch for (no face check, no motion): one line per note
    const list = document.createElement("ul");
    list.className = "warning clip-warnings";
    for (const note of notes) {
      const item = document.createElement("li");
      item.textContent = sentence(note);
      list.append(item);
    }
    box.querySelector(".verdict").after(list);
  }
  if (data.recording_warning) {  // a long clip: classified as one, but it looks like a recording
    const warning = document.createElement("p");
    warning.className = "note";
    warning.textContent = `Note: ${data.recording_warning}`;
    box.prepend(warning);
  }
  const name = baseName(data.source);
  downloads(data, data.id, name, [["PNG (attention figure)", data.files["attention.png"], `${name}-attention.png`]]);
}

function showRecording(data, id) {
  current = { kind: "recording", data, id };
  $("result").hidden = false;
  $("result-name").textContent = `— ${data.source}`;
  $("clip-result").hidden = true;
  $("recording-result").hidden = false;
  const n = data.intervals.length;
  $("recording-summary").textContent = `${n} interval${n === 1 ? "" : "s"} found in ${data.frames} frames ` +
    `(${(data.frames / data.fps).toFixed(1)} s at ${data.fps} frames per second).` + (data.note ? ` ${data.note}` : "") +
    (data.notes || []).map((note) => ` ${sentence(note)}`).join("");  // e.g. a recording too short for a scale
  timeline($("timeline"), data);
  const legend = $("legend");
  legend.textContent = "";
  for (const c of model.classes) {
    const span = document.createElement("span");
    const box = document.createElement("i");
    box.style.background = colour(c);
    span.append(box, c);
    legend.append(span);
  }
  const body = $("intervals").querySelector("tbody");
  body.textContent = "";
  data.intervals.forEach((iv, k) => {
    const tr = document.createElement("tr");
    tr.dataset.k = k;
    const p = iv.probabilities && iv.label ? iv.probabilities[iv.label].toFixed(2) : "";
    for (const v of [k + 1, iv.onset, iv.apex, iv.offset, iv.type, iv.label || "", p]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    tr.addEventListener("click", () => select(k));
    body.append(tr);
  });
  $("interval-detail").textContent = "";
  downloads(data, id, baseName(data.source), recordingFigures(data));
  if (n) select(0);
}

function select(k) {
  const { data, id } = current;
  const iv = data.intervals[k];
  document.querySelectorAll("#timeline .interval, #intervals tbody tr").forEach((node) => {
    node.classList.toggle("selected", Number(node.dataset.k) === k);
  });
  const box = $("interval-detail");
  const title = document.createElement("h3");
  title.textContent = `Interval ${k + 1}: frames ${iv.onset}–${iv.offset} (${iv.type})`;
  downloads(data, id, baseName(data.source), recordingFigures(data, k));
  if (!iv.files || !iv.files[`interval-${k}-onset.png`]) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = iv.note || data.note || "No pictures for this interval.";
    return box.replaceChildren(title, note);
  }
  box.replaceChildren(title, detail({ ...iv, apex_spotted: false }, iv.files, `interval-${k}-`));
}

// The spotting timeline: the motion curve, the intervals as bands coloured by class, a time axis.
function timeline(svg, data) {
  svg.textContent = "";
  const W = Math.max(svg.clientWidth || 900, 300), H = 190, top = 18, bottom = 30, left = 8, right = 8;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const first = data.curve && data.curve.frames.length ? data.curve.frames[0] : 0;  // a video's first frame is 0
  const last = Math.max(data.frames + first - 1, first + 1);
  const x = (f) => left + (f - first) / (last - first) * (W - left - right);
  const plotH = H - top - bottom;
  data.intervals.forEach((iv, k) => {
    const band = el("rect", { x: x(iv.onset), y: top, width: Math.max(2, x(iv.offset) - x(iv.onset)),
      height: plotH, fill: colour(iv.label), class: "interval", "data-k": k }, svg);
    el("title", {}, band).textContent = `${k + 1}: ${iv.type}, ${iv.label || "?"}, frames ${iv.onset}–${iv.offset}`;
    band.addEventListener("click", () => select(k));
    el("text", { x: x(iv.onset), y: top - 4 }, svg).textContent = iv.type === "macro" ? "M" : "µ";
  });
  if (data.curve) {
    const values = data.curve.score.filter((v) => v !== null);
    const max = Math.max(...values, 1e-9);
    let d = "", pen = false;
    data.curve.frames.forEach((f, i) => {
      const v = data.curve.score[i];
      if (v === null) { pen = false; return; }
      d += `${pen ? "L" : "M"}${x(f).toFixed(1)},${(top + plotH * (1 - v / max)).toFixed(1)}`;
      pen = true;
    });
    el("path", { d, fill: "none", stroke: "#1d2330", "stroke-width": 1.2 }, svg);
  } else {
    el("text", { x: W / 2, y: top + plotH / 2, "text-anchor": "middle" }, svg).textContent = "(no motion curve)";
  }
  el("line", { x1: left, x2: W - right, y1: top + plotH, y2: top + plotH, stroke: "#999" }, svg);
  const seconds = (last - first) / data.fps;
  const step = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600].find((s) => seconds / s <= 10) || 1200;
  for (let t = 0; t <= seconds + 1e-9; t += step) {
    const px = x(first + t * data.fps);
    el("line", { x1: px, x2: px, y1: top + plotH, y2: top + plotH + 4, stroke: "#999" }, svg);
    el("text", { x: px, y: H - 8, "text-anchor": "middle" }, svg).textContent = `${+t.toFixed(1)} s`;
  }
}

function setup() {
  document.querySelectorAll("input[name=mode]").forEach((r) => r.addEventListener("change", setMode));
  setMode();
  const drop = $("drop"), input = $("file");
  input.addEventListener("change", () => { if (input.files.length) analyse(input.files[0]); input.value = ""; });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") input.click(); });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) analyse(e.dataTransfer.files[0]);
  });
  window.addEventListener("resize", () => { if (current && current.kind === "recording") timeline($("timeline"), current.data); });
  loadModel();
}

setup();
