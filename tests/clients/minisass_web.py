#!/usr/bin/env python
# The miniSASS web app's authentication calls (AuthContext.tsx, AuthenticationButtons,
# PrivacyConsentModal, UserForm/EditProfile.tsx, UserForm/EditPassword.tsx), made the way its
# browser makes them: a requests.Session is the browser's cookie jar (it keeps the sessionid
# cookie as the server sets and clears it), `local_storage` and `axios_defaults` are what the
# app keeps in localStorage and in axios' default headers. The test replaces the base URL.
# Arguments: e-mail address, password, a new password.

import sys

import requests

base_url = "http://minisass.example.org"
email, password, new_password = sys.argv[1], sys.argv[2], sys.argv[3]

browser = requests.Session()
browser.headers.update({"Accept": "application/json, text/plain, */*", "Sec-Fetch-Site": "same-origin"})
local_storage = {}
axios_defaults = {}


def get(path, headers=None):
    return browser.get(f"{base_url}{path}", headers={**axios_defaults, **(headers or {})})


def post(path, body=None):
    # Browsers send Origin on every POST; axios.post(url) without data sends no body.
    headers = {"Origin": base_url, **axios_defaults}
    if body is None:
        return browser.post(f"{base_url}{path}", headers=headers)
    return browser.post(f"{base_url}{path}", json=body, headers=headers)


def page_load():
    # AuthContext's checkAuthStatus: the stored token, or the literal dummy-token.
    stored = local_storage.get("authState", {}).get("userData", {}).get("access_token") or "dummy-token"
    response = get("/authentication/api/check-auth-status/", {"Authorization": f"Bearer {stored}"})
    if response.status_code == 200:
        user_data = response.json()
        local_storage["authState"] = {"userData": user_data}
        axios_defaults["Authorization"] = f"Bearer {user_data['access_token']}"
    return response


print("first visit", page_load().status_code)

login = post("/authentication/api/login/", {"email": email, "password": password, "usernameForEmailRetrieval": ""})
user_data = login.json()
local_storage["authState"] = {"userData": user_data}
axios_defaults["Authorization"] = f"Bearer {user_data['access_token']}"
print("login", login.status_code, "sessionid" in browser.cookies,
      user_data["is_profile_updated"], user_data["is_agreed_to_privacy_policy"])

reload = page_load()
print("reload", reload.status_code, reload.json()["email"])

# Another tab logged out of localStorage (or it was cleared): the cookie keeps the session.
local_storage.clear()
axios_defaults.clear()
reload = page_load()
print("reload without storage", reload.status_code, reload.json()["email"])

profile = get("/authentication/api/user/update/")
form = profile.json()
form["organisation_name"] = "River Watch"
saved = post("/authentication/api/user/update/", form)
print("profile", profile.status_code, saved.status_code, saved.json()["organisation_name"])

changed = post("/authentication/api/user/password/update/",
               {"old_password": password, "password": new_password, "confirm_password": new_password})
print("password", changed.status_code, changed.json())
print("still signed in", page_load().status_code)

# AuthContext.logout: dispatch, axios.post(logout) with the default header, clear localStorage.
logout = post("/authentication/api/logout/")
local_storage.clear()
print("logout", logout.status_code, "sessionid" in browser.cookies)
axios_defaults.clear()
print("after logout", page_load().status_code)
