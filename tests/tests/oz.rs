//! Oz: `POST /api/authorize/auth` with the credentials envelope, the session object, the
//! `X-Forensic-Access-Token` header with sliding expiry, refresh with rotation, and the vendor's
//! error codes, on both adapters.

use std::time::Duration;

use authmount_conformance::{Case, PASSWORD, START, on_both_adapters};
use serde_json::{Value, json};

const AUTH: &str = "/api/authorize/auth";
const REFRESH: &str = "/api/authorize/refresh/";
const WHOAMI: &str = "/app/oz/whoami";
const HEADER: &str = "X-Forensic-Access-Token";
const CHALLENGE: &str = "X-Forensic-Access-Token realm=\"api\"";
const MINUTE: Duration = Duration::from_secs(60);

fn credentials(email: &str, password: &str) -> Value {
    json!({"credentials": {"email": email, "password": password}})
}

/// Logs `ann` in and masks the session's secrets and random id.
async fn session(t: &Case) -> Value {
    let response = t.client.post(AUTH).json(&credentials("ann@example.org", PASSWORD)).send().await;
    response.assert_status(200);
    mask(t, response.json())
}

fn mask(t: &Case, session: Value) -> Value {
    for key in ["access_token", "expire_token"] {
        t.client.secret(session[key].as_str().unwrap_or_default());
    }
    t.client.secret(&session["session_id"].to_string());
    session
}

fn token(session: &Value, key: &str) -> String {
    session[key].as_str().unwrap_or_else(|| panic!("{key} in {session}")).to_owned()
}

#[track_caller]
fn assert_error(response: &authmount_conformance::Response, status: u16, code: u8) -> Value {
    response.assert_status(status);
    assert_eq!(response.header("content-type"), "application/json");
    let body = response.json();
    assert_eq!(body["error_code"], code, "{body}");
    assert!(body["error_message"].is_string(), "{body}");
    assert!(body.get("details").is_some(), "{body}");
    if status == 401 {
        assert_eq!(response.header("www-authenticate"), CHALLENGE);
    }
    body
}

async fn whoami(t: &Case, access: &str) -> authmount_conformance::Response {
    t.client.get(WHOAMI).header(HEADER, access).send().await
}

async fn refresh(t: &Case, refresh_token: &str) -> authmount_conformance::Response {
    t.client.post(REFRESH).json(&json!({ "expire_token": refresh_token })).send().await
}

#[tokio::test]
async fn login_answers_the_session_object() {
    on_both_adapters(|t| async move {
        let response = t.client.post(AUTH).json(&credentials("ann@example.org", PASSWORD)).send().await;
        response.assert_status(200);
        assert_eq!(response.header("content-type"), "application/json");
        assert_eq!(response.header("cache-control"), "no-store");
        let body = mask(&t, response.json());
        let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "technical_meta_data",
                "session_id",
                "user_id",
                "access_token",
                "expire_token",
                "expire_date",
                "device_info",
                "old_access_token",
                "user"
            ]
        );
        assert!(body["session_id"].is_u64());
        assert_eq!(body["user_id"], "1");
        assert_eq!(token(&body, "access_token").len(), 43);
        assert_eq!(token(&body, "expire_token").len(), 43);
        assert!(body["expire_date"].is_f64());
        assert_eq!(body["expire_date"].as_f64(), Some((START + 900) as f64));
        assert_eq!(body["old_access_token"], Value::Null);
        assert_eq!(
            body["user"],
            json!({
                "technical_meta_data": {}, "meta_data": {}, "user_id": "1", "user_type": "user",
                "first_name": "Ann", "last_name": "Novák", "middle_name": null, "email": "ann@example.org",
                "is_active": true, "can_start_analyse_biometry": true, "can_start_analyse_collection": true,
                "can_start_analyse_documents": true, "can_start_analyse_quality": true, "company_id": null
            })
        );
        let by_username = t.client.post(AUTH).json(&credentials("ann", PASSWORD)).send().await;
        by_username.assert_status(200);
        mask(&t, by_username.json());
    })
    .await;
}

#[tokio::test]
async fn both_paths_answer_with_and_without_the_trailing_slash() {
    on_both_adapters(|t| async move {
        let slash = t.client.post("/api/authorize/auth/").json(&credentials("ann", PASSWORD)).send().await;
        slash.assert_status(200);
        let first = mask(&t, slash.json());
        let bare = t
            .client
            .post("/api/authorize/refresh")
            .json(&json!({"expire_token": token(&first, "expire_token")}))
            .send()
            .await;
        bare.assert_status(200);
        mask(&t, bare.json());
    })
    .await;
}

#[tokio::test]
async fn device_info_from_the_body_the_headers_or_nulls() {
    on_both_adapters(|t| async move {
        let mut body = credentials("ann", PASSWORD);
        body["device_info"] = json!({"device_family": "iPhone", "device_platform": "ios", "sdk_version": "8.1",
                                     "app_build": null, "something_else": [1]});
        let response = t.client.post(AUTH).json(&body).header("user-agent", "PostmanRuntime/7.15.2").send().await;
        response.assert_status(200);
        assert_eq!(
            mask(&t, response.json())["device_info"],
            json!({"device_family": "iPhone", "device_platform": "ios", "device_os": null, "app_version": null,
                   "app_build": null, "device_locale": null, "sdk_version": "8.1", "sdk_build": null, "bundle_id": null})
        );

        let response = t
            .client
            .post(AUTH)
            .json(&credentials("ann", PASSWORD))
            .header("user-agent", "PostmanRuntime/7.15.2")
            .header("accept-language", "en-GB,en;q=0.8")
            .send()
            .await;
        response.assert_status(200);
        assert_eq!(
            mask(&t, response.json())["device_info"],
            json!({"device_family": "PostmanRuntime", "device_platform": null, "device_os": null,
                   "app_version": "7.15.2", "app_build": null, "device_locale": "en-GB", "sdk_version": null,
                   "sdk_build": null, "bundle_id": null})
        );

        // reqwest sends no User-Agent of its own: nothing to derive.
        let response = t.client.post(AUTH).json(&credentials("ann", PASSWORD)).send().await;
        let info = mask(&t, response.json())["device_info"].clone();
        assert!(info.as_object().is_some_and(|o| o.len() == 9 && o.values().all(Value::is_null)), "{info}");

        body["device_info"] = json!({"app_version": 2});
        let wrong = t.client.post(AUTH).json(&body).send().await;
        let error = assert_error(&wrong, 400, 5);
        assert_eq!(error["details"], json!({"device_info.app_version": "must be a string or null"}));
    })
    .await;
}

#[tokio::test]
async fn malformed_requests_get_the_vendor_codes() {
    on_both_adapters(|t| async move {
        let get = t.client.get(AUTH).send().await;
        assert_error(&get, 405, 1);
        assert_eq!(get.header("allow"), "POST");
        let put = t.client.request("PUT", REFRESH).send().await;
        assert_error(&put, 405, 1);
        assert_eq!(put.header("allow"), "POST");

        let form = t.client.post(AUTH).form(&[("email", "ann"), ("password", PASSWORD)]).send().await;
        assert_error(&form, 415, 3);
        let broken = t.client.post(AUTH).raw("application/json", r#"{"credentials": {"email""#).send().await;
        let body = assert_error(&broken, 400, 3);
        assert!(body["error_message"].as_str().is_some_and(|m| m.starts_with("JSON parse error - ")));
        let big = format!(r#"{{"credentials": {{"email": "{}", "password": "x"}}}}"#, "a".repeat(70_000));
        assert_error(&t.client.post(AUTH).raw("application/json", big).send().await, 413, 3);

        let flat = t.client.post(AUTH).json(&json!({"email": "ann", "password": PASSWORD})).send().await;
        assert_eq!(assert_error(&flat, 400, 3)["details"], json!({"credentials": "required"}));
        let missing = t.client.post(AUTH).json(&json!({"credentials": {"email": "ann"}})).send().await;
        assert_eq!(assert_error(&missing, 400, 3)["details"], json!({"credentials.password": "required"}));
        let typed =
            t.client.post(AUTH).json(&json!({"credentials": {"email": 7, "password": "x"}})).send().await;
        assert_eq!(assert_error(&typed, 400, 5)["details"], json!({"credentials.email": "must be a string"}));
        let blank =
            t.client.post(AUTH).json(&json!({"credentials": {"email": "ann", "password": ""}})).send().await;
        assert_eq!(
            assert_error(&blank, 400, 4)["details"],
            json!({"credentials.password": "must not be blank"})
        );
        let no_token = t.client.post(REFRESH).json(&json!({})).send().await;
        assert_eq!(assert_error(&no_token, 400, 3)["details"], json!({"expire_token": "required"}));
    })
    .await;
}

#[tokio::test]
async fn bad_credentials_are_code_7_and_inactive_accounts_code_9() {
    on_both_adapters(|t| async move {
        let wrong = t.client.post(AUTH).json(&credentials("ann", "wrong password")).send().await;
        let body = assert_error(&wrong, 401, 7);
        assert_eq!(body, json!({"error_code": 7, "error_message": "Invalid credentials", "details": null}));
        let unknown = t.client.post(AUTH).json(&credentials("nobody@example.org", PASSWORD)).send().await;
        assert_eq!(assert_error(&unknown, 401, 7), body, "unknown users look the same");
        let inactive = t.client.post(AUTH).json(&credentials("ivan", PASSWORD)).send().await;
        assert_error(&inactive, 403, 9);
        let inactive_wrong = t.client.post(AUTH).json(&credentials("ivan", "wrong password")).send().await;
        assert_eq!(assert_error(&inactive_wrong, 401, 7), body);
    })
    .await;
}

#[tokio::test]
async fn the_header_token_opens_protected_routes() {
    on_both_adapters(|t| async move {
        let session = session(&t).await;
        let access = token(&session, "access_token");
        let ok = whoami(&t, &access).await;
        ok.assert_status(200);
        assert_eq!(ok.json(), json!({"id": 1, "username": "ann"}));
        let lowercase = t.client.get(WHOAMI).header("x-forensic-access-token", access.clone()).send().await;
        lowercase.assert_status(200);

        assert_error(&t.client.get(WHOAMI).send().await, 401, 6);
        let bearer = t.client.get(WHOAMI).header("authorization", format!("Bearer {access}")).send().await;
        assert_error(&bearer, 401, 6);
        assert_error(&whoami(&t, "not-a-token").await, 401, 7);
        assert_error(&whoami(&t, &token(&session, "expire_token")).await, 401, 7);

        let update = authmount::user::ProfileUpdate { is_active: Some(false), ..Default::default() };
        t.fixture.services.users.update_profile(t.fixture.ann.id, update).await.expect("deactivated");
        assert_error(&whoami(&t, &access).await, 403, 9);
    })
    .await;
}

#[tokio::test]
async fn sessions_slide_with_use_and_expire_after_15_idle_minutes() {
    on_both_adapters(|t| async move {
        let access = token(&session(&t).await, "access_token");
        for _ in 0..4 {
            t.fixture.advance(10 * MINUTE);
            whoami(&t, &access).await.assert_status(200);
        }
        t.fixture.advance(16 * MINUTE);
        let expired = whoami(&t, &access).await;
        let body = assert_error(&expired, 401, 8);
        assert_eq!(
            body,
            json!({"error_code": 8, "error_message": "Access token has expired", "details": null})
        );
    })
    .await;
}

#[tokio::test]
async fn refresh_gives_a_new_pair_and_retires_the_old_access_token_on_first_use() {
    on_both_adapters(|t| async move {
        let first = session(&t).await;
        let a1 = token(&first, "access_token");
        t.fixture.advance(5 * MINUTE);
        let response = t
            .client
            .post(REFRESH)
            .json(&json!({"expire_token": token(&first, "expire_token")}))
            .header(HEADER, a1.clone())
            .send()
            .await;
        response.assert_status(200);
        assert_eq!(response.header("cache-control"), "no-store");
        let second = mask(&t, response.json());
        assert_eq!(second["session_id"], first["session_id"]);
        assert_eq!(second["old_access_token"], a1.as_str());
        assert_eq!(second["expire_date"].as_f64(), Some((START + 300 + 900) as f64));
        let a2 = token(&second, "access_token");
        assert_ne!(a1, a2);

        whoami(&t, &a1).await.assert_status(200);
        whoami(&t, &a2).await.assert_status(200);
        assert_error(&whoami(&t, &a1).await, 401, 7);
        whoami(&t, &a2).await.assert_status(200);

        let third = refresh(&t, &token(&second, "expire_token")).await;
        third.assert_status(200);
        let third = mask(&t, third.json());
        assert_eq!(third["old_access_token"], Value::Null);
        whoami(&t, &token(&third, "access_token")).await.assert_status(200);
    })
    .await;
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_the_session() {
    on_both_adapters(|t| async move {
        let first = session(&t).await;
        let r1 = token(&first, "expire_token");
        let second = refresh(&t, &r1).await;
        second.assert_status(200);
        let second = mask(&t, second.json());
        // After the reuse grace period (10 s by default) a repeat is a replay.
        t.fixture.advance(Duration::from_secs(11));
        let replay = refresh(&t, &r1).await;
        assert_eq!(
            assert_error(&replay, 401, 7)["error_message"],
            "Refresh token has already been used; the session is revoked"
        );
        assert_error(&whoami(&t, &token(&second, "access_token")).await, 401, 7);
        assert_error(&whoami(&t, &token(&first, "access_token")).await, 401, 7);
        assert_error(&refresh(&t, &token(&second, "expire_token")).await, 401, 7);
    })
    .await;
}

/// Two clients of one session refresh with the same `expire_token` at once: both get a working
/// session object of the same session, nothing is revoked; a later replay still ends it all.
#[tokio::test]
async fn concurrent_refreshes_within_the_grace_period_both_work() {
    on_both_adapters(|t| async move {
        let first = session(&t).await;
        let shared = token(&first, "expire_token");
        // Each answer is masked as it arrives, so the transcript is the same whichever wins.
        let refreshed = || async {
            let response = refresh(&t, &shared).await;
            response.assert_status(200);
            mask(&t, response.json())
        };
        let (one, two) = tokio::join!(refreshed(), refreshed());
        assert_eq!(one["session_id"], two["session_id"], "one session");
        assert_ne!(token(&one, "expire_token"), token(&two, "expire_token"));
        for pair in [&one, &two] {
            whoami(&t, &token(pair, "access_token")).await.assert_status(200);
        }
        let next = refresh(&t, &token(&two, "expire_token")).await;
        next.assert_status(200);
        mask(&t, next.json());

        t.fixture.advance(Duration::from_secs(11));
        let replay = refresh(&t, &shared).await;
        assert_eq!(
            assert_error(&replay, 401, 7)["error_message"],
            "Refresh token has already been used; the session is revoked"
        );
        assert_error(&whoami(&t, &token(&one, "access_token")).await, 401, 7);
        assert_error(&refresh(&t, &token(&one, "expire_token")).await, 401, 7);
    })
    .await;
}

#[tokio::test]
async fn expired_and_unknown_refresh_tokens_are_refused() {
    on_both_adapters(|t| async move {
        let first = session(&t).await;
        t.fixture.advance(Duration::from_secs(30 * 86_400));
        let expired = refresh(&t, &token(&first, "expire_token")).await;
        assert_eq!(assert_error(&expired, 401, 8)["error_message"], "Refresh token has expired");
        assert_error(&refresh(&t, "never-issued").await, 401, 7);
        let typed = t.client.post(REFRESH).json(&json!({"expire_token": 1})).send().await;
        assert_error(&typed, 400, 5);
    })
    .await;
}

#[tokio::test]
async fn tokens_of_other_dialects_are_refused_both_ways() {
    on_both_adapters(|t| async move {
        let amcr = t
            .client
            .post("/api/token-auth/")
            .json(&json!({"username": "ann", "password": PASSWORD}))
            .send()
            .await;
        amcr.assert_status(200);
        let amcr_token = amcr.json()["token"].as_str().expect("token").to_owned();
        t.client.secret(&amcr_token);
        assert_error(&whoami(&t, &amcr_token).await, 401, 7);
        assert_error(&refresh(&t, &amcr_token).await, 401, 7);

        let oz = token(&session(&t).await, "access_token");
        let at_amcr =
            t.client.get("/app/amcr/whoami").header("authorization", format!("Bearer {oz}")).send().await;
        at_amcr.assert_status(401);
        assert_eq!(at_amcr.json(), json!({"detail": "Invalid token."}));
    })
    .await;
}
