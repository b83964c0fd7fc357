//! The miniSASS dialect in process: every documented success and error.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::account::{decode_uid, encode_uid, is_valid_email};
use super::*;
use crate::api::AuthState;
use crate::clock::ManualClock;
use crate::dialect::Dialect as _;
use crate::dialect::testing::{
    PASSWORD, add_user, call, header, json as body_json, new_user, request, services, text,
};
use crate::mailer::OutboxMailer;
use crate::token::TokenHash;
use crate::token::jwt::{JwtKey, KeyRing};
use crate::user::{NewUser, ProfileUpdate, UserId};

const JSON: (&str, &str) = ("content-type", "application/json");
const BASE: &str = "https://minisass.example.org/reset/";

struct Fixture {
    services: Services,
    clock: ManualClock,
    outbox: OutboxMailer,
    minisass: Minisass,
    api: Api,
}

async fn fixture_with(config: MinisassConfig) -> Fixture {
    let (services, clock) = services();
    let profile = json!({"is_profile_updated": true, "is_agreed_to_privacy_policy": true, "accepted_privacy_policy_version": 3});
    add_user(
        &services,
        new_user("ann")
            .with_email("ann@example.org")
            .with_names("Ann", "Novak")
            .with_attribute(PROFILE_ATTRIBUTE, profile),
    )
    .await;
    add_user(&services, NewUser { is_active: false, ..new_user("ivan").with_email("ivan@example.org") })
        .await;
    let ring = KeyRing::new("k1", JwtKey::hs256(&[9u8; 32]).expect("key")).expect("ring");
    let jwt = JwtService::new(ring, services.clock.clone());
    let outbox = OutboxMailer::new();
    let minisass = Minisass::new(services.clone(), jwt, Arc::new(outbox.clone()), config);
    let api = minisass.api();
    Fixture { services, clock, outbox, minisass, api }
}

async fn fixture() -> Fixture {
    fixture_with(MinisassConfig { reset_link_base: BASE.into(), ..Default::default() }).await
}

impl Fixture {
    async fn post(&self, path: &str, body: Value) -> ApiResponse {
        call(&self.api, request("POST", path, &[JSON], &body.to_string())).await
    }

    async fn post_with(&self, path: &str, headers: &[(&str, &str)], body: &str) -> ApiResponse {
        call(&self.api, request("POST", path, headers, body)).await
    }

    /// `token/` for ann: (access, refresh).
    async fn pair(&self) -> (String, String) {
        let response = self.post(TOKEN_PATH, json!({"username": "ann", "password": PASSWORD})).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
        let body = body_json(&response);
        (
            body["access"].as_str().expect("access").to_owned(),
            body["refresh"].as_str().expect("refresh").to_owned(),
        )
    }

    async fn status(&self, access: &str) -> ApiResponse {
        let authorization = format!("Bearer {access}");
        call(&self.api, request("GET", CHECK_AUTH_STATUS_PATH, &[("authorization", &authorization)], ""))
            .await
    }

    async fn refresh(&self, refresh: &str) -> ApiResponse {
        self.post(REFRESH_PATH, json!({ "refresh": refresh })).await
    }

    async fn reset_link(&self, email: &str) -> (String, String) {
        let response = self.post(REQUEST_RESET_PATH, json!({ "email": email })).await;
        assert_eq!(response.status(), StatusCode::OK);
        let mail = self.outbox.wait_for(1, Duration::from_secs(2)).await;
        let mail = mail.last().expect("a mail");
        let link = mail.text_body.lines().find(|l| l.starts_with(BASE)).expect("link").to_owned();
        let rest = link.strip_prefix(BASE).expect("base").trim_end_matches('/');
        let (uid, token) = rest.split_once('/').expect("uid/token");
        (uid.to_owned(), token.to_owned())
    }
}

fn assert_401(response: &ApiResponse, body: Value) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{}", text(response));
    assert_eq!(header(response, "www-authenticate"), WWW_AUTHENTICATE);
    assert_eq!(header(response, "content-type"), "application/json");
    assert_eq!(body_json(response), body);
}

fn token_not_valid() -> Value {
    json!({"detail": TOKEN_NOT_VALID, "code": "token_not_valid"})
}

fn blacklisted() -> Value {
    json!({"detail": TOKEN_BLACKLISTED, "code": "token_not_valid"})
}

fn access_not_valid() -> Value {
    access_refused(TOKEN_NOT_VALID)
}

fn access_refused(message: &str) -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
    })
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64");
    serde_json::from_slice(&bytes).expect("claims")
}

#[tokio::test]
async fn login_by_email_or_username_answers_the_documented_shape() {
    let f = fixture().await;
    let response = f.post(LOGIN_PATH, json!({"email": "ann@example.org", "password": PASSWORD})).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
    assert_eq!(header(&response, "cache-control"), "no-store");
    let body = body_json(&response);
    let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "username",
            "email",
            "access_token",
            "refresh_token",
            "is_authenticated",
            "user_id",
            "is_admin",
            "is_profile_updated",
            "is_agreed_to_privacy_policy",
            "accepted_privacy_policy_version"
        ]
    );
    assert_eq!(body["username"], "ann");
    assert_eq!(body["email"], "ann@example.org");
    assert_eq!(body["is_authenticated"], true);
    assert_eq!(body["user_id"], 1);
    assert_eq!(body["is_admin"], false);
    assert_eq!(body["is_profile_updated"], true);
    assert_eq!(body["is_agreed_to_privacy_policy"], true);
    // No privacy policy configured: everyone counts as agreeing, and there is no version.
    assert_eq!(body["accepted_privacy_policy_version"], Value::Null);
    let access = body["access_token"].as_str().expect("access");
    f.status(access).await.status().eq(&StatusCode::OK).then_some(()).expect("the access token works");

    let by_username = f
        .post(LOGIN_PATH, json!({"email": "", "usernameForEmailRetrieval": "ann", "password": PASSWORD}))
        .await;
    assert_eq!(by_username.status(), StatusCode::OK);
    let form = f
        .post_with(
            LOGIN_PATH,
            &[("content-type", "application/x-www-form-urlencoded")],
            "usernameForEmailRetrieval=ann&password=correct+horse+battery",
        )
        .await;
    assert_eq!(form.status(), StatusCode::OK);
    let multipart = "--b\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nANN@example.org\r\n--b\r\n\
         Content-Disposition: form-data; name=\"password\"\r\n\r\ncorrect horse battery\r\n--b--\r\n";
    let multipart =
        f.post_with(LOGIN_PATH, &[("content-type", "multipart/form-data; boundary=b")], multipart).await;
    assert_eq!(multipart.status(), StatusCode::OK, "{}", text(&multipart));
}

#[tokio::test]
async fn login_failures() {
    let f = fixture().await;
    for body in [
        json!({"email": "ann@example.org", "password": "wrong password"}),
        json!({"email": "nobody@example.org", "password": PASSWORD}),
        json!({"email": "ivan@example.org", "password": PASSWORD}),
    ] {
        assert_401(&f.post(LOGIN_PATH, body).await, json!({"error": "Invalid credentials"}));
    }
    let missing = f.post(LOGIN_PATH, json!({})).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        text(&missing),
        r#"{"email":["This field is required."],"password":["This field is required."]}"#
    );
    let mistyped = f.post(LOGIN_PATH, json!({"email": {}, "password": PASSWORD})).await;
    assert_eq!(body_json(&mistyped), json!({"email": ["Not a valid string."]}));
    let unsupported = f.post_with(LOGIN_PATH, &[("content-type", "text/plain")], "x").await;
    assert_eq!(unsupported.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let broken = f.post_with(LOGIN_PATH, &[JSON], "{").await;
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    let get = call(&f.api, request("GET", LOGIN_PATH, &[], "")).await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&get, "allow"), "POST, OPTIONS");
}

#[tokio::test]
async fn options_describe_login_and_register() {
    let f = fixture().await;
    for (path, name) in [(LOGIN_PATH, "Login"), (REGISTER_PATH, "Register")] {
        let response = call(&f.api, request("OPTIONS", path, &[], "")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "allow"), "POST, OPTIONS");
        let body = body_json(&response);
        assert_eq!(body["name"], name);
        assert!(body["description"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(body["renders"], json!(["application/json"]));
        assert_eq!(
            body["parses"],
            json!(["application/json", "application/x-www-form-urlencoded", "multipart/form-data"])
        );
    }
}

#[tokio::test]
async fn token_pair_has_simplejwt_claims_and_a_stored_refresh_record() {
    let f = fixture().await;
    let response = f.post(TOKEN_PATH, json!({"username": "ann", "password": PASSWORD})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(&response).find("\"refresh\""), Some(1), "refresh comes first, as SimpleJWT");
    let body = body_json(&response);
    let access = claims_of(body["access"].as_str().expect("access"));
    let refresh = claims_of(body["refresh"].as_str().expect("refresh"));
    assert_eq!(access["token_type"], "access");
    assert_eq!(refresh["token_type"], "refresh");
    assert_eq!(access["aud"], AUDIENCE);
    assert_eq!(access["user_id"], 1);
    assert_eq!(access["sid"], refresh["sid"]);
    assert_eq!(access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(), 3600);
    assert_eq!(refresh["exp"].as_i64().unwrap() - refresh["iat"].as_i64().unwrap(), 86_400);
    let record = f
        .services
        .tokens
        .get(&TokenHash::of(refresh["jti"].as_str().expect("jti")))
        .await
        .expect("store")
        .expect("the refresh record, by the hash of its jti");
    assert_eq!((record.kind, record.audience.as_str()), (TokenKind::Refresh, AUDIENCE));
    assert_eq!(record.family.as_deref(), refresh["sid"].as_str());

    for body in [
        json!({"username": "ann", "password": "nope nope"}),
        json!({"username": "ivan", "password": PASSWORD}),
    ] {
        assert_401(
            &f.post(TOKEN_PATH, body).await,
            json!({"detail": "No active account found with the given credentials"}),
        );
    }
    let missing = f.post(TOKEN_PATH, json!({"username": "ann"})).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(&missing), json!({"password": ["This field is required."]}));
}

#[tokio::test]
async fn refresh_rotates_and_a_replay_revokes_the_session() {
    let f = fixture().await;
    let (access, refresh) = f.pair().await;
    let first = f.refresh(&refresh).await;
    assert_eq!(first.status(), StatusCode::OK, "{}", text(&first));
    assert_eq!(header(&first, "cache-control"), "no-store");
    let body = body_json(&first);
    let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["access", "refresh"]);
    let new_access = body["access"].as_str().expect("access").to_owned();
    let new_refresh = body["refresh"].as_str().expect("refresh").to_owned();
    assert_eq!(claims_of(&new_refresh)["sid"], claims_of(&refresh)["sid"], "same session");
    assert_eq!(f.status(&new_access).await.status(), StatusCode::OK);
    // Served at token/refresh/ too.
    let live = f.post(TOKEN_REFRESH_PATH, json!({ "refresh": new_refresh })).await;
    assert_eq!(live.status(), StatusCode::OK);
    let newest = body_json(&live)["refresh"].as_str().expect("refresh").to_owned();

    // The first refresh token again, within the reuse grace period: a twin of the first
    // refresh (another tab), answered with a pair of the same session; nothing is revoked.
    f.clock.advance(Duration::from_secs(9));
    let twin = f.refresh(&refresh).await;
    assert_eq!(twin.status(), StatusCode::OK, "{}", text(&twin));
    let twin_access = body_json(&twin)["access"].as_str().expect("access").to_owned();
    assert_eq!(claims_of(&twin_access)["sid"], claims_of(&refresh)["sid"], "same session");
    assert_eq!(f.status(&new_access).await.status(), StatusCode::OK);

    // Again after the grace period: a replay. The whole session ends.
    f.clock.advance(Duration::from_secs(2));
    assert_401(&f.refresh(&refresh).await, blacklisted());
    assert_401(&f.refresh(&newest).await, blacklisted());
    assert_401(&f.status(&twin_access).await, access_not_valid());
    for token in [&access, &new_access] {
        assert_401(&f.status(token).await, access_not_valid());
    }
}

#[tokio::test]
async fn refresh_refuses_bad_expired_and_wrong_type_tokens() {
    let f = fixture().await;
    let (access, refresh) = f.pair().await;
    assert_401(&f.refresh(&access).await, json!({"detail": TOKEN_WRONG_TYPE, "code": "token_not_valid"}));
    assert_401(&f.refresh("not-a-jwt").await, token_not_valid());
    let mut tampered = refresh.clone();
    tampered.pop();
    tampered.push(if refresh.ends_with('A') { 'B' } else { 'A' });
    assert_401(&f.refresh(&tampered).await, token_not_valid());
    let missing = f.post(REFRESH_PATH, json!({})).await;
    assert_eq!(body_json(&missing), json!({"refresh": ["This field is required."]}));
    f.clock.advance(Duration::from_secs(86_400 + 6));
    assert_401(&f.refresh(&refresh).await, token_not_valid());
}

#[tokio::test]
async fn refresh_of_a_deactivated_user_is_refused() {
    let f = fixture().await;
    let (_, refresh) = f.pair().await;
    let off = ProfileUpdate { is_active: Some(false), ..Default::default() };
    f.services.users.update_profile(UserId(1), off).await.expect("deactivated");
    assert_401(
        &f.refresh(&refresh).await,
        json!({"detail": "No active account found for the given token.", "code": "no_active_account"}),
    );
}

#[tokio::test]
async fn without_rotation_the_refresh_token_stays_and_only_access_is_returned() {
    let f = fixture_with(MinisassConfig { rotate_refresh_tokens: false, ..Default::default() }).await;
    let (_, refresh) = f.pair().await;
    for _ in 0..2 {
        let response = f.refresh(&refresh).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = body_json(&response);
        assert_eq!(body.as_object().map(serde_json::Map::len), Some(1));
        assert_eq!(f.status(body["access"].as_str().expect("access")).await.status(), StatusCode::OK);
    }
    // Near the end of the session, an access token lives no longer than its refresh record.
    f.clock.advance(Duration::from_secs(86_400 - 60));
    let late = body_json(&f.refresh(&refresh).await);
    let claims = claims_of(late["access"].as_str().expect("access"));
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 65);
}

#[tokio::test]
async fn check_auth_status_answers_and_refuses_like_simplejwt() {
    let f = fixture().await;
    let (access, refresh) = f.pair().await;
    let response = f.status(&access).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "cache-control"), "no-store");
    let body = body_json(&response);
    assert_eq!(body["is_authenticated"], true);
    assert_eq!((body["username"].as_str(), body["email"].as_str()), (Some("ann"), Some("ann@example.org")));
    assert_eq!(body["is_admin"], false);
    assert_eq!(body["user_id"], 1);

    let none = call(&f.api, request("GET", CHECK_AUTH_STATUS_PATH, &[], "")).await;
    assert_401(&none, json!({"detail": "Authentication credentials were not provided."}));
    let lowercase = format!("bearer {access}");
    let other_case =
        call(&f.api, request("GET", CHECK_AUTH_STATUS_PATH, &[("authorization", &lowercase)], "")).await;
    assert_401(&other_case, json!({"detail": "Authentication credentials were not provided."}));
    let bare = call(&f.api, request("GET", CHECK_AUTH_STATUS_PATH, &[("authorization", "Bearer")], "")).await;
    assert_401(
        &bare,
        json!({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}),
    );
    assert_401(&f.status(&refresh).await, access_refused(TOKEN_WRONG_TYPE));
    assert_401(&f.status("garbage").await, access_not_valid());
    f.clock.advance(Duration::from_secs(3600 + 6));
    assert_401(&f.status(&access).await, access_not_valid());
}

#[tokio::test]
async fn a_deactivated_user_is_refused_by_check_and_gate() {
    let f = fixture().await;
    let (access, _) = f.pair().await;
    let off = ProfileUpdate { is_active: Some(false), ..Default::default() };
    f.services.users.update_profile(UserId(1), off).await.expect("deactivated");
    assert_401(&f.status(&access).await, json!({"detail": "User is inactive", "code": "user_inactive"}));
}

#[tokio::test]
async fn logout_ends_access_and_refresh_at_once() {
    let f = fixture().await;
    // With the access token only.
    let (access, refresh) = f.pair().await;
    let authorization = format!("Bearer {access}");
    let response = f.post_with(LOGOUT_PATH, &[("authorization", &authorization)], "").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(&response), json!({"message": "Logout successful"}));
    assert_401(&f.status(&access).await, access_not_valid());
    assert_401(&f.refresh(&refresh).await, blacklisted());

    // With the refresh token only (form body).
    let (access, refresh) = f.pair().await;
    let form = format!("refresh={refresh}");
    let response =
        f.post_with(LOGOUT_PATH, &[("content-type", "application/x-www-form-urlencoded")], &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_401(&f.status(&access).await, access_not_valid());
    assert_401(&f.refresh(&refresh).await, blacklisted());

    // Other sessions stay; logging out again, or without anything, is still 200.
    let (other, _) = f.pair().await;
    let response = f.post(LOGOUT_PATH, json!({ "refresh": refresh })).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(f.post_with(LOGOUT_PATH, &[], "").await.status(), StatusCode::OK);
    assert_eq!(f.status(&other).await.status(), StatusCode::OK);
    let mistyped = f.post(LOGOUT_PATH, json!({"refresh": ["x"]})).await;
    assert_eq!(mistyped.status(), StatusCode::BAD_REQUEST);
}

fn registration() -> Value {
    json!({
        "username": "test_user",
        "first_name": "test_name",
        "last_name": "test_lastname",
        "email": "test@kartoza.com",
        "password": "test_password",
        "organizationType": "NGO",
        "organizationName": "test",
        "country": "South Africa",
        "additional_fields": "additional_data",
    })
}

#[tokio::test]
async fn register_creates_the_user_with_a_profile() {
    let f = fixture().await;
    let response = f.post(REGISTER_PATH, registration()).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", text(&response));
    assert_eq!(
        body_json(&response),
        json!({"id": 3, "username": "test_user", "email": "test@kartoza.com", "first_name": "test_name", "last_name": "test_lastname"})
    );
    let user = f.services.users.get(UserId(3)).await.expect("store").expect("stored");
    assert_eq!(
        user.attribute(PROFILE_ATTRIBUTE),
        Some(
            &json!({"additional_fields": "additional_data", "organisation_type": "NGO", "organisation_name": "test", "country": "South Africa"})
        )
    );
    assert!(user.is_active && !user.is_admin && !user.is_superuser);
    let login = f.post(LOGIN_PATH, json!({"email": "test@kartoza.com", "password": "test_password"})).await;
    assert_eq!(login.status(), StatusCode::OK);
    // The password just used passes the policy.
    assert_eq!(body_json(&login)["is_profile_updated"], true);
}

#[tokio::test]
async fn register_ignores_privilege_fields() {
    let f = fixture().await;
    let mut body = registration();
    for (key, value) in [
        ("is_admin", json!(true)),
        ("is_superuser", json!(true)),
        ("is_staff", json!(true)),
        ("is_active", json!(false)),
        ("id", json!(99)),
        ("groups", json!(["admins"])),
        ("password_hash", json!("$argon2id$...")),
        ("is_profile_updated", json!(true)),
        ("meldeschein", json!({"gemeinden": [1]})),
    ] {
        body[key] = value;
    }
    let response = f.post(REGISTER_PATH, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(body_json(&response)["id"], 3);
    let user = f.services.users.get(UserId(3)).await.expect("store").expect("stored");
    assert!(user.is_active && !user.is_admin && !user.is_superuser && user.groups.is_empty());
    assert_eq!(user.attribute("meldeschein"), None, "extras never reach other dialects' attributes");
    let profile = user.attribute(PROFILE_ATTRIBUTE).and_then(Value::as_object).expect("profile");
    for key in [
        "is_admin",
        "is_superuser",
        "is_staff",
        "is_active",
        "id",
        "groups",
        "password_hash",
        "is_profile_updated",
    ] {
        assert!(!profile.contains_key(key), "{key}");
    }
    assert!(user.password_hash.as_deref().is_some_and(|h| h.starts_with("$argon2id$v=19$")));
}

#[tokio::test]
async fn register_validates_every_field_and_stores_nothing_on_failure() {
    let f = fixture().await;
    let missing = f.post(REGISTER_PATH, json!({})).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let expected: serde_json::Map<String, Value> = [
        "username",
        "first_name",
        "last_name",
        "email",
        "password",
        "organizationType",
        "organizationName",
        "country",
    ]
    .iter()
    .map(|k| ((*k).to_owned(), json!(["This field is required."])))
    .chain([("error".to_owned(), json!("username: This field is required."))])
    .collect();
    assert_eq!(text(&missing), Value::Object(expected).to_string());
    for field in [
        "username",
        "first_name",
        "last_name",
        "email",
        "password",
        "organizationType",
        "organizationName",
        "country",
    ] {
        let mut body = registration();
        body.as_object_mut().expect("object").remove(field);
        let response = f.post(REGISTER_PATH, body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{field}");
        let error = format!("{field}: This field is required.");
        assert_eq!(
            body_json(&response),
            json!({ field: ["This field is required."], "error": error }),
            "{field}"
        );
    }
    let cases = [
        ("email", json!("not-an-email"), "Enter a valid email address."),
        ("password", json!("short"), "This password is too short. It must contain at least 8 characters."),
        (
            "username",
            json!("bad name!"),
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
        ),
        ("country", json!(""), "This field may not be blank."),
        ("first_name", json!("x".repeat(151)), "Ensure this field has no more than 150 characters."),
    ];
    for (field, value, message) in cases {
        let mut body = registration();
        body[field] = value;
        let response = f.post(REGISTER_PATH, body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(
            body_json(&response),
            json!({ field: [message], "error": format!("{field}: {message}") }),
            "{field}"
        );
    }
    assert!(f.services.users.get(UserId(3)).await.expect("store").is_none(), "nothing stored");

    assert_eq!(f.post(REGISTER_PATH, registration()).await.status(), StatusCode::CREATED);
    let again = f.post(REGISTER_PATH, registration()).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        body_json(&again),
        json!({"username": ["A user with that username already exists."], "error": "username: A user with that username already exists."})
    );
    let mut same_email = registration();
    same_email["username"] = json!("someone_else");
    same_email["email"] = json!("ANN@example.org");
    let taken = f.post(REGISTER_PATH, same_email).await;
    assert_eq!(
        body_json(&taken),
        json!({"email": ["A user with that email already exists."], "error": "This email is already registered."})
    );
    assert!(f.services.users.get(UserId(4)).await.expect("store").is_none(), "nothing stored");
}

#[tokio::test]
async fn request_reset_answers_alike_and_mails_only_known_addresses() {
    let f = fixture().await;
    let known = f.post(REQUEST_RESET_PATH, json!({"email": "ANN@example.org"})).await;
    let unknown = f.post(REQUEST_RESET_PATH, json!({"email": "nobody@example.org"})).await;
    let inactive = f.post(REQUEST_RESET_PATH, json!({"email": "ivan@example.org"})).await;
    let by_username = f.post(REQUEST_RESET_PATH, json!({"email": "ann@x.org"})).await;
    for response in [&known, &unknown, &inactive, &by_username] {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers(), known.headers());
        assert_eq!(response.body(), known.body());
    }
    assert_eq!(body_json(&known), json!({"message": "Password reset email sent"}));
    let mail = f.outbox.wait_for(2, Duration::from_millis(200)).await;
    assert_eq!(mail.len(), 1, "only the known active address gets mail");
    assert_eq!(mail[0].to, "ann@example.org", "the stored address, not the one typed");
    assert_eq!(mail[0].subject, "Reset your miniSASS password");
    assert!(mail[0].text_body.contains(&format!("{BASE}MQ/")), "{}", mail[0].text_body);
    assert!(mail[0].text_body.contains("within 60 minutes"));

    let invalid = f.post(REQUEST_RESET_PATH, json!({"email": "nope"})).await;
    assert_eq!(body_json(&invalid), json!({"email": ["Enter a valid email address."]}));
    let missing = f.post(REQUEST_RESET_PATH, json!({})).await;
    assert_eq!(body_json(&missing), json!({"email": ["This field is required."]}));
    let slash = f.post("/authentication/api/request-reset/", json!({"email": "x@example.org"})).await;
    assert_eq!(slash.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_link_ignores_hostile_host_headers() {
    let f = fixture().await;
    let response = f
        .post_with(
            REQUEST_RESET_PATH,
            &[JSON, ("host", "evil.example"), ("x-forwarded-host", "evil.example")],
            r#"{"email": "ann@example.org"}"#,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mail = f.outbox.wait_for(1, Duration::from_secs(2)).await;
    assert!(!mail[0].text_body.contains("evil"));
    assert!(mail[0].text_body.contains(BASE));
}

#[tokio::test]
async fn reset_token_is_stored_hashed_single_use_and_ends_every_session() {
    let f = fixture().await;
    let (access, refresh) = f.pair().await;
    let (uid, token) = f.reset_link("ann@example.org").await;
    assert_eq!(uid, "MQ");
    let record = f.services.tokens.get(&TokenHash::of(&token)).await.expect("store").expect("stored by hash");
    assert_eq!(
        (record.kind, record.audience.as_str(), record.user_id),
        (TokenKind::PasswordReset, AUDIENCE, UserId(1))
    );
    assert_eq!(record.expires_at, f.services.clock.now() + Duration::from_secs(3600));

    let verify = format!("/authentication/api/verify-password-reset/{uid}/{token}/");
    let update = format!("/authentication/api/update-password-reset/{uid}/{token}/");
    for _ in 0..2 {
        let response = call(&f.api, request("GET", &verify, &[], "")).await;
        assert_eq!(response.status(), StatusCode::OK, "verify does not use the link up");
    }
    // A refused password leaves the link working.
    let short = f.post(&update, json!({"newPassword": "short"})).await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        body_json(&short),
        json!({"newPassword": ["This password is too short. It must contain at least 8 characters."]})
    );
    let missing = f.post(&update, json!({})).await;
    assert_eq!(body_json(&missing), json!({"newPassword": ["This field is required."]}));

    let done = f.post(&update, json!({"newPassword": "a brand new secret"})).await;
    assert_eq!(done.status(), StatusCode::OK, "{}", text(&done));
    assert_eq!(body_json(&done), json!({"message": "Password updated successfully"}));
    assert_401(
        &f.post(&update, json!({"newPassword": "another new secret"})).await,
        json!({"error": "Unauthorized"}),
    );
    assert_401(&call(&f.api, request("GET", &verify, &[], "")).await, json!({"error": "Unauthorized"}));

    assert_401(&f.status(&access).await, access_not_valid());
    assert_401(&f.refresh(&refresh).await, blacklisted());
    let old = f.post(LOGIN_PATH, json!({"email": "ann@example.org", "password": PASSWORD})).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = f.post(LOGIN_PATH, json!({"email": "ann@example.org", "password": "a brand new secret"})).await;
    assert_eq!(new.status(), StatusCode::OK);
}

#[tokio::test]
async fn reset_links_expire_and_bind_to_their_user() {
    let f = fixture().await;
    let (uid, token) = f.reset_link("ann@example.org").await;
    let other_uid = encode_uid(UserId(2));
    for path in [
        format!("/authentication/api/verify-password-reset/{other_uid}/{token}/"),
        format!("/authentication/api/verify-password-reset/1/{token}/"),
        format!("/authentication/api/verify-password-reset/{uid}/not-a-token/"),
        format!("/authentication/api/verify-password-reset/{uid}/{}/", "A".repeat(43)),
    ] {
        assert_401(&call(&f.api, request("GET", &path, &[], "")).await, json!({"error": "Unauthorized"}));
    }
    let wrong_user = format!("/authentication/api/update-password-reset/{other_uid}/{token}/");
    assert_401(
        &f.post(&wrong_user, json!({"newPassword": "a brand new secret"})).await,
        json!({"error": "Unauthorized"}),
    );
    f.clock.advance(Duration::from_secs(3600));
    let expired = format!("/authentication/api/update-password-reset/{uid}/{token}/");
    assert_401(
        &f.post(&expired, json!({"newPassword": "a brand new secret"})).await,
        json!({"error": "Unauthorized"}),
    );
    let login = f.post(LOGIN_PATH, json!({"email": "ann@example.org", "password": PASSWORD})).await;
    assert_eq!(login.status(), StatusCode::OK, "the password is unchanged");
}

#[tokio::test]
async fn the_gate_protects_app_routes() {
    let f = fixture().await;
    let (access, _) = f.pair().await;
    let gate = f.minisass.gate();
    let head = |authorization: &str| {
        http::Request::get("/app")
            .header("authorization", authorization)
            .body(())
            .expect("request")
            .into_parts()
            .0
    };
    match gate.check(&head(&format!("Bearer {access}"))).await {
        AuthState::Authenticated(authenticated) => {
            assert_eq!(authenticated.user.as_ref().map(|u| u.username.as_str()), Some("ann"));
        }
        AuthState::Denied(denial) => panic!("denied: {denial:?}"),
    }
    let AuthState::Denied(denial) = gate.check(&head(&format!("JWT {access}"))).await else {
        panic!("another scheme is no credentials");
    };
    assert!(denial.is_no_credentials());
    assert_eq!(f.minisass.config().access_lifetime, Duration::from_secs(3600));
}

#[test]
fn uids_and_emails() {
    assert_eq!(encode_uid(UserId(1)), "MQ");
    assert_eq!(encode_uid(UserId(42)), "NDI");
    assert_eq!(decode_uid("MQ"), Some(UserId(1)));
    assert_eq!(decode_uid("MQ=="), Some(UserId(1)));
    for bad in ["", "1", "!!", "LTE", "YQ"] {
        assert_eq!(decode_uid(bad), None, "{bad}");
    }
    for good in ["a@b.co", "test@kartoza.com", "first.last+tag@sub.example.org", "x@xn--80ak6aa92e.xn--p1ai"]
    {
        assert!(is_valid_email(good), "{good}");
    }
    for bad in
        ["", "a", "a@", "@b.co", "a@b", "a b@c.co", "a@b..co", "a@-b.co", "a..b@c.co", "a@b.c0", "a@b.co "]
    {
        assert!(!is_valid_email(bad), "{bad}");
    }
}
