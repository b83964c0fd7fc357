//! The real miniSASS clients, replayed request by request on both adapters: the React web app
//! (`kartoza/miniSASS`, `django_project/minisass_frontend/src`) and the Android app
//! (`kartoza/miniSASS-mobile-app`, `deployment/app/src/main/java/com/rk/amii`). Each request
//! carries the headers, body and cookies the client sends, in the order it sends them.
//!
//! What the web app sends (axios, in a browser, which keeps the `sessionid` cookie and adds it
//! to every same-origin request, with `Sec-Fetch-Site: same-origin`, and `Origin` on POSTs):
//!
//! | when | request |
//! |---|---|
//! | every page load (`AuthContext.tsx`) | `GET check-auth-status/`, `Authorization: Bearer <stored access_token, or the literal dummy-token>`; on 200 it stores the answer and sets `Authorization: Bearer <answer.access_token>` as axios' default header |
//! | registration (`RegistrationFormModal` → `AuthenticationButtons.handleRegistration`) | `POST register/` JSON `{username: "", name, surname, email, organizationType, organizationName, country, password, confirmPassword, agree: true}`; a refusal shows `error` |
//! | activation | the mailed `activate/<uid>/<token>/` link, opened in the browser; `MainPage` reads `?activation_complete=true` |
//! | login (`LoginFormModal` → `handleLogin`) | `POST login/` JSON `{email, password, usernameForEmailRetrieval: ""}`; branches on `is_profile_updated` (password prompt) and `is_agreed_to_privacy_policy` (consent prompt) |
//! | consent prompt (`PrivacyConsentModal`) | `GET /privacy-policy/check/` (reads `is_agreed_to_privacy_policy`), `POST /privacy-policy/consent/` JSON `{agree}` (expects 201), bearer token |
//! | profile (`UserForm/EditProfile.tsx`) | `GET user/update/`, then `POST user/update/` JSON with every field the GET returned, edited |
//! | password (`UserForm/EditPassword.tsx`) | `POST user/password/update/` JSON `{old_password, password, confirm_password}`; shows `old_password`, `password` and `error` of a 400 |
//! | logout (`AuthContext.logout`) | `POST logout/`, no body, the default `Authorization` header and the cookie |
//! | reset link (`MainPage`) | the mailed link's endpoint redirects to the home page with `?uid=..&token=..` |
//!
//! Not replayed: the web app's refresh timer (`POST /token/refresh/` at the site root, a path
//! the original does not serve either, and guarded by a field it never stores), and
//! `retrieve-email-by-username/` (not served: it tells anyone whether a username exists; the
//! web app's username-only sign-in then says "email not found" and its users sign in with the
//! e-mail address; `login/` itself takes `usernameForEmailRetrieval`).
//!
//! What the Android app sends (`services/ApiService.java`, `HttpURLConnection` without a cookie
//! handler, so no cookies; every request `Content-Type: application/json;charset=UTF-8` and
//! `Accept: application/json`, GETs without a body):
//!
//! | when | request |
//! |---|---|
//! | registration (`RegistrationActivity`) | `POST register/` JSON `{username, first_name, last_name, email, password, organizationType, organizationName, country}`; success is 201 |
//! | login (`AuthenticationActivity`) | `POST login/?app=mobile` JSON `{email, password}`; stores `access_token`, `refresh_token`, reads `is_agreed_to_privacy_policy` |
//! | start-up (`checkAuthStatus`) | `GET check-auth-status/`, `Authorization: Bearer <stored access_token>`; reads `is_authenticated`, `is_agreed_to_privacy_policy` |
//! | profile (`ProfileFragment`) | `GET user/update/`; `POST user/update/` JSON `{email, name, surname, organisation_name, organisation_type, country, upload_preference}` |
//! | consent (`MainActivity`) | `POST /privacy-policy/consent/` JSON `{agree}` (it checks for 200; the original answers 201, as we do) |
//! | refresh (`refreshAccessToken`) | `POST token/refresh/` JSON `{refresh}`; it reads `access_token`, which no refresh answer has, so it never takes the new token |
//! | logout | `POST logout/` with body `{}` and the bearer token |

use std::time::Duration;

use authmount::dialect::minisass::{MinisassConfig, PrivacyPolicy};
use authmount::user::NewUser;
use authmount_conformance::external::{python, run_script};
use authmount_conformance::fixture::{MINISASS_RESET_BASE, minisass_config};
use authmount_conformance::{Case, Client, PASSWORD, Request, Response, on_both_adapters_with_minisass};
use serde_json::{Value, json};

const LOGIN: &str = "/authentication/api/login/";
const STATUS: &str = "/authentication/api/check-auth-status/";
const LOGOUT: &str = "/authentication/api/logout/";
const REGISTER: &str = "/authentication/api/register/";
const REFRESH: &str = "/authentication/api/token/refresh/";
const USER_UPDATE: &str = "/authentication/api/user/update/";
const PASSWORD_UPDATE: &str = "/authentication/api/user/password/update/";
const ACTIVATE: &str = "/authentication/api/activate/";
const REQUEST_RESET: &str = "/authentication/api/request-reset/";
const VERIFY_RESET: &str = "/authentication/api/verify-password-reset/";
const UPDATE_RESET: &str = "/authentication/api/update-password-reset/";
const PRIVACY_CHECK: &str = "/privacy-policy/check/";
const PRIVACY_CONSENT: &str = "/privacy-policy/consent/";

/// The web app's home page, where the API sends activation and reset links.
const FRONTEND: &str = "https://minisass.example.org/";
/// Where activation links point in these runs.
const ACTIVATION_BASE: &str = "https://minisass.example.org/authentication/api/activate/";
/// A password the policy accepts.
const STRONG: &str = "Rivers-run-clear-2025";

/// The deployment the clients meet: a published privacy policy, activation on, links to the
/// web app's home page, and (the test servers speak plain HTTP, as a development deployment)
/// cookies without `Secure`.
fn config() -> MinisassConfig {
    MinisassConfig {
        insecure_cookies: true,
        privacy_policy: Some(PrivacyPolicy {
            id: 1,
            version: "v1.3".into(),
            link: "https://minisass.org/#/privacy-policy".into(),
            published_at: Some("2025-04-09T07:00:00Z".into()),
        }),
        frontend_url: Some(FRONTEND.into()),
        require_activation: true,
        activation_link_base: ACTIVATION_BASE.into(),
        ..minisass_config()
    }
}

fn access_not_valid() -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}],
    })
}

/// A browser running the web app: it keeps the `sessionid` cookie as the server sets and
/// clears it, sends it on every request, and adds the headers a browser adds to same-origin
/// `fetch`/XHR requests.
struct Browser {
    client: Client,
    cookie: Option<String>,
}

impl Browser {
    fn new(client: &Client) -> Self {
        Self { client: client.clone(), cookie: None }
    }

    /// A same-origin `GET` (axios: `Accept: application/json, text/plain, */*`).
    async fn get(&mut self, path: &str, authorization: Option<&str>) -> Response {
        let request = self.client.get(path).header("accept", "application/json, text/plain, */*");
        self.send(request, authorization).await
    }

    /// A same-origin `POST` with a JSON body, or none (axios' `post(url)`).
    async fn post(&mut self, path: &str, authorization: Option<&str>, body: Option<&Value>) -> Response {
        let origin = self.client.base().to_owned();
        let mut request = self
            .client
            .post(path)
            .header("accept", "application/json, text/plain, */*")
            .header("origin", origin);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request, authorization).await
    }

    /// A top-level navigation (a link opened from an e-mail): no `Authorization`, the cookie.
    async fn navigate(&mut self, path: &str) -> Response {
        let request =
            self.client.get(path).header("accept", "text/html").header("sec-fetch-mode", "navigate");
        self.send(request, None).await
    }

    async fn send(&mut self, request: Request, authorization: Option<&str>) -> Response {
        let mut request = request.header("sec-fetch-site", "same-origin");
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", format!("sessionid={cookie}"));
        }
        let response = request.send().await;
        for set_cookie in response.headers.get_all("set-cookie") {
            let set_cookie = set_cookie.to_str().expect("text");
            let Some(value) = set_cookie.strip_prefix("sessionid=") else { continue };
            let value = value.split(';').next().unwrap_or_default();
            let expired = set_cookie.to_ascii_lowercase().contains("max-age=0");
            self.cookie = (!value.is_empty() && !expired).then(|| value.to_owned());
        }
        response
    }
}

/// The `{uid}/{token}` of the `nth` mail's link starting with `base` (the token marked secret).
async fn link_from_mail(t: &Case, nth: usize, base: &str) -> (String, String) {
    let mail = t.fixture.outbox.wait_for(nth, Duration::from_secs(5)).await;
    let mail = mail.get(nth - 1).expect("the mail");
    let link = mail.text_body.lines().find(|l| l.starts_with(base)).expect("a link").to_owned();
    let rest = link.strip_prefix(base).unwrap_or_default().trim_end_matches('/');
    let (uid, token) = rest.split_once('/').expect("uid/token");
    t.client.secret(token);
    (uid.to_owned(), token.to_owned())
}

fn bearer(answer: &Value) -> String {
    format!("Bearer {}", answer["access_token"].as_str().expect("an access token"))
}

#[tokio::test]
async fn the_web_app_registers_activates_logs_in_reloads_edits_and_logs_out() {
    on_both_adapters_with_minisass(config(), |t| async move {
        let mut browser = Browser::new(&t.client);
        // First visit: nothing stored, so AuthContext sends the literal "dummy-token".
        let first = browser.get(STATUS, Some("Bearer dummy-token")).await;
        first.assert_status(401);
        assert_eq!(first.json(), access_not_valid());

        // Registration, as RegistrationFormModal fills it.
        let form = json!({
            "username": "", "name": "River", "surname": "Keeper", "email": "river@example.org",
            "organizationType": "NGO", "organizationName": "Stream Watch", "country": "ZA",
            "password": STRONG, "confirmPassword": STRONG, "agree": true,
        });
        let registered = browser.post(REGISTER, None, Some(&form)).await;
        registered.assert_status(201);
        let id = registered.json()["id"].clone();
        assert_eq!(
            registered.json(),
            json!({"id": id, "username": "river@example.org", "email": "river@example.org", "first_name": "River", "last_name": "Keeper"})
        );
        let again = browser.post(REGISTER, None, Some(&form)).await;
        again.assert_status(400);
        assert_eq!(again.json()["error"], "This email is already registered.");

        // Not active before the link is used: the login answer every bad login gets.
        let login_form = json!({"email": "river@example.org", "password": STRONG, "usernameForEmailRetrieval": ""});
        let early = browser.post(LOGIN, None, Some(&login_form)).await;
        early.assert_status(401);
        assert_eq!(early.json(), json!({"error": "Invalid credentials"}));

        // The activation link, opened from the mail: once.
        let (uid, token) = link_from_mail(&t, 1, ACTIVATION_BASE).await;
        let activated = browser.navigate(&format!("{ACTIVATE}{uid}/{token}/")).await;
        activated.assert_status(302);
        assert_eq!(activated.header("location"), format!("{FRONTEND}?activation_complete=true"));
        let twice = browser.navigate(&format!("{ACTIVATE}{uid}/{token}/")).await;
        twice.assert_status(400);
        assert_eq!(twice.json(), json!({"error": "Invalid token or expired"}));

        // Login: a strong password and consent given at registration, so no prompt.
        let login = browser.post(LOGIN, None, Some(&login_form)).await;
        login.assert_status(200);
        let user = login.json();
        assert_eq!(user["is_profile_updated"], true);
        assert_eq!(user["is_agreed_to_privacy_policy"], true);
        assert_eq!(user["accepted_privacy_policy_version"], "v1.3");
        let set_cookie = login.header("set-cookie");
        assert!(set_cookie.ends_with("; HttpOnly; SameSite=Lax; Path=/; Max-Age=86400"), "{set_cookie}");
        assert!(browser.cookie.is_some(), "the login opened the cookie session");
        let authorization = bearer(&user);

        // PrivacyConsentModal checks again with the token.
        let check = browser.get(PRIVACY_CHECK, Some(&authorization)).await;
        check.assert_status(200);
        assert_eq!(
            check.json(),
            json!({"is_agreed_to_privacy_policy": true, "policy": {"id": 1, "version": "v1.3",
                "link": "https://minisass.org/#/privacy-policy", "file": null, "published_at": "2025-04-09T07:00:00Z"}})
        );

        // A reload: the stored token; the answer's token becomes the Authorization header.
        let reload = browser.get(STATUS, Some(&authorization)).await;
        reload.assert_status(200);
        let keys: Vec<String> = reload.json().as_object().expect("object").keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "is_authenticated", "username", "email", "is_admin", "is_agreed_to_privacy_policy",
                "access_token", "refresh_token", "user_id", "is_profile_updated", "accepted_privacy_policy_version",
            ]
        );
        let authorization = bearer(&reload.json());
        // localStorage cleared (another tab logged in, private window restored): the cookie.
        let from_cookie = browser.get(STATUS, Some("Bearer dummy-token")).await;
        from_cookie.assert_status(200);
        assert_eq!(from_cookie.json()["username"], "river@example.org");
        // An hour later the stored access token has expired; the cookie still carries the session.
        t.fixture.advance(Duration::from_secs(3600 + 10));
        let later = browser.get(STATUS, Some(&authorization)).await;
        later.assert_status(200);
        let authorization = bearer(&later.json());

        // EditProfile: read, edit, send every field back.
        let profile = browser.get(USER_UPDATE, Some(&authorization)).await;
        profile.assert_status(200);
        assert_eq!(
            profile.json(),
            json!({"user_id": id.to_string(), "username": "river@example.org", "email": "river@example.org",
                "name": "River", "surname": "Keeper", "organisation_type": "NGO", "organisation_name": "Stream Watch",
                "country": "ZA", "is_expert": false, "upload_preference": "wifi"})
        );
        let mut edited = profile.json();
        edited["organisation_name"] = json!("River Keepers");
        edited["surname"] = json!("Keeper-Smith");
        edited["is_expert"] = json!(true);
        let saved = browser.post(USER_UPDATE, Some(&authorization), Some(&edited)).await;
        saved.assert_status(200);
        edited["is_expert"] = json!(false);
        assert_eq!(saved.json(), edited, "saved as sent, but is_expert is not the user's to set");

        // EditPassword: a wrong old password, then the change.
        let wrong = json!({"old_password": "not it", "password": "Another-good-one-7", "confirm_password": "Another-good-one-7"});
        let refused = browser.post(PASSWORD_UPDATE, Some(&authorization), Some(&wrong)).await;
        refused.assert_status(400);
        assert_eq!(refused.json(), json!({"old_password": ["Wrong old password"]}));
        let change = json!({"old_password": STRONG, "password": "Another-good-one-7", "confirm_password": "Another-good-one-7"});
        let changed = browser.post(PASSWORD_UPDATE, Some(&authorization), Some(&change)).await;
        changed.assert_status(200);
        assert_eq!(changed.json(), json!({"status": "OK"}));
        // This session goes on: its token and its cookie.
        browser.get(STATUS, Some(&authorization)).await.assert_status(200);
        browser.get(STATUS, Some("Bearer dummy-token")).await.assert_status(200);

        // Logout: axios.post(url) with the default header, no body, and the cookie.
        let cookie = browser.cookie.clone().expect("a cookie");
        let out = browser.post(LOGOUT, Some(&authorization), None).await;
        out.assert_status(200);
        assert_eq!(out.json(), json!({"message": "Logout successful"}));
        assert!(browser.cookie.is_none(), "the cookie is cleared: {}", out.header("set-cookie"));
        let after = browser.get(STATUS, Some(&authorization)).await;
        after.assert_status(401);
        // The old cookie, replayed, is dead too.
        let replayed = t.client.get(STATUS).header("cookie", format!("sessionid={cookie}")).send().await;
        replayed.assert_status(401);
        assert_eq!(replayed.json(), json!({"detail": "Authentication credentials were not provided."}));
    })
    .await;
}

#[tokio::test]
async fn the_web_app_prompts_for_a_weak_password_and_the_policy_once() {
    on_both_adapters_with_minisass(config(), |t| async move {
        // An account imported with a password today's policy refuses, never asked for consent.
        let hash = t.fixture.services.passwords.hasher().hash(b"123456").expect("hashes");
        let old_timer = NewUser::new("old_timer", t.fixture.now())
            .with_email("old@example.org")
            .with_names("Old", "Timer")
            .with_password_hash(hash);
        t.fixture.services.users.create(old_timer).await.expect("created");

        let mut browser = Browser::new(&t.client);
        let form = json!({"email": "old@example.org", "password": "123456", "usernameForEmailRetrieval": ""});
        let login = browser.post(LOGIN, None, Some(&form)).await;
        login.assert_status(200);
        let user = login.json();
        assert_eq!(
            (user["is_profile_updated"].clone(), user["is_agreed_to_privacy_policy"].clone()),
            (json!(false), json!(false))
        );
        let authorization = bearer(&user);

        // The consent prompt: check, decline, check, accept.
        let check = browser.get(PRIVACY_CHECK, Some(&authorization)).await;
        assert_eq!(check.json()["is_agreed_to_privacy_policy"], false);
        let declined =
            browser.post(PRIVACY_CONSENT, Some(&authorization), Some(&json!({"agree": false}))).await;
        declined.assert_status(201);
        assert_eq!(declined.json()["consent_given"], false);
        assert_eq!(
            browser.get(PRIVACY_CHECK, Some(&authorization)).await.json()["is_agreed_to_privacy_policy"],
            false
        );
        let accepted =
            browser.post(PRIVACY_CONSENT, Some(&authorization), Some(&json!({"agree": true}))).await;
        accepted.assert_status(201);
        let body = accepted.json();
        assert_eq!((body["policy"].clone(), body["consent_given"].clone()), (json!(1), json!(true)));
        assert_eq!(
            browser.get(PRIVACY_CHECK, Some(&authorization)).await.json()["is_agreed_to_privacy_policy"],
            true
        );

        // The password prompt: the policy's message under `password`, then a good one.
        let weak = json!({"old_password": "123456", "password": "abc", "confirm_password": "abd"});
        let refused = browser.post(PASSWORD_UPDATE, Some(&authorization), Some(&weak)).await;
        refused.assert_status(400);
        let errors = refused.json();
        assert!(errors["password"][0].as_str().is_some_and(|m| m.contains("too short")), "{errors}");
        assert_eq!(errors["confirm_password"], json!(["Confirmed password is not same as new password."]));
        assert!(errors.get("old_password").is_none(), "the old password was right: {errors}");
        let change = json!({"old_password": "123456", "password": STRONG, "confirm_password": STRONG});
        browser.post(PASSWORD_UPDATE, Some(&authorization), Some(&change)).await.assert_status(200);

        // The next login asks for nothing.
        let form = json!({"email": "old@example.org", "password": STRONG, "usernameForEmailRetrieval": ""});
        let again = browser.post(LOGIN, None, Some(&form)).await;
        again.assert_status(200);
        assert_eq!(
            (again.json()["is_profile_updated"].clone(), again.json()["is_agreed_to_privacy_policy"].clone()),
            (json!(true), json!(true))
        );
        let old = json!({"email": "old@example.org", "password": "123456", "usernameForEmailRetrieval": ""});
        browser.post(LOGIN, None, Some(&old)).await.assert_status(401);
    })
    .await;
}

#[tokio::test]
async fn the_web_app_cookie_is_refused_cross_site_and_reset_links_open_the_home_page() {
    on_both_adapters_with_minisass(config(), |t| async move {
        let mut browser = Browser::new(&t.client);
        let form = json!({"email": "ann@example.org", "password": PASSWORD, "usernameForEmailRetrieval": ""});
        let login = browser.post(LOGIN, None, Some(&form)).await;
        login.assert_status(200);
        let cookie = format!("sessionid={}", browser.cookie.clone().expect("a cookie"));

        // Another site's page, riding on the cookie alone: no tokens minted, no logout.
        let minted = t
            .client
            .get(STATUS)
            .header("cookie", cookie.clone())
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .send()
            .await;
        minted.assert_status(403);
        let navigated = t
            .client
            .get(STATUS)
            .header("cookie", cookie.clone())
            .header("sec-fetch-site", "cross-site")
            .send()
            .await;
        navigated.assert_status(403);
        let logout = t
            .client
            .post(LOGOUT)
            .header("cookie", cookie.clone())
            .header("origin", "https://evil.example")
            .send()
            .await;
        logout.assert_status(403);
        browser.get(STATUS, Some("Bearer dummy-token")).await.assert_status(200);

        // Forgot password: the mailed link's endpoint sends the browser to the home page.
        browser
            .post(REQUEST_RESET, None, Some(&json!({"email": "ann@example.org"})))
            .await
            .assert_status(200);
        let (uid, token) = link_from_mail(&t, 1, MINISASS_RESET_BASE).await;
        let verified = browser.navigate(&format!("{VERIFY_RESET}{uid}/{token}/")).await;
        verified.assert_status(302);
        assert_eq!(verified.header("location"), format!("{FRONTEND}?uid={uid}&token={token}"));
        // The reset form posts the new password; every session ends, the cookie's too.
        let reset = browser
            .post(&format!("{UPDATE_RESET}{uid}/{token}/"), None, Some(&json!({"newPassword": STRONG})))
            .await;
        reset.assert_status(200);
        browser.get(STATUS, Some("Bearer dummy-token")).await.assert_status(401);
        let again = browser.navigate(&format!("{VERIFY_RESET}{uid}/{token}/")).await;
        again.assert_status(401);
    })
    .await;
}

/// The Android app's request headers.
fn android(request: Request, access: Option<&str>) -> Request {
    let request =
        request.header("content-type", "application/json;charset=UTF-8").header("accept", "application/json");
    match access {
        Some(access) => request.header("authorization", format!("Bearer {access}")),
        None => request,
    }
}

#[tokio::test]
async fn the_android_app_registers_logs_in_edits_the_profile_consents_and_logs_out() {
    on_both_adapters_with_minisass(config(), |t| async move {
        let registration = json!({
            "username": "streamer", "first_name": "Sipho", "last_name": "Dlamini", "email": "sipho@example.org",
            "password": STRONG, "organizationType": "School", "organizationName": "Hilltop High", "country": "ZA",
        });
        let registered = android(t.client.post(REGISTER), None).body(registration.to_string()).send().await;
        registered.assert_status(201);
        assert_eq!(registered.json()["username"], "streamer");
        let (uid, token) = link_from_mail(&t, 1, ACTIVATION_BASE).await;
        t.client.get(&format!("{ACTIVATE}{uid}/{token}/")).send().await.assert_status(302);

        let credentials = json!({"email": "sipho@example.org", "password": STRONG});
        let login =
            android(t.client.post(&format!("{LOGIN}?app=mobile")), None).body(credentials.to_string()).send().await;
        login.assert_status(200);
        let tokens = login.json();
        // The consent prompt only follows a `false`: none given at this registration.
        assert_eq!(tokens["is_agreed_to_privacy_policy"], false);
        let access = tokens["access_token"].as_str().expect("access").to_owned();
        let refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();

        let status = android(t.client.get(STATUS), Some(&access)).send().await;
        status.assert_status(200);
        assert_eq!(status.json()["is_authenticated"], true);

        let profile = android(t.client.get(USER_UPDATE), Some(&access)).send().await;
        profile.assert_status(200);
        assert_eq!(profile.json()["organisation_name"], "Hilltop High");
        let payload = json!({
            "email": "sipho@example.org", "name": "Sipho", "surname": "Dlamini", "organisation_name": "Hilltop High School",
            "organisation_type": "School", "country": "ZA", "upload_preference": "any",
        });
        let saved = android(t.client.post(USER_UPDATE), Some(&access)).body(payload.to_string()).send().await;
        saved.assert_status(200);
        assert_eq!(saved.json()["organisation_name"], "Hilltop High School");
        assert_eq!(saved.json()["upload_preference"], "any");
        assert_eq!(saved.json()["username"], "streamer");

        let consent =
            android(t.client.post(PRIVACY_CONSENT), Some(&access)).body(json!({"agree": true}).to_string()).send().await;
        consent.assert_status(201);
        let status = android(t.client.get(STATUS), Some(&access)).send().await;
        assert_eq!(status.json()["is_agreed_to_privacy_policy"], true);

        // refreshAccessToken: the answer has `access`, not the `access_token` the app reads.
        let refreshed =
            android(t.client.post(REFRESH), None).body(json!({ "refresh": refresh }).to_string()).send().await;
        refreshed.assert_status(200);
        for key in ["access", "refresh"] {
            t.client.secret(refreshed.json()[key].as_str().unwrap_or_default());
        }
        assert!(refreshed.json().get("access_token").is_none());

        let out = android(t.client.post(LOGOUT), Some(&access)).body("{}").send().await;
        out.assert_status(200);
        assert_eq!(out.json(), json!({"message": "Logout successful"}));
        let after = android(t.client.get(STATUS), Some(&access)).send().await;
        after.assert_status(401);
        // Logged out with an empty stored token: "Bearer " is a malformed header.
        let empty = android(t.client.get(STATUS), Some("")).send().await;
        empty.assert_status(401);
    })
    .await;
}

const WEB_CLIENT: &str = include_str!("../clients/minisass_web.py");

/// The web app's calls from Python `requests` (a real cookie jar, as the browser's), on both
/// adapters. The interpreter is `$AUTHMOUNT_PYTHON` (scripts/test sets up a virtualenv with
/// `requests`), else `python3` if it has `requests`; without one the test passes with a notice
/// on a developer machine and fails under `CI=true`.
#[tokio::test(flavor = "multi_thread")]
async fn a_browser_cookie_jar_keeps_the_web_app_signed_in_across_reloads() {
    let Some(python) = python("the miniSASS client tests") else { return };
    // A browser (and `requests`) sends a `Secure` cookie over HTTPS only: the test servers
    // speak plain HTTP, as a development deployment with `insecure_cookies`.
    let config = MinisassConfig { insecure_cookies: true, ..minisass_config() };
    on_both_adapters_with_minisass(config, |t| {
        let python = python.clone();
        async move {
            let script = WEB_CLIENT.replace("http://minisass.example.org", t.client.base());
            let printed = tokio::task::spawn_blocking(move || {
                run_script(&python, &script, "py", "", &["ann@example.org", PASSWORD, STRONG])
            })
            .await
            .expect("script ran");
            let lines: Vec<&str> = printed.lines().collect();
            assert_eq!(
                lines,
                [
                    "first visit 401",
                    "login 200 True True True",
                    "reload 200 ann@example.org",
                    "reload without storage 200 ann@example.org",
                    "profile 200 200 River Watch",
                    "password 200 {'status': 'OK'}",
                    "still signed in 200",
                    "logout 200 False",
                    "after logout 401",
                ],
                "{printed}"
            );
        }
    })
    .await;
}
