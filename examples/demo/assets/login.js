// The login page: tDAR form login with a cookie session (the cookie is HttpOnly: this script
// never sees it; the browser sends it with every same-origin request).
"use strict";

const statusBox = document.getElementById("status");
const loginForm = document.getElementById("login");
const logoutForm = document.getElementById("logout");
const errorBox = document.getElementById("error");

function show(user) {
  if (user) {
    statusBox.textContent = "Logged in as " + user.username + (user.email ? " (" + user.email + ")" : "");
    statusBox.dataset.state = "logged-in";
    loginForm.hidden = true;
    logoutForm.hidden = false;
  } else {
    statusBox.textContent = "Not logged in.";
    statusBox.dataset.state = "logged-out";
    loginForm.hidden = false;
    logoutForm.hidden = true;
  }
}

async function refreshStatus() {
  try {
    const answer = await fetch("/api/whoami", { credentials: "same-origin", cache: "no-store" });
    show(answer.ok ? await answer.json() : null);
  } catch (error) {
    statusBox.textContent = "The server cannot be reached.";
  }
}

// The error messages of tDAR's XML answer (<tdar:errors>).
function errorsOf(xmlText) {
  const doc = new DOMParser().parseFromString(xmlText, "application/xml");
  const messages = Array.from(doc.getElementsByTagNameNS("http://www.tdar.org/namespace", "errors"))
    .map((node) => node.textContent.trim())
    .filter((text) => text.length > 0);
  return messages.length ? messages.join(" ") : "Login failed.";
}

loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.textContent = "";
  // The form's own fields, form-urlencoded, as the Struts action expects them.
  const body = new URLSearchParams(new FormData(loginForm));
  try {
    const answer = await fetch(loginForm.action, { method: "POST", body, credentials: "same-origin" });
    if (!answer.ok) {
      errorBox.textContent = errorsOf(await answer.text());
      show(null);
      return;
    }
    loginForm.reset();
    await refreshStatus();
  } catch (error) {
    errorBox.textContent = "The server cannot be reached.";
  }
});

logoutForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await fetch(logoutForm.action, { method: "POST", credentials: "same-origin" });
  } finally {
    await refreshStatus();
  }
});

refreshStatus();
