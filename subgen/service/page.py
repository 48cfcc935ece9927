"""The web page at ``/``: plain HTML and JavaScript served by the app, no build step and nothing fetched from
elsewhere. It submits a file or a server-side path, lists the jobs with live progress (polling ``/v1/jobs``), and
previews a finished job in an HTML5 video element with its subtitles as a WebVTT ``<track>``. Text from jobs is
only ever set as ``textContent``, never parsed as HTML. With ``--token``, the browser asks for it once (HTTP
Basic auth, any user name, the token as password) and sends it with every request, media and tracks included.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>subgen</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
  form { display: flex; gap: .5rem; margin: .5rem 0; flex-wrap: wrap; }
  input[type=text] { flex: 1; min-width: 12rem; padding: .3rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; vertical-align: middle; }
  td.source { max-width: 22rem; overflow-wrap: anywhere; }
  .failed, .error { color: #a00; } .done { color: #070; }
  video { width: 100%; max-height: 24rem; background: #000; }
  pre { white-space: pre-wrap; background: #f6f6f6; padding: .5rem; max-height: 16rem; overflow: auto; }
</style>
</head>
<body>
<h1>subgen</h1>
<section>
  <form id="upload-form">
    <input type="file" id="file" accept="audio/*,video/*" required>
    <input type="text" id="language" placeholder="language code (blank: detect)">
    <button type="submit" id="upload-button">Subtitle file</button>
  </form>
  <form id="path-form">
    <input type="text" id="path" placeholder="server-side file or folder under --allow-root" required>
    <button type="submit" id="path-button">Subtitle path</button>
  </form>
  <p id="message" role="status"></p>
</section>
<section>
  <h2>Jobs</h2>
  <table id="jobs">
    <thead><tr><th>Job</th><th>Source</th><th>State</th><th>Progress</th><th></th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<section id="preview-section" hidden>
  <h2>Preview: <span id="preview-title"></span></h2>
  <video id="preview" controls preload="metadata"></video>
  <pre id="preview-text"></pre>
</section>
<script>
"use strict";
const $ = (selector) => document.querySelector(selector);

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Error((body && body.error && body.error.message) || response.statusText);
  return body;
}

function say(text, isError = false) {
  const message = $("#message");
  message.textContent = text;
  message.className = isError ? "error" : "";
}

function jobOptions() {
  const language = $("#language").value.trim();
  return language ? { language } : {};
}

async function submit(body, headers = {}) {
  try {
    const job = await api("/v1/jobs", { method: "POST", body, headers });
    say(`Job ${job.id}: ${job.state}`);
    await refresh();
  } catch (error) {
    say(error.message, true);
  }
}

$("#upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData();
  form.append("file", $("#file").files[0]);
  form.append("options", JSON.stringify(jobOptions()));
  submit(form);
});

$("#path-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = JSON.stringify({ path: $("#path").value.trim(), options: jobOptions() });
  submit(body, { "Content-Type": "application/json" });
});

function cell(row, text, className = "") {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function button(td, label, action) {
  const b = document.createElement("button");
  b.textContent = label;
  b.addEventListener("click", action);
  td.appendChild(b);
}

function progressCell(row, job) {
  const td = row.insertCell();
  const p = job.progress;
  const bar = document.createElement("progress");
  bar.max = Math.max(p.audio_seconds_known, 0.001);
  bar.value = job.state === "done" ? bar.max : p.audio_seconds_done;
  const items = p.items_total ? ` (${p.items_done}/${p.items_total} items)` : "";
  const label = document.createElement("span");
  label.textContent = ` ${p.audio_seconds_done.toFixed(1)} s${items}`;
  td.append(bar, label);
}

function jobRow(tbody, job) {
  const row = tbody.insertRow();
  row.dataset.jobId = job.id;
  cell(row, job.id);
  cell(row, job.source, "source");
  const state = cell(row, job.state + (job.error ? `: ${job.error}` : ""), `state ${job.state}`);
  state.dataset.state = job.state;
  progressCell(row, job);
  const actions = row.insertCell();
  if (job.state === "done") button(actions, "Preview", () => preview(job));
  if (job.state === "queued" || job.state === "running") {
    const cancel = () => api(job.links.cancel, { method: "POST" }).then(refresh, (e) => say(e.message, true));
    button(actions, "Cancel", cancel);
  }
}

async function refresh() {
  try {
    const list = await api("/v1/jobs?limit=50");
    const tbody = $("#jobs tbody");
    tbody.replaceChildren();
    list.data.forEach((job) => jobRow(tbody, job));
  } catch (error) {
    say(error.message, true);
  }
}

async function preview(job) {
  const item = job.items.find((i) => i.results.length) || { index: 0, results: ["en"] };
  const language = item.results[0];
  const subtitles = `/v1/jobs/${job.id}/result?format=vtt&item=${item.index}&language=${language}`;
  const video = $("#preview");
  video.replaceChildren();
  if (job.links.media) video.src = `${job.links.media}?item=${item.index}`;
  const track = document.createElement("track");
  track.kind = "subtitles";
  track.label = `subgen (${language})`;
  track.srclang = language;
  track.src = subtitles;
  track.default = true;
  video.appendChild(track);
  track.track.mode = "showing";
  $("#preview-title").textContent = job.source;
  $("#preview-text").textContent = await api(subtitles);
  $("#preview-section").hidden = false;
}

refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
"""
