// miniSASS (SimpleJWT) from JavaScript. The tokens live in this closure only: never in
// localStorage, sessionStorage or cookies, so they are gone when the page is closed.
"use strict";

const API = "/authentication/api/";
const REFRESH_AT = 0.8; // of the access token's lifetime

const el = (id) => document.getElementById(id);
let tokens = null; // { access, refresh }
let refreshTimer = null;
let refreshes = 0;

// The claims of a JWT (its middle part, base64url JSON). Only read for `exp` and `iat`:
// the server verifies tokens, this page only schedules the refresh.
function claimsOf(jwt) {
  const part = jwt.split(".")[1] || "";
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  return JSON.parse(atob(base64));
}

async function call(path, { method = "GET", body, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && tokens) headers.Authorization = "Bearer " + tokens.access;
  const answer = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  let json = null;
  try {
    json = await answer.json();
  } catch (error) {
    json = null;
  }
  return { ok: answer.ok, status: answer.status, json };
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const claims = claimsOf(tokens.access);
  const lifetime = Math.max(1, claims.exp - claims.iat); // seconds
  el("expires").textContent = new Date(claims.exp * 1000).toLocaleTimeString();
  refreshTimer = setTimeout(refresh, lifetime * REFRESH_AT * 1000);
}

function showLoggedOut(message) {
  clearTimeout(refreshTimer);
  tokens = null;
  el("status").textContent = message || "Not logged in.";
  el("status").dataset.state = "logged-out";
  el("session").hidden = true;
  el("login").hidden = false;
}

async function checkStatus() {
  const answer = await call("check-auth-status/");
  if (!answer.ok) {
    showLoggedOut("Not logged in (the server refused the access token).");
    return;
  }
  const who = answer.json;
  el("status").textContent = "Logged in as " + who.username + " (check-auth-status: authenticated)";
  el("status").dataset.state = "logged-in";
  el("auth-status").textContent = JSON.stringify(who, null, 2);
  el("session").hidden = false;
  el("login").hidden = true;
}

async function refresh() {
  if (!tokens) return;
  const answer = await call("refresh/", { method: "POST", body: { refresh: tokens.refresh }, auth: false });
  if (!answer.ok) {
    showLoggedOut("Logged out: the session could not be renewed.");
    return;
  }
  // With rotation (the default) a new refresh token comes too; the old one is spent.
  tokens = { access: answer.json.access, refresh: answer.json.refresh || tokens.refresh };
  refreshes += 1;
  el("refreshes").textContent = String(refreshes);
  scheduleRefresh();
  await checkStatus();
}

el("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  el("error").textContent = "";
  const body = { username: el("username").value, password: el("password").value };
  const answer = await call("token/", { method: "POST", body, auth: false });
  if (!answer.ok) {
    el("error").textContent = (answer.json && answer.json.detail) || "Login failed.";
    return;
  }
  tokens = { access: answer.json.access, refresh: answer.json.refresh };
  el("login").reset();
  refreshes = 0;
  el("refreshes").textContent = "0";
  scheduleRefresh();
  await checkStatus();
});

el("check").addEventListener("click", checkStatus);

el("logout").addEventListener("click", async () => {
  if (tokens) {
    // Ends the session: the refresh token and every access token of it stop working.
    await call("logout/", { method: "POST", body: { refresh: tokens.refresh } });
  }
  showLoggedOut("Logged out.");
});
