// The page of `mmnet serve`: plain JavaScript, no library, nothing loaded from the network.
// It talks to the API of the same server (docs/serve.md) and draws the charts as SVG itself. It asks by URLs
// relative to itself ("api/model"), so that it works under a reverse proxy's sub-path too (/mmnet/ -> /), and
// through access.js's api(), which adds the server's access token if it has one: pictures, downloads and the
// progress's events are fetched too, never loaded by the browser from an API address (which sends no token).
"use strict";

const $ = (id) => document.getElementById(id);
let model = { classes: [] };
let current = null; // the last result shown: {kind, data, id, shown: the interval shown}
// The analysis in progress: {xhr, events (its close() stops them), timer, jobId}, a new object for each. Its
// callbacks act only while it is still `run`: a newer upload or Cancel replaces it, and whatever of it arrives late
// is ignored.
let run = null;
// The id of the recording's job followed, so that a reload, or a new tab of the same browser (the tab closed while
// it ran), follows it again; localStorage, not sessionStorage, which a closed tab takes with it.
const JOB_KEY = "mmnet-job";
// The recordings' jobs this browser started and has not seen end: {id: file name}, so that a job waiting behind
// one of them says so (and can cancel it) rather than blame someone else.
const OWN_KEY = "mmnet-jobs";
// The job this tab follows or shows (sessionStorage: a reload keeps it, a new tab has none), and {name, kind,
// adopted} of it: a reload follows the tab's own job again, or reopens its result, never another tab's newer job; a
// new tab follows another tab's job (adopted): a new upload there leaves that job running.
const TAB_KEY = "mmnet-tab-job";
const TAB_INFO_KEY = "mmnet-tab-info";
const NO_ANSWER = "The server does not answer. Is `mmnet serve` still running?";
// What the status region last said of the analysis in progress: it speaks at each new stage, then at most once per
// quarter of the stage or per 30 s, not at each of the server's events (4 a second).
let spoken = {};
const SPEAK_EVERY_MS = 30_000;
const WAITING_TO_START = "Uploaded; waiting for the analysis to start";

// The URLs the API gives, as /api/jobs/ID/files/x.png (/mmnet/api/jobs/… behind a proxy's prefix, --root-path),
// relative to the page, as the page's own requests: the page's address holds the prefix, whether or not the
// server was told it.
function here(url) { return url ? url.replace(/^(?:.*?\/(?=api\/jobs\/)|\/)/, "") : url; }

function colour(label) { return classColour(model.classes, label); }

// Say a sentence through the page's one status region (screen readers read it; nothing is shown). The same
// sentence twice in a row is changed by a no-break space, or it would not be read again.
// It is emptied a while later (or when an error or a result takes over), so that a screen reader's browse mode
// does not find "Analysing" there long after.
const CLEAR_STATUS_MS = 10_000;
let statusTimer = null;
function announce(text) {
  const status = $("status");
  status.textContent = status.textContent === text ? `${text}\u00a0` : text;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(clearStatus, CLEAR_STATUS_MS);
}

function clearStatus() {
  clearTimeout(statusTimer);
  $("status").textContent = "";
}

function mode() { return document.querySelector("input[name=mode]:checked").value; }

function setMode() {
  document.body.classList.toggle("mode-clip", mode() === "clip");
  document.body.classList.toggle("mode-recording", mode() === "recording");
}

// Describe the model; false when the server wants its access token (access.js then asks for it).
async function loadModel() {
  let r, body;
  try {
    r = await api("api/model");
    body = await r.json();
  } catch (e) {
    $("model-text").textContent = NO_ANSWER;
    announce(NO_ANSWER);
    return true;
  }
  if (!r.ok) {
    $("model-text").textContent = errorText(r.status, body);
    return r.status !== 401;
  }
  model = body;
  const size = model.image_size ? `${model.image_size}×${model.image_size} px faces` : "";
  // the title says what it was trained on and its classes in words; the folder is the secondary detail
  const title = model.title ? `${model.title}${model.name ? ` (folder ${model.name})` : ""}`
    : `${model.name || "Model"}: classes ${model.classes.join(", ")}`;
  $("model-text").textContent = title +
    (size ? `; reads ${size}` : "") + (model.mmnet_version ? `; saved by mmnet ${model.mmnet_version}` : "") +
    `. ${model.summary || ""}`;
  if (model.synthetic === true) {
    $("model-warning").hidden = false;
    $("model-warning").textContent = "This model was trained on synthetic faces: it is here for trying the page " +
      "only. Its classes mean nothing on recordings of real people.";
  } else if (model.note) {  // permuted labels, training data unknown or not recorded: said as loudly
    $("model-warning").hidden = false;
    $("model-warning").textContent = model.note;
  }
  if ((model.performance || {}).line) {  // how far its scores can be trusted, beside what it was trained on
    $("model-performance").hidden = false;
    $("model-performance").textContent = model.performance.line;
  }
  $("limit").textContent = model.max_upload_mb ? `Files up to ${model.max_upload_mb} MB.` : "";
  $("kept").textContent = model.result_ttl_s ? `Results can be downloaded for ${keptFor()} after they are ready.` : "";
  if (!model.spotting) {
    $("mode-recording").disabled = true;
    $("mode-recording").setAttribute("aria-describedby", "spotting-note");  // why it cannot be chosen
    $("spotting-note").hidden = false;
    $("spotting-note").textContent = "Finding expressions in long recordings is not available on this server: it needs mmnet's face extra.";
  }
  return true;
}

// How long the server keeps a result, in words ("30 minutes").
function keptFor() {
  const minutes = model.result_ttl_s / 60;
  return minutes >= 1 ? `${short(minutes)} minute${minutes === 1 ? "" : "s"}` : `${short(model.result_ttl_s)} seconds`;
}

// Hide the progress; focus, if on its Cancel button, goes to the file control rather than to the page's body.
function hideProgress() {
  const focused = $("progress").contains(document.activeElement);
  $("progress").hidden = true;
  if (focused) $("file").focus();
}

// Hide the note on a waiting job; focus, if on its button, goes to Cancel (as hideProgress moves it to the file).
function hideWaiting() {
  if ($("waiting").contains(document.activeElement)) ($("progress").hidden ? $("file") : $("cancel")).focus();
  $("waiting").hidden = true;
}

function showError(message) {
  hideProgress();
  clearStatus();  // the error region (role=alert) says it
  $("error").hidden = false;
  $("error").textContent = message;
  markFields(message);
}

// The options' fields an error names (the server's names for them: "Onset frame", "Frame rate"): marked invalid
// and described by the error, the options opened and focus on the first of them.
const FIELD_NAMES = { onset: "Onset frame", apex: "Apex frame", fps: "Frame rate" };
function markFields(message) {
  const named = Object.entries(FIELD_NAMES).filter(([id, name]) => message.includes(name) &&
    $(id).closest(".options").matches(mode() === "clip" ? ".clip-only" : ".recording-only")).map(([id]) => $(id));
  if (!named.length) return;
  $("options").open = true;
  for (const field of named) {
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", "error");
  }
  named[0].focus();
}

// A new submit, or the field changed: no longer marked by the last error.
function unmarkField(field) {
  field.removeAttribute("aria-invalid");
  field.removeAttribute("aria-describedby");
}

// The progress bar at `fraction` (null: unknown) with its line of text; `stage` (e.g. "Uploading") and `done` (the
// fraction of the upload or of the analysis done; null: unknown) are what the status region may say of it.
function progress(fraction, text, stage, done = null) {
  $("progress").hidden = false;
  const bar = $("progress-bar");
  if (fraction === null || fraction === undefined) bar.removeAttribute("value"); else bar.value = fraction;
  $("progress-text").textContent = text;
  const now = Date.now();
  const quarter = done === null ? -1 : Math.floor(done * 4);
  if (stage !== spoken.stage) {
    spoken = { stage, quarter, at: now, percent: null };
    return announce(stage);
  }
  const percent = done === null ? null : Math.round(done * 100);
  const soon = quarter <= spoken.quarter && now - spoken.at < SPEAK_EVERY_MS;
  if (percent === null || percent === spoken.percent || soon) return;
  spoken = { stage, quarter, at: now, percent };
  announce(`${stage}: ${percent} % done`);
}

// The server's estimate of the time left, for the progress line only (the status region does not read it out).
function timeLeft(seconds) {
  if (seconds === null || seconds === undefined) return "";
  return seconds < 60 ? ", less than a minute left" : `, about ${Math.round(seconds / 60)} min left`;
}

// A stage of the server's job as the status region says it: its counts dropped, which change at every event
// ("Looking for expressions: frame 3 of 20" -> "Looking for expressions",
// "Drawing interval 1 of 2" -> "Drawing interval").
function stageName(stage) {
  return stage.replace(/:[^:]*\d[^:]*$/, "").replace(/ \d+ of \d+$/, "");
}

// Stop the analysis in progress, if any: its upload aborted, its events closed, and its job deleted on the
// server, so that it does not hold a worker that the next one needs. `keepAdopted`: a job that this tab took up from
// another tab of the browser is only no longer followed here (that tab may still show it); Cancel deletes it.
function abandon(keepAdopted = false) {
  if (!run) return;
  const old = run;
  run = null;
  const keep = keepAdopted && old.adopted;
  if (!keep) forgetJob(old.jobId);
  if (old.jobId && tabJob() === old.jobId) clearTabJob();  // nothing for a reload to follow or reopen
  if (old.xhr) old.xhr.abort();
  if (old.events) old.events.close();
  clearTimeout(old.timer);
  if (old.jobId && !keep) api(`api/jobs/${old.jobId}`, { method: "DELETE" }).catch(() => {});
}

// A new analysis: the previous one abandoned, the page cleared for this one.
function begin() {
  abandon(true);
  run = {};
  spoken = {};
  forgetPictures();
  for (const id of Object.keys(FIELD_NAMES)) unmarkField($(id));
  for (const id of ["error", "result", "note", "download-error"]) $(id).hidden = true;
  return run;
}

// The analysis ended (its result or its error is shown): its job stays on the server for the downloads.
function end(ticket) {
  if (run === ticket) run = null;
  forgetJob(ticket.jobId);
  hideWaiting();
}

// This browser's jobs not seen to end ({id: name}); another tab may have added or removed some meanwhile.
function ownJobs() {
  try {
    return JSON.parse(localStorage.getItem(OWN_KEY)) || {};
  } catch (e) {
    return {};
  }
}

function keepJob(id, name) {
  localStorage.setItem(JOB_KEY, id);
  localStorage.setItem(OWN_KEY, JSON.stringify({ ...ownJobs(), [id]: name }));
}

// A job that ended, was cancelled or is gone: no longer taken up by a new tab, nor one of this browser's running.
// The tab that shows it keeps it (tabJob), to reopen its result on a reload.
function forgetJob(id) {
  if (!id) return;
  if (localStorage.getItem(JOB_KEY) === id) localStorage.removeItem(JOB_KEY);
  const own = ownJobs();
  delete own[id];
  localStorage.setItem(OWN_KEY, JSON.stringify(own));
}

// A tab opened as a copy of another (Chrome's Duplicate, window.open of its address) has that tab's
// sessionStorage, so its job seems its own: on opening it, the tab asks the browser's other tabs, and the one that
// started the job (alive, so not this tab before a reload) says so; the job is then taken up (adopted).
const tabs = "BroadcastChannel" in window ? new BroadcastChannel("mmnet-tabs") : null;
if (tabs) {
  tabs.onmessage = (e) => {
    const said = e.data || {};
    if (said.ask && run && run.jobId === said.ask && !run.adopted) tabs.postMessage({ started: said.ask });
    if (said.started && run && run.jobId === said.started && !run.adopted) {
      run.adopted = true;
      setTabJob(said.started, { adopted: true });
    }
  };
}

// The job this tab follows or shows, and what it knows of it ({name, kind, adopted}).
function tabJob() { return sessionStorage.getItem(TAB_KEY); }

function tabInfo() {
  try {
    return JSON.parse(sessionStorage.getItem(TAB_INFO_KEY)) || {};
  } catch (e) {
    return {};
  }
}

// The tab now follows or shows job `id`: kept for a reload, and in the page's address (#job=ID, never the access
// token), which a reload, Back or Forward, or a bookmark opens again while the server keeps the job.
function setTabJob(id, info) {
  if (tabJob() !== id) sessionStorage.removeItem(TAB_INFO_KEY);
  sessionStorage.setItem(TAB_KEY, id);
  sessionStorage.setItem(TAB_INFO_KEY, JSON.stringify({ ...tabInfo(), ...info }));
  toAddress(id);
}

function clearTabJob() {
  sessionStorage.removeItem(TAB_KEY);
  sessionStorage.removeItem(TAB_INFO_KEY);
  toAddress(null);
}

// The job named in the page's address (#job=ID), or null.
function jobInAddress() {
  const match = /^#job=([0-9A-Za-z_-]{1,64})$/.exec(location.hash);
  return match ? match[1] : null;
}

// The page's address with #job=ID (id null: without it); this entry of the history replaced, not a new one.
function toAddress(id) {
  const hash = id ? `#job=${encodeURIComponent(id)}` : "";
  if (location.hash !== hash) history.replaceState(history.state, "", location.pathname + location.search + hash);
}

// A server's sentence on job `id` with its file's name in place of the id, which means nothing to the page's user
// ("Job 3f2a… was deleted.", "The result of job 3f2a… has expired: …", "There is no job '3f2a…' on this server").
// `ended`: of a result shown, which was deleted rather than cancelled.
function named(text, id, name, ended = false) {
  if (!id || !name) return text;
  const deleted = ended ? `The result of ${name} was deleted from the server, in another tab or window.`
    : `The analysis of ${name} was cancelled, or its result deleted, in another tab or window.`;
  return text.replace(`Job ${id} was deleted.`, deleted)
    .replace(`There is no job '${id}'`, `There is no analysis of ${name}`).split(`job ${id}`).join(name)
    .split(id).join(name);
}

// On opening the page: forget this browser's jobs that ended or are gone (their tab closed while they ran), so that
// their recordings' names do not stay in the browser's storage. The one followed again (`followed`, and the newest
// of the browser's, which a new tab takes up) is forgotten when it ends.
async function forgetEndedJobs(followed) {
  for (const id of Object.keys(ownJobs())) {
    if (id === localStorage.getItem(JOB_KEY) || id === followed) continue;
    try {
      const r = await api(`api/jobs/${encodeURIComponent(id)}`);
      const body = r.ok ? await r.json() : {};
      if (r.status === 404 || body.status === "done" || body.status === "failed") forgetJob(id);
    } catch (e) {
      return;  // the server does not answer: asked again on the next visit
    }
  }
}

// A note under the file control, also said through the status region (the note alone, shown late, is not read).
function showNote(text) {
  $("note").hidden = false;
  $("note").textContent = text;
  announce(text);
}

function cancel() {
  abandon();
  hideProgress();
  showNote("Cancelled. Choose or drop a file to analyse.");
}

// POST a form with upload progress (fetch cannot report it); resolves to {status, body} (status -1: aborted).
// `next` is the stage once the file is uploaded.
function post(url, form, ticket, next) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    ticket.xhr = xhr;
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(authorization())) xhr.setRequestHeader(name, value);
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && run === ticket) {
        const done = e.loaded / e.total;
        progress(done * 0.5, `Uploading: ${Math.round(done * 100)} % of the file`, "Uploading", done);
      }
    };
    xhr.upload.onload = () => { if (run === ticket) progress(null, `${next}…`, next); };
    xhr.onload = () => {
      if (xhr.status === 401) askForToken();
      resolve({ status: xhr.status, body: xhr.response || {} });
    };
    xhr.onerror = () => resolve({ status: 0, body: { error: "The upload did not reach the server. Is it still running?" } });
    xhr.onabort = () => resolve({ status: -1, body: {} });
    xhr.send(form);
  }).finally(() => { ticket.xhr = null; });
}

function errorText(status, body) {
  return forPage((body && body.error) || `The server answered with status ${status}.`);
}

// A server's sentence for the page's user: the API's names (form fields, endpoints), there for programs that read
// the JSON, left out ("… again (API: /api/predict)." -> "… again.").
function forPage(text) {
  return text.replace(/\s*\(API: [^)]*\)/g, "").replace(/\s*API: form fields? [^.]*\./g, "");
}

// A file over the server's limit, said before it is sent: the server refuses it with 413 as soon as it sees its
// length, but the browser, still sending, often sees a dropped connection instead of that answer.
function overLimit(file) {
  const limit = model.max_upload_mb;
  if (!limit || file.size <= limit * 2 ** 20) return null;
  const kind = mode() === "clip" ? "clip" : "recording";
  return `${file.name} is ${short(file.size / 2 ** 20)} MB, larger than this server's limit of ${short(limit)} MB. ` +
    `Send a shorter ${kind}, or the same at a lower resolution or bitrate (the face is analysed as a small crop: ` +
    "1280x720 is plenty), or ask the person who runs this server to raise the limit (mmnet serve --max-upload-mb).";
}

async function analyse(file) {
  const ticket = begin();
  // that of this tab's job left when the server stopped answering (not another tab's newer one)
  if (localStorage.getItem(JOB_KEY) === tabJob()) localStorage.removeItem(JOB_KEY);
  clearTabJob();  // a reload no longer reopens the result shown before
  const tooLarge = overLimit(file);
  if (tooLarge) {
    end(ticket);
    return showError(tooLarge);
  }
  progress(0, `Uploading ${file.name}…`, "Uploading");
  const form = new FormData();
  form.append("file", file, file.name);
  if (mode() === "clip") {
    for (const name of ["onset", "apex"]) if ($(name).value !== "") form.append(name, $(name).value);
    const { status, body } = await post("api/predict", form, ticket, "Analysing");
    if (run !== ticket) return; // cancelled, or another upload began
    end(ticket);
    if (status === 401) return hideProgress();  // access.js asks for the token
    if (status !== 200) return showError(errorText(status, body));
    $("progress").hidden = true;
    setTabJob(body.id, { name: body.source || file.name, kind: "clip" });  // a reload shows it again
    showClip(body);
  } else {
    if ($("fps").value !== "") form.append("fps", $("fps").value);
    const { status, body } = await post("api/recordings", form, ticket, WAITING_TO_START);
    if (run !== ticket) return;
    if (status !== 202) {
      end(ticket);
      return status === 401 ? hideProgress() : showError(errorText(status, body));
    }
    // the server's name of it (a long one shortened, as its result's heading and downloads are named)
    keepJob(body.id, body.name || file.name);
    follow(body.id, ticket, body.name || file.name);
  }
}

// A job waiting for a worker: whose analysis it waits behind, said under the progress. One of this browser's (another
// tab's, or a closed tab's) is named, with a button to cancel it; else it is someone else's, which the page cannot
// cancel. Asked at most every few seconds (the server sends the state 4 times a second).
const WHO_EVERY_MS = 3000;
async function whoRuns(ticket, stage) {
  if (ticket.askedAt && Date.now() - ticket.askedAt < WHO_EVERY_MS) return;
  ticket.askedAt = Date.now();
  const ahead = [];
  for (const [id, name] of Object.entries(ownJobs())) {
    if (id === ticket.jobId) continue;
    let r, body;
    try {
      r = await api(`api/jobs/${encodeURIComponent(id)}`);
      body = await r.json();
    } catch (e) {
      return;
    }
    if (r.status === 404 || (r.ok && (body.status === "done" || body.status === "failed"))) forgetJob(id);
    else if (r.ok && body.status === "running") ahead.push([id, name || body.name]);  // not one waiting too
  }
  if (run !== ticket) return;
  $("waiting").hidden = false;
  const button = $("cancel-other");
  button.hidden = !ahead.length;
  if (ahead.length) {
    const [id, name] = ahead[0];
    $("waiting-text").textContent = `It waits for an analysis started in this browser, of ${name} (in another tab, ` +
      "or in a tab closed since): cancel that one to start this one now.";
    button.textContent = `Cancel the analysis of ${name}`;
    button.dataset.id = id;
  } else {
    $("waiting-text").textContent = "It waits for someone else's analysis on this server to end (this page cannot " +
      "cancel theirs), then starts.";
  }
  // said with the stage (the note alone, shown late, is not read), again only when it changes
  const said = `${stage}. ${$("waiting-text").textContent}`;
  if (ticket.waitSaid !== said) {
    ticket.waitSaid = said;
    announce(said);
  }
}

// Cancel the job of this browser that the one shown waits for (its id on the button).
async function cancelOther() {
  const id = $("cancel-other").dataset.id;
  hideWaiting();
  forgetJob(id);
  try {
    await api(`api/jobs/${encodeURIComponent(id)}`, { method: "DELETE" });
  } catch (e) {
    return showError(NO_ANSWER);
  }
  if (run) Object.assign(run, { askedAt: 0, waitSaid: null });  // asked (and said) again at the next state
  announce("The other analysis was cancelled.");
}

// A job's server-sent events, read by fetch (an EventSource cannot send the token): `onData` gets the data of each.
// Resolves when the server ends them, rejects when they cannot be read; ticket.events.close() stops them.
async function readEvents(url, ticket, onData) {
  const stop = new AbortController();
  ticket.events = { close: () => stop.abort() };
  const r = await api(url, { signal: stop.signal, headers: { Accept: "text/event-stream" } });
  if (!r.ok || !r.body) throw new Error(`The server answered with status ${r.status}.`);
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const events = (buffer + value).split(/\r?\n\r?\n/);
    buffer = events.pop();  // the start of an event still coming
    for (const event of events) {
      const data = event.split(/\r?\n/).filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, "")).join("\n");
      if (data) onData(data);
    }
  }
}

// Follow a job by server-sent events (polling once they end or fail), then show its result: a recording's just
// uploaded, or, `opening` (a reload, a new tab, an address with #job=ID), a job of any kind, running or ended.
function follow(id, ticket, name, opening = false) {
  ticket.jobId = id;
  ticket.name = name || ownJobs()[id] || "";
  setTabJob(id, { name: ticket.name, adopted: Boolean(ticket.adopted) });
  const url = `api/jobs/${encodeURIComponent(id)}`;
  // The upload filled the first half of the bar; the analysis fills the second.
  if (opening) progress(null, `Opening ${ticket.name ? `the analysis of ${ticket.name}` : "the analysis"}…`, "Opening");
  else progress(0.5, `${WAITING_TO_START}…`, WAITING_TO_START);
  // The job is gone from the server (404): said with its file's name, and no longer reopened by a reload.
  const failed = (status, body) => {
    if (status === 404) clearTabJob();
    showError(named(errorText(status, body), id, ticket.name));
  };
  // The server stopped answering: say so and give the controls back. The job's id stays for a reload.
  const unreachable = () => {
    if (run !== ticket) return;
    finished = true;
    run = null;
    if (ticket.events) ticket.events.close();
    clearTimeout(ticket.timer);
    showError(`${NO_ANSWER} Once it answers again, reload the page to see the result of ` +
      `${ticket.name || "this analysis"}.`);
  };
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    ticket.events.close();
    let r, body;
    try {
      r = await api(`${url}/result`);
      body = await r.json();
    } catch (e) {
      return unreachable();
    }
    if (run !== ticket) return;
    end(ticket);
    if (r.status !== 200) return failed(r.status, body);
    $("progress").hidden = true;
    if (Array.isArray(body.intervals)) return showRecording(body, id);
    showClip({ ...body, id });
  };
  const update = (s) => {
    if (run !== ticket) return;
    if (s.name && !ticket.name) {  // a job opened by its address alone: its file's name, from the server
      ticket.name = s.name;
      setTabJob(id, { name: s.name });
    }
    if (s.kind && s.kind !== tabInfo().kind) {  // e.g. a clip's job, opened again
      document.querySelector(`input[name=mode][value=${s.kind}]`).checked = true;
      setMode();
      setTabJob(id, { kind: s.kind });
    }
    const running = s.status !== "done" && s.status !== "failed";  // its end is said by the result or the error
    const done = s.progress !== null ? ` (${Math.round(s.progress * 100)} % of the analysis${timeLeft(s.eta_s)})` : "";
    const waiting = running && s.stage.startsWith("Waiting");
    if (waiting) {  // the stage is said by whoRuns, with whose analysis it waits for and what to do
      const stage = stageName(s.stage);
      if (spoken.stage !== stage) spoken = { stage, quarter: -1, at: Date.now(), percent: null };
      whoRuns(ticket, stage);
    } else if (running) hideWaiting();
    if (running) {
      const bar = s.progress === null ? null : 0.5 + 0.5 * s.progress;
      progress(bar, `${s.stage}${done}`, stageName(s.stage), s.progress);
    }
    if (s.status === "failed" && s.error) {  // said by the event itself: a server that stops keeps no result
      finished = true;
      if (ticket.events) ticket.events.close();
      clearTimeout(ticket.timer);
      end(ticket);
      if (s.error_code === "job_deleted") clearTabJob();
      return showError(named(forPage(s.error), id, ticket.name));
    }
    if (s.status === "done" || s.status === "failed") finish();
  };
  const poll = async () => {
    if (finished || run !== ticket) return;
    let r, body;
    try {
      r = await api(url);
      body = await r.json();
    } catch (e) {
      return unreachable();
    }
    if (run !== ticket) return;
    if (r.status !== 200) {  // e.g. gone while the page was reloaded: the server's sentence says why
      end(ticket);
      return r.status === 401 ? hideProgress() : failed(r.status, body);
    }
    update(body);
    ticket.timer = setTimeout(poll, 1000);
  };
  // events ended without the job's end (or could not be read): the state, polled, says what became of it
  readEvents(`${url}/events`, ticket, (data) => update(JSON.parse(data))).catch(() => {}).then(poll);
}

// The object URLs of the pictures shown, revoked once their result leaves the page.
const pictures = [];

// Why the server no longer has the result shown (its answer `r`, not ok), with its file named: the server's
// sentence (deleted, expired, removed to make room), else how long it keeps results.
async function goneText(r) {
  const body = await r.json().catch(() => ({}));
  const kept = model.result_ttl_s ? ` The server keeps results for ${keptFor()}.` : "";
  if (!body.error) return `This result has expired on the server.${kept}`;
  return current ? named(errorText(r.status, body), current.id || current.data.id, current.data.source, true)
    : errorText(r.status, body);
}

// Show the picture at the API's `url` in `img` (and as `link`'s target): fetched with the token, as a blob. One the
// server no longer has (the result expired or was deleted): hidden, and its detail says why, once.
async function picture(img, url, link) {
  if (!url) return;
  let blob;
  try {
    const r = await api(here(url));
    if (r.status === 401) return;  // access.js asks for the token
    if (!r.ok) {
      const why = `The pictures could not be shown. ${await goneText(r)}`;
      img.closest("figure").hidden = true;
      const box = img.closest(".detail");
      if (box && !box.querySelector(".pictures-gone")) {
        const note = document.createElement("p");
        note.className = "warning pictures-gone";
        note.textContent = why;
        box.prepend(note);
        announce(why);
      }
      return;
    }
    blob = await r.blob();
  } catch (e) {
    return;  // the text alternative stays
  }
  const src = URL.createObjectURL(blob);
  pictures.push(src);
  img.src = src;
  if (link) link.href = src;
}

function forgetPictures() {
  for (const src of pictures.splice(0)) URL.revokeObjectURL(src);
}

// A note of the result as a sentence: capitalised, with its full stop. A note that begins with a file name
// ("vfr.mp4: ...", "frames/img_1.png ...") keeps the name as it is written.
function sentence(note) {
  const named = /^[^\s:]+\.[A-Za-z0-9]+(:|\s|$)/.test(note);
  note = forPage(note);
  return (named ? note : note.charAt(0).toUpperCase() + note.slice(1)) + (note.endsWith(".") ? "" : ".");
}

// A recording's stretches without a face, for its summary: "frames 0–59 (0:00.000–0:02.000): no face, not analysed",
// from the first frame's start to the last one's end (first_s, end_s: the CSV's).
// `at(frame, seconds)`: the seconds the result gives (a video's frame times), else the frame's at the rate.
const MAX_GAPS_SAID = 10;
function gapSentences(data, at) {
  const gaps = data.gaps || [];
  const said = gaps.slice(0, MAX_GAPS_SAID).map((g) =>
    ` ${sentence(`frames ${g.first}–${g.last} (${at(g.first, g.first_s)}–${at(g.last + 1, g.end_s)}): no face, ` +
    "not analysed")}`);
  const more = gaps.length - said.length;
  return said.join("") + (more > 0 ? ` ${more} more stretch${more === 1 ? "" : "es"} without a face ` +
    "(listed in the CSV and JSON)." : "");
}

// One prediction: verdict, onset and apex crops, score bars, attention figure. `what` names it in the
// attention figure's text alternative ("clip.mp4", "session.mp4, interval 2").
function detail(data, files, prefix, what) {
  const node = $("detail-template").content.firstElementChild.cloneNode(true);
  const label = data.label || "not classified";
  node.querySelector(".label").textContent = label;
  node.querySelector(".swatch").style.background = colour(data.label);
  if (data.label) node.querySelector(".p").textContent = `(score ${percent(data.probabilities[data.label])})`;
  if (data.label && model.note) {  // under the class: what the model's classes are worth
    node.querySelector(".model-note").hidden = false;
    node.querySelector(".model-note").textContent = model.note;
  }
  node.querySelector(".frames").textContent = `onset frame ${data.onset}, apex frame ${data.apex}` +
    (data.apex_spotted ? " (found automatically: the largest motion after the onset)" : "");
  picture(node.querySelector("img.onset"), files[`${prefix}onset.png`]);
  picture(node.querySelector("img.apex"), files[`${prefix}apex.png`]);
  if (data.probabilities) bars(node.querySelector("svg.bars"), data.probabilities, data.label, colour);
  else node.querySelector("figure.chart").hidden = true;
  const attention = files[`${prefix}attention.png`];
  if (attention) {
    const image = node.querySelector("img.attention");
    picture(image, attention, node.querySelector("a.attention-link"));
    const gates = model.attention === false  // a model without attention blocks: a note where the gates would be
      ? "below, a note: this model has no attention blocks, so no attention gates to draw"
      : `below, the attention gates of four stages of the motion branch, the same for every class (not evidence for ${label})`;
    image.alt = `Figure for ${what} (predicted ${label}): onset, apex, motion and the Grad-CAM map of ${label} (class-specific but coarse) above; ${gates}`;
    node.querySelector(".model-caption").textContent = model.caption || "";  // written on the figure as pixels
    const words = data.figure_text;  // the heading's and panels' words, pixels only on the figure
    if (words) {
      const said = [];
      if (words.heading) said.push(`The figure's heading: ${sentence(words.heading)}`);
      if ((words.titles || []).length) said.push(`Its panels' titles: ${sentence(words.titles.join("; "))}`);
      node.querySelector(".figure-text").hidden = !said.length;
      node.querySelector(".figure-text").textContent = said.join(" ");
    }
    if (data.deletion_check && data.deletion_check.skipped) {  // mmnet serve --no-deletion-check: said, not left out
      node.querySelector(".attention-note").hidden = false;
      node.querySelector(".attention-note").textContent = sentence(data.deletion_check.note);
    } else if (data.deletion_check && data.deletion_check.verdict) {  // the heading's reading, as text too
      node.querySelector(".attention-note").hidden = false;
      node.querySelector(".attention-note").textContent = sentence(`Grad-CAM deletion check: ${data.deletion_check.verdict}`);
    }
  } else {
    node.querySelector(".attention-figure").hidden = true;
    node.querySelector(".attention-note").hidden = false;
    node.querySelector(".attention-note").textContent = data.note ? sentence(data.note) : "No attention figure was drawn for this result.";
  }
  return node;
}

// The whole result as JSON and CSV, named after the upload; figures: [link text, URL, file name] each.
function downloads(data, id, name, figures) {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  $("dl-json").href = URL.createObjectURL(blob);
  $("dl-json").download = `${name}.json`;
  $("dl-csv").href = `api/jobs/${id}/result?format=csv&bom=1`; // the BOM: Excel opens it as UTF-8
  $("dl-csv").download = `${name}.csv`;
  $("dl-excel").href = $("dl-csv").href;  // the same CSV, rewritten by the page as it is saved (forExcel)
  $("dl-excel").download = `${name}-excel.csv`;
  $("dl-png").replaceChildren();
  for (const [text, url, file] of figures) {
    if (!url) continue;
    const a = document.createElement("a");
    a.href = here(url);
    a.download = file;
    a.textContent = text;
    $("dl-png").append(" · ", a);
  }
  $("download-error").hidden = true;
  // face crops in the figures: theirs to publish only as the recordings' agreement allows
  $("faces-note").hidden = !data.faces_note;
  $("faces-note").textContent = data.faces_note ? sentence(data.faces_note) : "";
}

// A download from the server (CSV, PNG) fetched first: once the result has expired, the browser would save
// the server's error as the file, or nothing; the page says instead why, and what to do.
async function serverDownload(event) {
  const a = event.target.closest("a");
  if (!a || !a.href.includes("api/jobs/")) return;
  event.preventDefault();
  const failed = (why) => {
    $("download-error").hidden = false;
    $("download-error").textContent = `${a.download} could not be downloaded. ${why}`;
  };
  let r;
  try {
    r = await api(a.href);
  } catch (e) {
    return failed(NO_ANSWER);
  }
  if (r.status === 401) return failed("");  // access.js asks for the token
  if (!r.ok) return failed(`${await goneText(r)} Analyse the file again to download its result.`);
  $("download-error").hidden = true;
  const save = document.createElement("a");
  const blob = "excel" in a.dataset
    ? new Blob([`\ufeff${forExcel((await r.text()).replace(/^\ufeff/, ""))}`], { type: "text/csv" }) : await r.blob();
  save.href = URL.createObjectURL(blob);
  save.download = a.download;
  save.click();
  setTimeout(() => URL.revokeObjectURL(save.href), 60_000);
}

// A CSV (commas, '.' as the decimal point) as Excel set to a European locale opens it with a double click: cells
// separated by ';', numbers with a decimal comma (0.35 -> 0,35, which it would otherwise read as a date or as 35).
// Text cells are kept as they are, quoted where they hold ';', '"' or a line break. A recording's gets two last
// columns, onset_hms and end_hms: its onset_s and end_s as the page shows them (m:ss.mmm).
function forExcel(text) {
  const rows = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  const [on, end] = [rows[0].indexOf("onset_s"), rows[0].indexOf("end_s")];
  if (on >= 0 && end >= 0) {
    rows[0].push("onset_hms", "end_hms");
    const hms = (v) => (v === "" || v === undefined ? "" : clock(Number(v)));
    for (const r of rows.slice(1)) r.push(hms(r[on]), hms(r[end]));
  }
  const number = /^-?\d+\.\d+(e[-+]?\d+)?$/i;
  const out = (v) => (number.test(v) ? v.replace(".", ",") : /[;"\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return rows.map((r) => r.map(out).join(";")).join("\r\n") + "\r\n";
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

// The result shown: said through the status region, its heading focused (it appears after the progress).
function resultReady(what) {
  announce(`Result ready: ${what}`);
  $("result-heading").focus();
}

function showClip(data) {
  current = { kind: "clip", data };
  $("result").hidden = false;
  $("result-name").textContent = `— ${data.source}`;
  $("recording-result").hidden = true;
  const box = $("clip-result");
  box.hidden = false;
  box.replaceChildren(detail(data, data.files, "", data.source));
  // the model's note is under the class already (detail)
  const notes = (data.warnings || (data.warning ? [data.warning] : [])).filter((note) => note !== model.note);
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
  resultReady(data.label ? `${data.label}, score ${percent(data.probabilities[data.label])}` : "not classified");
}

function showRecording(data, id) {
  current = { kind: "recording", data, id };
  $("result").hidden = false;
  $("result-name").textContent = `— ${data.source}`;
  $("clip-result").hidden = true;
  $("recording-result").hidden = false;
  const n = data.intervals.length;
  const found = n ? `${n} interval${n === 1 ? "" : "s"} found` : "No micro- or macro-expression was found";
  const unsearched = tooShort(data);
  const first = data.curve && data.curve.frames.length ? data.curve.frames[0] : 0;  // as the timeline and the CLI
  // the result's seconds where it gives them (a video's own frame times), else the frame's at the rate; to the
  // millisecond, as the CSV (an interval from its onset frame's start to its offset frame's end: onset_s-end_s),
  // shown as a player's clock (m:ss.mmm)
  const seconds = (f, given) => clock(typeof given === "number" ? given : (f - first) / data.fps);
  $("recording-summary").textContent = unsearched + `${found} in ${data.frames} frames ` +
    `(${clock(data.frames / data.fps)} at ${short(data.fps)} frames per second).` + gapSentences(data, seconds) +
    (data.note ? ` ${forPage(data.note)}` : "") +
    (data.notes || []).map((note) => ` ${sentence(note)}`).join("");  // e.g. a recording too short for a scale
  drawTimeline(data);
  for (const id of ["interval-hint", "intervals-key"]) $(id).hidden = !n;
  $("legend").hidden = !n && !(data.gaps || []).length;  // the hatch's key, also where no interval was found
  $("intervals").closest(".table-scroll").hidden = !n;
  const legend = $("legend");
  legend.textContent = "";
  const entry = (text, swatch) => {
    const span = document.createElement("span");
    if (swatch) span.append(swatch);
    span.append(text);
    legend.append(span);
  };
  const box = (background) => {
    const swatch = document.createElement("i");
    swatch.style.background = background;
    return swatch;
  };
  for (const c of model.classes) entry(c, box(colour(c)));
  entry("not classified (a macro-expression)", box(colour(null)));
  if ((data.gaps || []).length) {
    const hatch = box("repeating-linear-gradient(45deg, #8a8f99 0 2px, transparent 2px 5px)");
    entry("no face: not analysed", hatch);
  }
  entry("µ: micro-expression, M: macro-expression");
  if (data.curve) {  // the key of the curves and thresholds the timeline draws (charts.js CURVES)
    const line = lineKey;  // drawn as the timeline draws it: its colour and its dash pattern
    const macro = Array.isArray(data.curve.macro);
    entry(macro ? "micro-expression motion" : "motion", line("line", "micro"));
    if (macro) entry("macro-expression motion", line("line", "macro"));
    for (const scale of macro ? ["micro", "macro"] : ["micro"]) {
      if (typeof (data.thresholds || {})[scale] === "number") {
        entry(`threshold of a ${scale}-expression's motion`, line("dash", scale));
      }
    }
    if (document.querySelector("#timeline .clipped")) entry("▲ a peak above the axis (its value in its tooltip)");
  }
  const body = $("intervals").querySelector("tbody");
  body.textContent = "";
  data.intervals.forEach((iv, k) => {
    const tr = document.createElement("tr");
    tr.dataset.k = k;
    const p = iv.probabilities && iv.label ? percent(iv.probabilities[iv.label]) : unclassified(iv);
    const score = typeof iv.score === "number" ? iv.score.toFixed(3) : "";
    const cells = [k + 1, iv.onset, iv.apex, iv.offset, `${seconds(iv.onset, iv.onset_s)}–${seconds(iv.offset + 1, iv.end_s)}`, iv.type, score,
      iv.label || "not classified", p];
    for (const v of cells) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    // the interval's one tab stop: a button in its "#" cell (a click anywhere on the row does the same)
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `Interval ${k + 1}`;
    button.setAttribute("aria-pressed", "false");
    tr.firstElementChild.replaceChildren(button);
    tr.addEventListener("click", () => select(k, true));
    body.append(tr);
  });
  $("interval-detail").textContent = "";
  downloads(data, id, baseName(data.source), recordingFigures(data));
  if (n) select(0, false);
  resultReady(found);  // short: the summary is the paragraph after the heading that gets focus
}

// Why an interval has no class, in its row: the reason its detail gives at length.
function unclassified(iv) {
  if (iv.type === "macro") return "a macro-expression (the model learnt micro-expressions)";
  if (iv.onset === iv.apex) return "onset = apex: no motion to classify";
  return "no face to classify: see its details";
}

// A recording in which neither scale could be searched (no threshold for either): said first, with the length that
// the shorter window needs, from the server's note ("… shorter than the micro-expression window (9 frames at 30
// fps)"); "" otherwise.
function tooShort(data) {
  const t = data.thresholds;
  if (!t || t.micro !== null || t.macro !== null) return "";
  const window = (data.notes || []).map((note) => /shorter than the micro-expression window \((\d+) frames/.exec(note))
    .find(Boolean);
  if (!window) return "Neither micro- nor macro-expressions could be searched in this recording (see why below). ";
  return `This recording is too short to be searched (${short(data.frames / data.fps)} s; at least ` +
    `${short(Number(window[1]) / data.fps)} s is needed). `;
}

// The timeline, drawn to the width of the page (again when it is resized: the interval shown stays marked). Its
// bands are for the mouse; the table's buttons are their keyboard's and screen readers' way.
function drawTimeline(data) {
  const svg = $("timeline");
  const said = timeline(svg, data, colour);  // the curves, thresholds and peaks cut off, in words
  const n = data.intervals.length;
  svg.setAttribute("aria-label", (n ? `Motion over time; ${n} interval${n === 1 ? "" : "s"}, listed in the table below`
    : "Motion over time; no interval found") + (said ? `; ${said}` : ""));
  svg.querySelectorAll(".interval").forEach((band) => {
    const k = Number(band.dataset.k);
    band.classList.toggle("selected", k === current.shown);
    band.addEventListener("click", () => select(k, true));
  });
}

// Show interval k below the table; `say`: tell the status region so and bring the interval into view.
function select(k, say) {
  const { data, id } = current;
  const iv = data.intervals[k];
  current.shown = k;
  document.querySelectorAll("#timeline .interval, #intervals tbody tr").forEach((node) => {
    node.classList.toggle("selected", Number(node.dataset.k) === k);
  });
  document.querySelectorAll("#intervals tbody tr").forEach((row) => {
    row.querySelector("button").setAttribute("aria-pressed", String(Number(row.dataset.k) === k));
  });
  const box = $("interval-detail");
  const title = document.createElement("h3");
  title.textContent = `Interval ${k + 1}: frames ${iv.onset}–${iv.offset} (${iv.type})`;
  downloads(data, id, baseName(data.source), recordingFigures(data, k));
  if (!iv.files || !iv.files[`interval-${k}-onset.png`]) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = forPage(iv.note || data.note || "No pictures for this interval.");
    box.replaceChildren(title, note);
  } else {
    box.replaceChildren(title, detail({ ...iv, apex_spotted: false }, iv.files, `interval-${k}-`,
      `${data.source}, interval ${k + 1}`));
  }
  if (!say) return;
  announce(`Interval ${k + 1} shown below the table: ${iv.type}, ${iv.label || "not classified"}`);
  box.scrollIntoView({ block: "nearest" });
}

// Delete the result shown from the server (DELETE /api/jobs/ID): its result and pictures are forgotten now rather
// than when they expire. The result leaves the page too; focus goes to the file control, the status region says so.
async function deleteResult() {
  if (!current) return;
  const id = current.id || current.data.id, name = current.data.source;
  let r;
  try {
    r = await api(`api/jobs/${id}`, { method: "DELETE" });
  } catch (e) {
    return showError(NO_ANSWER);
  }
  if (r.status !== 204 && r.status !== 404) {  // 404: gone already (expired, or removed to make room)
    const body = await r.json().catch(() => ({}));
    return showError(`The result could not be deleted. ${errorText(r.status, body)}`);
  }
  URL.revokeObjectURL($("dl-json").href);
  forgetPictures();
  if (tabJob() === id) clearTabJob();  // a reload does not look for it
  current = null;
  $("result").hidden = true;
  $("file").focus();
  showNote(`The result of ${name} was deleted from the server. Choose or drop a file to analyse.`);
}

function setup() {
  document.querySelectorAll("input[name=mode]").forEach((r) => r.addEventListener("change", setMode));
  setMode();
  const drop = $("drop"), input = $("file");
  input.addEventListener("change", () => { if (input.files.length) analyse(input.files[0]); input.value = ""; });
  $("cancel").addEventListener("click", cancel);
  $("cancel-other").addEventListener("click", cancelOther);
  for (const id of Object.keys(FIELD_NAMES)) $(id).addEventListener("input", () => unmarkField($(id)));
  // Leaving (closing the tab, going elsewhere) while an analysis runs: the browser asks first, in its own words.
  // The job goes on on the server; a new tab of this browser follows it again.
  window.addEventListener("beforeunload", (e) => {
    if (!run) return;
    e.preventDefault();
    e.returnValue = "";
  });
  $("delete-result").addEventListener("click", deleteResult);
  $("result").querySelector(".downloads").addEventListener("click", serverDownload);
  // A file dropped anywhere on the page is analysed: the browser would otherwise open it in place of the page.
  window.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  window.addEventListener("dragleave", (e) => { if (!e.relatedTarget) drop.classList.remove("over"); });
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const files = e.dataTransfer ? e.dataTransfer.files : [];
    if (files.length > 1) {
      showNote(`${files.length} files were dropped: the page analyses one file at a time. Drop them one by one.`);
    } else if (files.length) analyse(files[0]);
  });
  window.addEventListener("resize", () => { if (current && current.kind === "recording") drawTimeline(current.data); });
  // A reload, Back or Forward: the job in the address, else the tab's own (sessionStorage), followed again or its
  // result reopened; only a new tab with neither takes up the newest running job of the browser (another tab's).
  const start = () => loadModel().then((allowed) => {
    const own = tabJob(), id = jobInAddress() || own || localStorage.getItem(JOB_KEY);
    if (allowed) forgetEndedJobs(id);
    if (!allowed || !id) return;
    const info = id === own ? tabInfo() : {};
    // a recording's, unless the tab knows it is a clip's (the server's state says which, once it answers)
    document.querySelector(`input[name=mode][value=${info.kind === "clip" ? "clip" : "recording"}]`).checked = true;
    setMode();
    const ticket = begin();
    ticket.adopted = id === own ? Boolean(info.adopted) : true;  // a new tab's or a link's: not a reload's
    follow(id, ticket, info.name, true);
    if (!ticket.adopted && tabs) tabs.postMessage({ ask: id });  // a copy of the tab that started it?
  });
  // Another #job=ID typed or pasted in the address (no reload of its own): opened as a reload opens it. The
  // printed address (#token=...) pasted into an open page: its token kept, the tab's job back in the address.
  window.addEventListener("hashchange", () => {
    if (takeToken()) {
      toAddress(tabJob());
      if (!$("login").hidden) {
        $("login").hidden = true;
        onToken();
      }
      return;
    }
    const id = jobInAddress();
    if (id && id !== tabJob()) location.reload();
  });
  onToken = start;  // a token pasted after a 401: describe the model (and follow the job) now
  start();
}

setup();
