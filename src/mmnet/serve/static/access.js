// The access token of a server started with `mmnet serve --token`. The address it prints carries the token in its
// fragment (/#token=...), which the browser never sends to a server: this script keeps it for the tab
// (sessionStorage), takes it out of the address bar, and the page sends it as "Authorization: Bearer" with each of
// its requests to the API. There is no cookie: a browser sends a cookie of 127.0.0.1 to every port of it, so also
// to a server another account on this computer runs there.
"use strict";

const TOKEN_KEY = "mmnet-token";
const NEEDS_TOKEN = "This server needs its access token: open the address printed when it started (it ends in " +
  "#token=…), or paste the token below.";

// The token of the address, kept; the address shown (and this entry of the history) without it. True if there was
// one (app.js calls it again when the address is pasted into an open page, which loads nothing).
function takeToken() {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (!match) return false;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(history.state, "", location.pathname + location.search);
  return true;
}
takeToken();

function authorization() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// What to do once a token is pasted (app.js: describe the model again).
let onToken = () => {};

// The server answered 401: the token is missing or wrong. Say so, with a field to paste it; focus goes there (the
// field is described by the message: a screen reader reads both, without one more live region on the page).
function askForToken() {
  const given = sessionStorage.getItem(TOKEN_KEY) !== null;
  sessionStorage.removeItem(TOKEN_KEY);
  const box = document.getElementById("login");
  if (!box.hidden) return;
  box.hidden = false;
  document.getElementById("login-text").textContent =
    (given ? "The server refused the access token this page had. " : "") + NEEDS_TOKEN;
  document.getElementById("token").focus();
}

// fetch(url, options) with the token, if the page has one; a 401 asks for it.
async function api(url, options = {}) {
  const r = await fetch(url, { ...options, headers: { ...authorization(), ...(options.headers || {}) } });
  if (r.status === 401) askForToken();
  return r;
}

document.getElementById("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const field = document.getElementById("token");
  const token = field.value.trim().replace(/^.*#token=/, "");  // the whole printed address works too
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  field.value = "";
  document.getElementById("login").hidden = true;
  onToken();
});
