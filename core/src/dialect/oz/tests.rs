//! The Oz dialect in process: every documented success and error.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use http::StatusCode;

use super::*;
use crate::api::{ApiError, ApiResponse, AuthState};
use crate::clock::ManualClock;
use crate::dialect::Dialect as _;
use crate::dialect::testing::{
    PASSWORD, START, add_user, call, header, json as body_json, new_user, request, services, text,
};
use crate::guard::{InvalidToken, Rejection};
use crate::store::{StoreError, TokenRecord, UserStore};
use crate::token::{OpaqueToken, TokenHash};
use crate::user::{NewUser, ProfileUpdate, User, UserId};

const JSON: (&str, &str) = ("content-type", "application/json");
const MINUTE: Duration = Duration::from_secs(60);

fn login_body(email: &str, password: &str) -> String {
    json!({"credentials": {"email": email, "password": password}}).to_string()
}

struct Fixture {
    services: Services,
    clock: ManualClock,
    oz: Oz,
    api: Api,
}

async fn fixture_with(config: OzConfig) -> Fixture {
    let (services, clock) = services();
    add_user(&services, new_user("ann").with_email("ann@example.org").with_names("Ann", "Novak")).await;
    let oz = Oz::new(services.clone(), config);
    let api = oz.api();
    Fixture { services, clock, oz, api }
}

async fn fixture() -> Fixture {
    fixture_with(OzConfig::default()).await
}

impl Fixture {
    async fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> ApiResponse {
        let mut all = vec![JSON];
        all.extend_from_slice(headers);
        call(&self.api, request("POST", path, &all, body)).await
    }

    async fn login(&self, email: &str, password: &str) -> ApiResponse {
        self.post(AUTH_PATH, &[], &login_body(email, password)).await
    }

    async fn session(&self) -> Value {
        let response = self.login("ann", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
        body_json(&response)
    }

    async fn refresh(&self, refresh: &str, access: Option<&str>) -> ApiResponse {
        let headers: Vec<(&str, &str)> = access.map(|a| (TOKEN_HEADER, a)).into_iter().collect();
        self.post(REFRESH_PATH, &headers, &json!({ "expire_token": refresh }).to_string()).await
    }

    async fn check(&self, token: &str) -> AuthState {
        let head = request("GET", "/app/whoami", &[(TOKEN_HEADER, token)], "").into_parts().0;
        self.oz.gate().check(&head).await
    }

    async fn denied(&self, token: &str) -> ApiResponse {
        match self.check(token).await {
            AuthState::Denied(denial) => denial.to_response(),
            AuthState::Authenticated(_) => panic!("token {token} was accepted"),
        }
    }

    async fn accepted(&self, token: &str) {
        if let AuthState::Denied(denial) = self.check(token).await {
            panic!("refused: {}", text(&denial.to_response()));
        }
    }
}

fn token(session: &Value, key: &str) -> String {
    session[key].as_str().unwrap_or_else(|| panic!("{key} in {session}")).to_owned()
}

#[track_caller]
fn assert_error(response: &ApiResponse, status: u16, code: u8, details: Value) {
    assert_eq!(response.status().as_u16(), status, "{}", text(response));
    assert_eq!(header(response, "content-type"), "application/json");
    let body = body_json(response);
    assert_eq!(body["error_code"], code, "{body}");
    assert!(body["error_message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(body["details"], details, "{body}");
    let keys: Vec<&str> =
        body.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    assert_eq!(keys, ["error_code", "error_message", "details"]);
    if status == 401 {
        assert_eq!(header(response, "www-authenticate"), CHALLENGE);
    } else {
        assert!(response.headers().get("www-authenticate").is_none());
    }
}

#[tokio::test]
async fn login_answers_the_session_object_with_exact_keys_and_types() {
    let f = fixture().await;
    let response = f.login("ann@example.org", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
    assert_eq!(header(&response, "content-type"), "application/json");
    assert_eq!(header(&response, "cache-control"), "no-store");
    let body = body_json(&response);
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
    assert_eq!(body["technical_meta_data"], json!({}));
    let session_id = body["session_id"].as_u64().expect("integer session id");
    assert!((1..(1 << 53)).contains(&session_id));
    assert_eq!(body["user_id"], "1");
    assert!(body["expire_date"].is_f64(), "a float");
    assert_eq!(body["expire_date"].as_f64(), Some((START + 900) as f64));
    assert_eq!(body["old_access_token"], Value::Null);
    assert_eq!(text(&response).matches("\"expire_date\":1743154200.0").count(), 1);
    let user_keys: Vec<&str> = body["user"].as_object().expect("user").keys().map(String::as_str).collect();
    assert_eq!(
        user_keys,
        [
            "technical_meta_data",
            "meta_data",
            "user_id",
            "user_type",
            "first_name",
            "last_name",
            "middle_name",
            "email",
            "is_active",
            "can_start_analyse_biometry",
            "can_start_analyse_collection",
            "can_start_analyse_documents",
            "can_start_analyse_quality",
            "company_id"
        ]
    );
    assert_eq!(
        body["user"],
        json!({
            "technical_meta_data": {}, "meta_data": {}, "user_id": "1", "user_type": "user",
            "first_name": "Ann", "last_name": "Novak", "middle_name": null, "email": "ann@example.org",
            "is_active": true, "can_start_analyse_biometry": true, "can_start_analyse_collection": true,
            "can_start_analyse_documents": true, "can_start_analyse_quality": true, "company_id": null
        })
    );

    // Stored only by hash, in one family, with the session id.
    let access = token(&body, "access_token");
    let refresh = token(&body, "expire_token");
    assert_eq!((access.len(), refresh.len()), (43, 43));
    assert_ne!(access, refresh);
    let a = f.services.tokens.get(&TokenHash::of(&access)).await.expect("store").expect("access stored");
    let r = f.services.tokens.get(&TokenHash::of(&refresh)).await.expect("store").expect("refresh stored");
    assert_eq!((a.kind, a.audience.as_str()), (TokenKind::Access, AUDIENCE));
    assert_eq!((r.kind, r.audience.as_str()), (TokenKind::Refresh, AUDIENCE));
    assert_eq!(a.idle_timeout, Some(15 * MINUTE), "sliding");
    assert_eq!(r.idle_timeout, None);
    assert_eq!(r.expires_at, f.services.clock.now() + Duration::from_secs(30 * 86_400));
    assert!(a.family.is_some() && a.family == r.family);
    assert_eq!(a.data[SESSION_ID], session_id);
    assert_eq!(r.data[SESSION_ID], session_id);

    let again = f.session().await;
    assert_ne!(again["session_id"], body["session_id"], "a new session per login");
    assert_ne!(token(&again, "access_token"), access);
}

#[tokio::test]
async fn both_paths_are_served_with_and_without_the_trailing_slash() {
    let f = fixture().await;
    let slash = f.post("/api/authorize/auth/", &[], &login_body("ann", PASSWORD)).await;
    assert_eq!(slash.status(), StatusCode::OK);
    let refresh = token(&body_json(&slash), "expire_token");
    let bare = f.post("/api/authorize/refresh", &[], &json!({ "expire_token": refresh }).to_string()).await;
    assert_eq!(bare.status(), StatusCode::OK, "{}", text(&bare));
}

#[tokio::test]
async fn device_info_comes_from_the_body_then_the_headers_then_nulls() {
    let f = fixture().await;
    let body = json!({
        "credentials": {"email": "ann", "password": PASSWORD},
        "device_info": {"device_family": "iPhone", "device_platform": "ios", "device_os": "iOS 17.1",
                        "app_version": "2.0", "app_build": null, "sdk_version": "8.1", "unknown": 5},
    });
    let headers = [("user-agent", "PostmanRuntime/7.15.2")];
    let response = f.post(AUTH_PATH, &headers, &body.to_string()).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
    assert_eq!(
        body_json(&response)["device_info"],
        json!({"device_family": "iPhone", "device_platform": "ios", "device_os": "iOS 17.1", "app_version": "2.0",
               "app_build": null, "device_locale": null, "sdk_version": "8.1", "sdk_build": null, "bundle_id": null})
    );

    let headers = [("user-agent", "PostmanRuntime/7.15.2"), ("accept-language", "cs-CZ,cs;q=0.9")];
    let response = f.post(AUTH_PATH, &headers, &login_body("ann", PASSWORD)).await;
    assert_eq!(
        body_json(&response)["device_info"],
        json!({"device_family": "PostmanRuntime", "device_platform": null, "device_os": null, "app_version": "7.15.2",
               "app_build": null, "device_locale": "cs-CZ", "sdk_version": null, "sdk_build": null, "bundle_id": null})
    );

    let browser = [("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36")];
    let response = f.post(AUTH_PATH, &browser, &login_body("ann", PASSWORD)).await;
    let info = &body_json(&response)["device_info"];
    assert_eq!((&info["device_family"], &info["app_version"]), (&json!("Mozilla"), &json!("5.0")));
    assert_eq!(info["device_os"], "Windows NT 10.0");

    let response = f.login("ann", PASSWORD).await;
    let nulls: serde_json::Map<String, Value> =
        DEVICE_INFO_KEYS.iter().map(|k| ((*k).to_owned(), Value::Null)).collect();
    assert_eq!(body_json(&response)["device_info"], Value::Object(nulls));

    let explicit_null = json!({"credentials": {"email": "ann", "password": PASSWORD}, "device_info": null});
    let response = f.post(AUTH_PATH, &headers, &explicit_null.to_string()).await;
    assert_eq!(body_json(&response)["device_info"]["device_family"], "PostmanRuntime");
}

#[tokio::test]
async fn device_info_of_the_wrong_type_is_code_5_and_nothing_is_stored() {
    let f = fixture().await;
    let wrong = json!({"credentials": {"email": "ann", "password": PASSWORD},
                       "device_info": {"app_build": 12, "bundle_id": ["x"], "device_os": "ok"}});
    let response = f.post(AUTH_PATH, &[], &wrong.to_string()).await;
    assert_error(
        &response,
        400,
        5,
        json!({"device_info.app_build": "must be a string or null", "device_info.bundle_id": "must be a string or null"}),
    );
    let not_object = json!({"credentials": {"email": "ann", "password": PASSWORD}, "device_info": "iPhone"});
    assert_error(
        &f.post(AUTH_PATH, &[], &not_object.to_string()).await,
        400,
        5,
        json!({"device_info": "must be an object"}),
    );
    assert_eq!(f.services.tokens.purge_expired().await.expect("purge"), 0);
}

#[tokio::test]
async fn envelope_and_field_problems_are_codes_3_4_and_5() {
    let f = fixture().await;
    let cases = [
        ("{}", 3, json!({"credentials": "required"})),
        (r#"{"email": "ann", "password": "x"}"#, 3, json!({"credentials": "required"})),
        (r#"{"credentials": "ann"}"#, 3, json!({"credentials": "must be an object"})),
        (r#"{"credentials": null}"#, 3, json!({"credentials": "must be an object"})),
        (
            r#"{"credentials": {}}"#,
            3,
            json!({"credentials.email": "required", "credentials.password": "required"}),
        ),
        (r#"{"credentials": {"email": "ann"}}"#, 3, json!({"credentials.password": "required"})),
        (
            r#"{"credentials": {"email": 42, "password": null}}"#,
            5,
            json!({"credentials.email": "must be a string", "credentials.password": "must be a string"}),
        ),
        (
            r#"{"credentials": {"email": "  ", "password": ""}}"#,
            4,
            json!({"credentials.email": "must not be blank", "credentials.password": "must not be blank"}),
        ),
        (
            r#"{"credentials": {"email": "", "password": 1}}"#,
            5,
            json!({"credentials.email": "must not be blank", "credentials.password": "must be a string"}),
        ),
        (
            r#"{"credentials": {"email": 1}}"#,
            3,
            json!({"credentials.email": "must be a string", "credentials.password": "required"}),
        ),
    ];
    for (body, code, details) in cases {
        let response = f.post(AUTH_PATH, &[], body).await;
        assert_error(&response, 400, code, details);
    }
}

#[tokio::test]
async fn body_type_syntax_size_and_method() {
    let f = fixture().await;
    let broken = f.post(AUTH_PATH, &[], r#"{"credentials": {"#).await;
    assert_error(&broken, 400, 3, Value::Null);
    assert!(
        body_json(&broken)["error_message"].as_str().is_some_and(|m| m.starts_with("JSON parse error - "))
    );
    assert_error(&f.post(AUTH_PATH, &[], "[1, 2]").await, 400, 3, Value::Null);
    assert_error(&f.post(AUTH_PATH, &[], "").await, 400, 3, Value::Null);

    let form = request(
        "POST",
        AUTH_PATH,
        &[("content-type", "application/x-www-form-urlencoded")],
        "email=ann&password=x",
    );
    let form = call(&f.api, form).await;
    assert_error(&form, 415, 3, Value::Null);
    assert_eq!(
        body_json(&form)["error_message"],
        "Unsupported media type \"application/x-www-form-urlencoded\" in request."
    );
    assert_error(&call(&f.api, request("POST", AUTH_PATH, &[], "{}")).await, 415, 3, Value::Null);

    let get = call(&f.api, request("GET", AUTH_PATH, &[], "")).await;
    assert_error(&get, 405, 1, Value::Null);
    assert_eq!(header(&get, "allow"), "POST");
    assert_eq!(body_json(&get)["error_message"], "Method \"GET\" not allowed");
    let put = call(&f.api, request("PUT", REFRESH_PATH, &[], "")).await;
    assert_error(&put, 405, 1, Value::Null);

    let (head, _) = request("POST", AUTH_PATH, &[JSON], "").into_parts();
    let big = f.api.call(0, head, crate::api::RequestBody::TooLarge).await;
    assert_error(&big, 413, 3, Value::Null);
}

#[tokio::test]
async fn bad_credentials_and_unknown_users_look_alike() {
    let f = fixture().await;
    let wrong = f.login("ann", "wrong password").await;
    let unknown = f.login("nobody@example.org", PASSWORD).await;
    for response in [&wrong, &unknown] {
        assert_error(response, 401, 7, Value::Null);
        assert_eq!(body_json(response)["error_message"], "Invalid credentials");
        assert!(response.headers().get("cache-control").is_none());
    }
    assert_eq!(text(&wrong), text(&unknown));
    let padded = f.login("ann", &format!(" {PASSWORD}")).await;
    assert_eq!(padded.status(), StatusCode::UNAUTHORIZED, "passwords are never trimmed");
    assert_eq!(f.login("  ANN@example.org ", PASSWORD).await.status(), StatusCode::OK, "logins are");
}

#[tokio::test]
async fn an_inactive_account_is_403_code_9_or_optionally_401_code_7() {
    let f = fixture().await;
    add_user(&f.services, NewUser { is_active: false, ..new_user("ivan") }).await;
    let response = f.login("ivan", PASSWORD).await;
    assert_error(&response, 403, 9, Value::Null);
    assert_error(&f.login("ivan", "wrong password").await, 401, 7, Value::Null);

    let f = fixture_with(OzConfig { inactive_is_forbidden: false, ..Default::default() }).await;
    add_user(&f.services, NewUser { is_active: false, ..new_user("ivan") }).await;
    let response = f.login("ivan", PASSWORD).await;
    assert_error(&response, 401, 7, Value::Null);
    assert_eq!(text(&response), text(&f.login("ann", "wrong password").await));
}

#[tokio::test]
async fn the_gate_takes_the_header_token_and_refuses_everything_else() {
    let f = fixture().await;
    let session = f.session().await;
    let access = token(&session, "access_token");
    let AuthState::Authenticated(authenticated) = f.check(&access).await else { panic!("authenticated") };
    assert_eq!(authenticated.user.as_ref().map(|u| u.username.as_str()), Some("ann"));

    let anonymous = request("GET", "/app/whoami", &[], "").into_parts().0;
    let AuthState::Denied(denial) = f.oz.gate().check(&anonymous).await else { panic!("denied") };
    assert!(denial.is_no_credentials());
    assert_error(&denial.to_response(), 401, 6, Value::Null);
    let bearer = request("GET", "/", &[("authorization", &format!("Bearer {access}"))], "").into_parts().0;
    assert!(matches!(f.oz.gate().check(&bearer).await, AuthState::Denied(_)), "only the Oz header");

    assert_error(&f.denied("not-a-token").await, 401, 7, Value::Null);
    assert_error(&f.denied(&token(&session, "expire_token")).await, 401, 7, Value::Null);
    let repeated =
        request("GET", "/", &[(TOKEN_HEADER, &access), (TOKEN_HEADER, &access)], "").into_parts().0;
    let AuthState::Denied(denial) = f.oz.gate().check(&repeated).await else { panic!("denied") };
    assert_error(&denial.to_response(), 401, 7, Value::Null);

    // Another dialect's token in the same store.
    let foreign = OpaqueToken::generate().expect("token");
    let record = TokenRecord::new(TokenKind::Access, UserId(1), "amcr", f.services.clock.now(), MINUTE);
    f.services.tokens.put(foreign.hash(), record).await.expect("stored");
    assert_error(&f.denied(foreign.as_str()).await, 401, 7, Value::Null);
}

#[tokio::test]
async fn access_tokens_slide_with_use_and_expire_when_idle() {
    let f = fixture().await;
    let access = token(&f.session().await, "access_token");
    for _ in 0..4 {
        f.clock.advance(10 * MINUTE);
        f.accepted(&access).await;
    }
    let record = f.services.tokens.get(&TokenHash::of(&access)).await.expect("store").expect("live");
    assert_eq!(record.expires_at, f.services.clock.now() + 15 * MINUTE, "40 minutes on, still live");
    f.clock.advance(16 * MINUTE);
    let expired = f.denied(&access).await;
    assert_error(&expired, 401, 8, Value::Null);
    assert_eq!(body_json(&expired)["error_message"], "Access token has expired");
    // Long after, an expired token is merely unknown.
    f.clock.advance(Duration::from_secs(25 * 3600));
    assert_error(&f.denied(&access).await, 401, 7, Value::Null);
}

#[tokio::test]
async fn refresh_returns_a_new_pair_for_the_same_session() {
    let f = fixture().await;
    let session = f.session().await;
    let (a1, r1) = (token(&session, "access_token"), token(&session, "expire_token"));
    f.clock.advance(5 * MINUTE);
    let response = f.refresh(&r1, None).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
    assert_eq!(header(&response, "cache-control"), "no-store");
    let renewed = body_json(&response);
    assert_eq!(renewed["session_id"], session["session_id"]);
    assert_eq!(renewed["user"], session["user"]);
    assert_eq!(renewed["device_info"], session["device_info"]);
    assert_eq!(renewed["old_access_token"], Value::Null);
    assert_eq!(renewed["expire_date"].as_f64(), Some((START + 5 * 60 + 900) as f64));
    let (a2, r2) = (token(&renewed, "access_token"), token(&renewed, "expire_token"));
    assert!(a2 != a1 && r2 != r1);
    let a2_record = f.services.tokens.get(&TokenHash::of(&a2)).await.expect("store").expect("stored");
    let old_family = f.services.tokens.get(&TokenHash::of(&a1)).await.expect("store").expect("live").family;
    assert_eq!(a2_record.family, old_family, "the same session family");

    // The old access token works until the new one is first used...
    f.accepted(&a1).await;
    f.accepted(&a1).await;
    f.accepted(&a2).await;
    // ...then it is revoked (invalid, not expired).
    assert_error(&f.denied(&a1).await, 401, 7, Value::Null);
    f.accepted(&a2).await;
    // The old refresh token is spent at once; the new one works.
    let third = f.refresh(&r2, None).await;
    assert_eq!(third.status(), StatusCode::OK);
}

#[tokio::test]
async fn refresh_names_the_presented_previous_access_token() {
    let f = fixture().await;
    let session = f.session().await;
    let a1 = token(&session, "access_token");
    let response = f.refresh(&token(&session, "expire_token"), Some(&a1)).await;
    assert_eq!(body_json(&response)["old_access_token"], a1.as_str());
    let other = f.session().await;
    let response =
        f.refresh(&token(&body_json(&response), "expire_token"), Some(&token(&other, "access_token"))).await;
    assert_eq!(body_json(&response)["old_access_token"], Value::Null, "not this session's token");
}

#[tokio::test]
async fn refreshing_twice_before_use_retires_every_older_access_token() {
    let f = fixture().await;
    let session = f.session().await;
    let a1 = token(&session, "access_token");
    let second = body_json(&f.refresh(&token(&session, "expire_token"), None).await);
    let a2 = token(&second, "access_token");
    let third = body_json(&f.refresh(&token(&second, "expire_token"), None).await);
    let a3 = token(&third, "access_token");
    f.accepted(&a1).await;
    f.accepted(&a2).await;
    f.accepted(&a3).await;
    assert_error(&f.denied(&a1).await, 401, 7, Value::Null);
    assert_error(&f.denied(&a2).await, 401, 7, Value::Null);
    f.accepted(&a3).await;
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_revokes_the_session() {
    let f = fixture().await;
    let session = f.session().await;
    let r1 = token(&session, "expire_token");
    let renewed = body_json(&f.refresh(&r1, None).await);
    let (a2, r2) = (token(&renewed, "access_token"), token(&renewed, "expire_token"));
    // Within the reuse grace period the repeat is a twin: a session object of the same session.
    f.clock.advance(Duration::from_secs(9));
    let twin = body_json(&f.refresh(&r1, None).await);
    assert_eq!(twin["session_id"], renewed["session_id"], "{twin}");
    let twin_access = token(&twin, "access_token");
    f.accepted(&twin_access).await;
    f.accepted(&a2).await;
    // After it, a replay.
    f.clock.advance(Duration::from_secs(2));
    let replay = f.refresh(&r1, None).await;
    assert_error(&replay, 401, 7, Value::Null);
    assert_error(&f.denied(&twin_access).await, 401, 7, Value::Null);
    assert_error(&f.refresh(&token(&twin, "expire_token"), None).await, 401, 7, Value::Null);
    assert_eq!(
        body_json(&replay)["error_message"],
        "Refresh token has already been used; the session is revoked"
    );
    assert_error(&f.denied(&a2).await, 401, 7, Value::Null);
    assert_error(&f.denied(&token(&session, "access_token")).await, 401, 7, Value::Null);
    assert_error(&f.refresh(&r2, None).await, 401, 7, Value::Null);
    // Other sessions of the user are untouched.
    f.accepted(&token(&f.session().await, "access_token")).await;
}

#[tokio::test]
async fn expired_unknown_and_wrong_kind_refresh_tokens_are_refused() {
    let f = fixture().await;
    let session = f.session().await;
    f.clock.advance(Duration::from_secs(30 * 86_400));
    let expired = f.refresh(&token(&session, "expire_token"), None).await;
    assert_error(&expired, 401, 8, Value::Null);
    assert_eq!(body_json(&expired)["error_message"], "Refresh token has expired");
    assert_error(&f.refresh("never-issued", None).await, 401, 7, Value::Null);
    let live = f.session().await;
    assert_error(&f.refresh(&token(&live, "access_token"), None).await, 401, 7, Value::Null);
    f.accepted(&token(&live, "access_token")).await;

    assert_error(&f.post(REFRESH_PATH, &[], "{}").await, 400, 3, json!({"expire_token": "required"}));
    assert_error(
        &f.post(REFRESH_PATH, &[], r#"{"expire_token": 5}"#).await,
        400,
        5,
        json!({"expire_token": "must be a string"}),
    );
    assert_error(
        &f.post(REFRESH_PATH, &[], r#"{"expire_token": " "}"#).await,
        400,
        4,
        json!({"expire_token": "must not be blank"}),
    );
}

#[tokio::test]
async fn a_login_presenting_a_live_token_supersedes_it() {
    let f = fixture().await;
    let first = f.session().await;
    let a1 = token(&first, "access_token");
    let response = f.post(AUTH_PATH, &[(TOKEN_HEADER, &a1)], &login_body("ann", PASSWORD)).await;
    let second = body_json(&response);
    assert_eq!(second["old_access_token"], a1.as_str());
    assert_error(&f.denied(&a1).await, 401, 7, Value::Null);
    assert_error(&f.refresh(&token(&first, "expire_token"), None).await, 401, 7, Value::Null);
    f.accepted(&token(&second, "access_token")).await;

    // Another user's token, or garbage, is ignored and left alone.
    add_user(&f.services, new_user("bob")).await;
    let bob = f.login("bob", PASSWORD).await;
    let bob_access = token(&body_json(&bob), "access_token");
    let response = f.post(AUTH_PATH, &[(TOKEN_HEADER, &bob_access)], &login_body("ann", PASSWORD)).await;
    assert_eq!(body_json(&response)["old_access_token"], Value::Null);
    f.accepted(&bob_access).await;
    let response = f.post(AUTH_PATH, &[(TOKEN_HEADER, "garbage")], &login_body("ann", PASSWORD)).await;
    assert_eq!(body_json(&response)["old_access_token"], Value::Null);
}

#[tokio::test]
async fn deactivated_users_are_refused_with_code_9() {
    let f = fixture().await;
    let session = f.session().await;
    let ann = f.services.users.find_by_login("ann").await.expect("store").expect("ann");
    let update = ProfileUpdate { is_active: Some(false), ..Default::default() };
    f.services.users.update_profile(ann.id, update).await.expect("deactivated");
    assert_error(&f.denied(&token(&session, "access_token")).await, 403, 9, Value::Null);
    assert_error(&f.refresh(&token(&session, "expire_token"), None).await, 403, 9, Value::Null);
}

#[tokio::test]
async fn user_attributes_fill_the_user_object() {
    let f = fixture().await;
    let mut new = new_user("jana")
        .with_email("jana@example.org")
        .with_names("Jana", "Nováková")
        .with_attribute("middle_name", "Marie")
        .with_attribute("company_id", 4711)
        .with_attribute("oz_meta_data", json!({"team": "B"}))
        .with_attribute("oz_technical_meta_data", "not an object")
        .with_attribute("oz_can_start_analyse_documents", false);
    new.is_admin = true;
    add_user(&f.services, new).await;
    let user = &body_json(&f.login("jana", PASSWORD).await)["user"];
    assert_eq!(user["user_type"], "admin");
    assert_eq!(user["middle_name"], "Marie");
    assert_eq!(user["company_id"], "4711");
    assert_eq!(user["meta_data"], json!({"team": "B"}));
    assert_eq!(user["technical_meta_data"], json!({}));
    assert_eq!(user["can_start_analyse_documents"], false);
    assert_eq!(user["can_start_analyse_quality"], true);

    add_user(&f.services, new_user("op").with_attribute("oz_user_type", "OPERATOR")).await;
    let f2 = fixture_with(OzConfig { can_start_analyse_default: false, ..Default::default() }).await;
    let user = &body_json(&f2.login("ann", PASSWORD).await)["user"];
    assert_eq!(user["can_start_analyse_biometry"], false);
    assert_eq!(body_json(&f.login("op", PASSWORD).await)["user"]["user_type"], "OPERATOR");
}

/// A user store whose backend is down.
struct DownUsers;

fn down() -> StoreError {
    StoreError::unavailable(std::io::Error::other("connection refused"))
}

#[async_trait]
impl UserStore for DownUsers {
    async fn find_by_login(&self, _: &str) -> Result<Option<User>, StoreError> {
        Err(down())
    }
    async fn get(&self, _: UserId) -> Result<Option<User>, StoreError> {
        Err(down())
    }
    async fn list(&self, _: &crate::store::UserQuery) -> Result<crate::store::UserPage, StoreError> {
        Err(down())
    }
    async fn create(&self, _: NewUser) -> Result<User, StoreError> {
        Err(down())
    }
    async fn set_password_hash(&self, _: UserId, _: &str) -> Result<(), StoreError> {
        Err(down())
    }
    async fn update_profile(&self, _: UserId, _: ProfileUpdate) -> Result<User, StoreError> {
        Err(down())
    }
}

#[tokio::test]
async fn a_store_outage_is_503_code_0_and_spends_nothing() {
    let f = fixture().await;
    let session = f.session().await;
    let mut services = f.services.clone();
    services.users = Arc::new(DownUsers);
    let oz = Oz::new(services, OzConfig::default());
    let api = oz.api();
    let login = call(&api, request("POST", AUTH_PATH, &[JSON], &login_body("ann", PASSWORD))).await;
    assert_error(&login, 503, 0, Value::Null);
    let refresh = call(
        &api,
        request(
            "POST",
            REFRESH_PATH,
            &[JSON],
            &json!({"expire_token": token(&session, "expire_token")}).to_string(),
        ),
    )
    .await;
    assert_error(&refresh, 503, 0, Value::Null);
    let head = request("GET", "/", &[(TOKEN_HEADER, &token(&session, "access_token"))], "").into_parts().0;
    let AuthState::Denied(denial) = oz.gate().check(&head).await else { panic!("denied") };
    assert_error(&denial.to_response(), 503, 0, Value::Null);
    // The refresh token was not spent by the failed refresh.
    assert_eq!(f.refresh(&token(&session, "expire_token"), None).await.status(), StatusCode::OK);
}

#[test]
fn renderer_maps_every_common_error() {
    let renderer = OzRenderer::new(true);
    let head = request("GET", "/", &[], "").into_parts().0;
    let busy = renderer.respond(&ApiError::Busy, &head);
    assert_error(&busy, 503, 0, Value::Null);
    assert_eq!(header(&busy, "retry-after"), "1");
    assert_error(&renderer.render(&ApiError::Internal, &head), 500, 0, Value::Null);
    assert_error(&renderer.render(&ApiError::IncompleteBody, &head), 400, 3, Value::Null);
    assert_error(&renderer.render(&ApiError::Forbidden("No access"), &head), 403, 9, Value::Null);
    assert_error(&renderer.render(&ApiError::Rejected(Rejection::Expired), &head), 401, 8, Value::Null);
    let inactive = ApiError::Rejected(Rejection::Invalid(InvalidToken::InactiveUser));
    assert_error(&OzRenderer::new(false).render(&inactive, &head), 401, 7, Value::Null);
    let numbers: Vec<u8> = [
        ErrorCode::Unknown,
        ErrorCode::NotAllowed,
        ErrorCode::NotRealized,
        ErrorCode::InvalidStructure,
        ErrorCode::InvalidValue,
        ErrorCode::InvalidType,
        ErrorCode::AuthNotProvided,
        ErrorCode::AuthInvalid,
        ErrorCode::AuthExpired,
        ErrorCode::AuthForbidden,
        ErrorCode::NotExist,
        ErrorCode::ExternalService,
    ]
    .into_iter()
    .map(ErrorCode::number)
    .collect();
    assert_eq!(numbers, (0..=11).collect::<Vec<u8>>());
}

#[test]
fn device_info_from_odd_headers() {
    let headers = |pairs: &[(&str, &str)]| request("GET", "/", pairs, "").into_parts().0.headers;
    assert_eq!(DeviceInfo::from_headers(&headers(&[])), DeviceInfo::default());
    let info = DeviceInfo::from_headers(&headers(&[("user-agent", "curl"), ("accept-language", "*")]));
    assert_eq!((info.device_family.as_deref(), info.app_version), (Some("curl"), None));
    assert_eq!(info.device_locale, None);
    let long = "x".repeat(500);
    let info = DeviceInfo::from_headers(&headers(&[("user-agent", &long)]));
    assert_eq!(info.device_family.map(|f| f.len()), Some(128));
}
