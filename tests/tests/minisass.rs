//! miniSASS: login, SimpleJWT token/refresh (rotation and replay detection), check-auth-status,
//! logout, register and the password-reset flow by e-mail, on both adapters.

use std::time::Duration;

use authmount::user::UserId;
use authmount_conformance::fixture::MINISASS_RESET_BASE;
use authmount_conformance::{Case, PASSWORD, Response, on_both_adapters};
use serde_json::{Value, json};

const LOGIN: &str = "/authentication/api/login/";
const TOKEN: &str = "/authentication/api/token/";
const REFRESH: &str = "/authentication/api/refresh/";
const TOKEN_REFRESH: &str = "/authentication/api/token/refresh/";
const STATUS: &str = "/authentication/api/check-auth-status/";
const LOGOUT: &str = "/authentication/api/logout/";
const REGISTER: &str = "/authentication/api/register/";
const REQUEST_RESET: &str = "/authentication/api/request-reset";
const WHOAMI: &str = "/app/minisass/whoami";
const CHALLENGE: &str = "Bearer realm=\"api\"";

fn assert_401(response: &Response, body: Value) {
    response.assert_status(401);
    assert_eq!(response.header("www-authenticate"), CHALLENGE);
    assert_eq!(response.header("content-type"), "application/json");
    assert_eq!(response.json(), body);
}

fn token_not_valid() -> Value {
    json!({"detail": "Token is invalid or expired", "code": "token_not_valid"})
}

/// SimpleJWT's refresh answer for `detail` ("Token has wrong type", "Token is blacklisted").
fn refresh_refused(detail: &str) -> Value {
    json!({"detail": detail, "code": "token_not_valid"})
}

fn access_not_valid() -> Value {
    access_refused("Token is invalid or expired")
}

fn access_refused(message: &str) -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
    })
}

/// The default reuse grace period (`MinisassConfig::refresh_reuse_grace`), and a moment more.
const PAST_THE_GRACE: Duration = Duration::from_secs(11);

/// `token/` for ann: (access, refresh), masked in the transcript.
async fn pair(t: &Case) -> (String, String) {
    let response = t.client.post(TOKEN).json(&json!({"username": "ann", "password": PASSWORD})).send().await;
    response.assert_status(200);
    let body = response.json();
    let access = body["access"].as_str().expect("access").to_owned();
    let refresh = body["refresh"].as_str().expect("refresh").to_owned();
    t.client.secret(&access);
    t.client.secret(&refresh);
    (access, refresh)
}

async fn status(t: &Case, access: &str) -> Response {
    t.client.get(STATUS).header("authorization", format!("Bearer {access}")).send().await
}

async fn refresh(t: &Case, path: &str, token: &str) -> Response {
    let response = t.client.post(path).json(&json!({ "refresh": token })).send().await;
    if response.status == 200 {
        let body = response.json();
        for key in ["access", "refresh"] {
            t.client.secret(body[key].as_str().unwrap_or_default());
        }
    }
    response
}

/// Asks for a reset link for `email` and returns (uid, token) from the mail.
async fn reset_link(t: &Case, email: &str) -> (String, String) {
    t.client.post(REQUEST_RESET).json(&json!({ "email": email })).send().await.assert_status(200);
    let mail = t.fixture.outbox.wait_for(1, Duration::from_secs(5)).await;
    let mail = mail.last().expect("a reset mail");
    let link =
        mail.text_body.lines().find(|l| l.starts_with(MINISASS_RESET_BASE)).expect("the link").to_owned();
    let rest = link.strip_prefix(MINISASS_RESET_BASE).unwrap_or_default().trim_end_matches('/');
    let (uid, token) = rest.split_once('/').expect("uid/token");
    t.client.secret(token);
    (uid.to_owned(), token.to_owned())
}

#[tokio::test]
async fn login_by_email_form_multipart_and_username() {
    on_both_adapters(|t| async move {
        let response = t
            .client
            .post(LOGIN)
            .json(&json!({"email": "ann@example.org", "password": PASSWORD}))
            .send()
            .await;
        response.assert_status(200);
        assert_eq!(response.header("content-type"), "application/json");
        assert_eq!(response.header("cache-control"), "no-store");
        let body = response.json();
        let access = body["access_token"].as_str().expect("access").to_owned();
        let refresh_token = body["refresh_token"].as_str().expect("refresh").to_owned();
        t.client.secret(&access);
        t.client.secret(&refresh_token);
        assert_eq!(
            body,
            json!({
                "username": "ann", "email": "ann@example.org", "access_token": access,
                "refresh_token": refresh_token, "is_authenticated": true, "user_id": t.fixture.ann.id.0,
                "is_admin": false, "is_profile_updated": true, "is_agreed_to_privacy_policy": true,
                "accepted_privacy_policy_version": null,
            })
        );
        status(&t, &access).await.assert_status(200);

        let form =
            t.client.post(LOGIN).form(&[("email", "ANN@example.org"), ("password", PASSWORD)]).send().await;
        form.assert_status(200);
        t.client.secret(form.json()["access_token"].as_str().unwrap_or_default());
        t.client.secret(form.json()["refresh_token"].as_str().unwrap_or_default());
        let multipart = t
            .client
            .post(LOGIN)
            .multipart(&[("email", ""), ("usernameForEmailRetrieval", "ann"), ("password", PASSWORD)])
            .send()
            .await;
        multipart.assert_status(200);
        t.client.secret(multipart.json()["access_token"].as_str().unwrap_or_default());
        t.client.secret(multipart.json()["refresh_token"].as_str().unwrap_or_default());
        // Without the trailing slash too.
        let bare = t
            .client
            .post("/authentication/api/login")
            .json(&json!({"email": "ann", "password": PASSWORD}))
            .send()
            .await;
        bare.assert_status(200);
        t.client.secret(bare.json()["access_token"].as_str().unwrap_or_default());
        t.client.secret(bare.json()["refresh_token"].as_str().unwrap_or_default());
    })
    .await;
}

#[tokio::test]
async fn login_failures_options_and_methods() {
    on_both_adapters(|t| async move {
        for body in [
            json!({"email": "ann@example.org", "password": "wrong password"}),
            json!({"email": "nobody@example.org", "password": PASSWORD}),
            json!({"email": "ivan@example.org", "password": PASSWORD}),
        ] {
            assert_401(
                &t.client.post(LOGIN).json(&body).send().await,
                json!({"error": "Invalid credentials"}),
            );
        }
        let missing = t.client.post(LOGIN).json(&json!({})).send().await;
        missing.assert_status(400);
        assert_eq!(
            missing.text(),
            r#"{"email":["This field is required."],"password":["This field is required."]}"#
        );
        t.client.post(LOGIN).raw("text/plain", "x").send().await.assert_status(415);
        t.client.post(LOGIN).raw("application/json", "{").send().await.assert_status(400);
        let get = t.client.get(LOGIN).send().await;
        get.assert_status(405);
        assert_eq!(get.header("allow"), "POST, OPTIONS");

        for (path, name) in [(LOGIN, "Login"), (REGISTER, "Register")] {
            let options = t.client.request("OPTIONS", path).send().await;
            options.assert_status(200);
            assert_eq!(options.header("allow"), "POST, OPTIONS");
            let body = options.json();
            assert_eq!(body["name"], name);
            assert_eq!(body["renders"], json!(["application/json"]));
            assert_eq!(
                body["parses"],
                json!(["application/json", "application/x-www-form-urlencoded", "multipart/form-data"])
            );
        }
    })
    .await;
}

#[tokio::test]
async fn token_pair_and_its_failures() {
    on_both_adapters(|t| async move {
        let response =
            t.client.post(TOKEN).json(&json!({"username": "ann", "password": PASSWORD})).send().await;
        response.assert_status(200);
        assert_eq!(response.header("cache-control"), "no-store");
        let body = response.json();
        let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, ["refresh", "access"]);
        t.client.secret(body["refresh"].as_str().unwrap_or_default());
        t.client.secret(body["access"].as_str().unwrap_or_default());
        for body in [
            json!({"username": "ann", "password": "nope nope"}),
            json!({"username": "ivan", "password": PASSWORD}),
        ] {
            assert_401(
                &t.client.post(TOKEN).json(&body).send().await,
                json!({"detail": "No active account found with the given credentials"}),
            );
        }
        let missing = t.client.post(TOKEN).form(&[("username", "ann")]).send().await;
        missing.assert_status(400);
        assert_eq!(missing.json(), json!({"password": ["This field is required."]}));
    })
    .await;
}

#[tokio::test]
async fn refresh_rotation_and_reuse_detection() {
    on_both_adapters(|t| async move {
        let (access, first) = pair(&t).await;
        let rotated = refresh(&t, REFRESH, &first).await;
        rotated.assert_status(200);
        let body = rotated.json();
        let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, ["access", "refresh"]);
        let second_access = body["access"].as_str().expect("access").to_owned();
        let second = body["refresh"].as_str().expect("refresh").to_owned();
        status(&t, &second_access).await.assert_status(200);
        let live = refresh(&t, TOKEN_REFRESH, &second).await;
        live.assert_status(200);
        let third = live.json()["refresh"].as_str().expect("refresh").to_owned();

        // The first refresh token again, after the grace period: the whole session is revoked.
        t.fixture.advance(PAST_THE_GRACE);
        assert_401(&refresh(&t, REFRESH, &first).await, refresh_refused("Token is blacklisted"));
        assert_401(&refresh(&t, TOKEN_REFRESH, &third).await, refresh_refused("Token is blacklisted"));
        assert_401(&status(&t, &access).await, access_not_valid());
        assert_401(&status(&t, &second_access).await, access_not_valid());
    })
    .await;
}

/// Two tabs of the web app refresh with the same token at the same moment: both get working
/// tokens of the same session and nothing is revoked; the session still ends as a whole.
#[tokio::test]
async fn two_tabs_refreshing_at_once_both_stay_signed_in() {
    on_both_adapters(|t| async move {
        let (_, shared) = pair(&t).await;
        // `refresh` masks each answer as it arrives: the transcript is the same whichever wins.
        let (one, two) = tokio::join!(refresh(&t, REFRESH, &shared), refresh(&t, REFRESH, &shared));
        one.assert_status(200);
        two.assert_status(200);
        let tabs: Vec<(String, String)> = [one.json(), two.json()]
            .iter()
            .map(|body| {
                (
                    body["access"].as_str().expect("access").into(),
                    body["refresh"].as_str().expect("refresh").into(),
                )
            })
            .collect();
        assert_ne!(tabs[0].1, tabs[1].1, "each tab holds its own refresh token");
        for (access, _) in &tabs {
            status(&t, access).await.assert_status(200);
        }
        // A retry a few seconds later, inside the grace period: forgiven too.
        t.fixture.advance(Duration::from_secs(5));
        let retry = refresh(&t, REFRESH, &shared).await;
        retry.assert_status(200);
        // Each tab goes on refreshing its own token.
        for (_, refresh_token) in &tabs {
            refresh(&t, REFRESH, refresh_token).await.assert_status(200);
        }
        // The shared token once more, after the grace period: theft; the session ends everywhere.
        t.fixture.advance(PAST_THE_GRACE);
        assert_401(&refresh(&t, REFRESH, &shared).await, refresh_refused("Token is blacklisted"));
        for (access, _) in &tabs {
            assert_401(&status(&t, access).await, access_not_valid());
        }
        let retried = retry.json()["access"].as_str().expect("access").to_owned();
        assert_401(&status(&t, &retried).await, access_not_valid());
    })
    .await;
}

#[tokio::test]
async fn refresh_refuses_wrong_type_bad_and_expired_tokens() {
    on_both_adapters(|t| async move {
        let (access, refresh_token) = pair(&t).await;
        assert_401(&refresh(&t, REFRESH, &access).await, refresh_refused("Token has wrong type"));
        assert_401(&refresh(&t, REFRESH, "not.a.jwt").await, token_not_valid());
        let missing = t.client.post(REFRESH).json(&json!({})).send().await;
        missing.assert_status(400);
        assert_eq!(missing.json(), json!({"refresh": ["This field is required."]}));
        t.fixture.advance(Duration::from_secs(86_400 + 6));
        assert_401(&refresh(&t, REFRESH, &refresh_token).await, token_not_valid());
    })
    .await;
}

#[tokio::test]
async fn check_auth_status_and_the_gate() {
    on_both_adapters(|t| async move {
        let (access, refresh_token) = pair(&t).await;
        let response = status(&t, &access).await;
        response.assert_status(200);
        assert_eq!(response.header("cache-control"), "no-store");
        let body = response.json();
        assert_eq!(body["is_authenticated"], true);
        assert_eq!(body["username"], "ann");
        assert_eq!(body["email"], "ann@example.org");
        assert_eq!(body["is_admin"], false);
        let whoami = t.client.get(WHOAMI).header("authorization", format!("Bearer {access}")).send().await;
        whoami.assert_status(200);
        assert_eq!(whoami.json(), json!({"id": t.fixture.ann.id.0, "username": "ann"}));

        let not_provided = json!({"detail": "Authentication credentials were not provided."});
        assert_401(&t.client.get(STATUS).send().await, not_provided.clone());
        assert_401(&t.client.get(WHOAMI).send().await, not_provided.clone());
        let lowercase = t.client.get(STATUS).header("authorization", format!("bearer {access}")).send().await;
        assert_401(&lowercase, not_provided);
        assert_401(&status(&t, &refresh_token).await, access_refused("Token has wrong type"));
        let wrong_type =
            t.client.get(WHOAMI).header("authorization", format!("Bearer {refresh_token}")).send().await;
        assert_401(&wrong_type, access_refused("Token has wrong type"));
        // Access tokens live an hour (the default), plus the verification leeway.
        t.fixture.advance(Duration::from_secs(3600 + 6));
        assert_401(&status(&t, &access).await, access_not_valid());
        let expired = t.client.get(WHOAMI).header("authorization", format!("Bearer {access}")).send().await;
        assert_401(&expired, access_not_valid());
    })
    .await;
}

#[tokio::test]
async fn logout_ends_access_and_refresh_at_once() {
    on_both_adapters(|t| async move {
        let (access, refresh_token) = pair(&t).await;
        let (other_access, _) = pair(&t).await;
        let logout = t.client.post(LOGOUT).header("authorization", format!("Bearer {access}")).send().await;
        logout.assert_status(200);
        assert_eq!(logout.json(), json!({"message": "Logout successful"}));
        assert_401(&status(&t, &access).await, access_not_valid());
        let whoami = t.client.get(WHOAMI).header("authorization", format!("Bearer {access}")).send().await;
        assert_401(&whoami, access_not_valid());
        assert_401(&refresh(&t, REFRESH, &refresh_token).await, refresh_refused("Token is blacklisted"));
        status(&t, &other_access).await.assert_status(200);

        // With the refresh token in the body only.
        let (access, refresh_token) = pair(&t).await;
        let logout = t.client.post(LOGOUT).json(&json!({ "refresh": refresh_token })).send().await;
        logout.assert_status(200);
        assert_401(&status(&t, &access).await, access_not_valid());
        assert_401(&refresh(&t, REFRESH, &refresh_token).await, refresh_refused("Token is blacklisted"));
        // Again, and without anything: still 200.
        t.client.post(LOGOUT).json(&json!({ "refresh": refresh_token })).send().await.assert_status(200);
        t.client.post(LOGOUT).send().await.assert_status(200);
    })
    .await;
}

fn registration() -> Value {
    json!({
        "username": "test_user", "first_name": "test_name", "last_name": "test_lastname",
        "email": "test@kartoza.com", "password": "test_password", "organizationType": "NGO",
        "organizationName": "test", "country": "South Africa", "additional_fields": "additional_data",
    })
}

#[tokio::test]
async fn register_success_duplicate_and_mass_assignment() {
    on_both_adapters(|t| async move {
        let mut body = registration();
        for (key, value) in [
            ("is_admin", json!(true)),
            ("is_superuser", json!(true)),
            ("is_staff", json!(true)),
            ("is_active", json!(false)),
            ("id", json!(99)),
            ("groups", json!(["admins"])),
            ("password_hash", json!("$argon2id$forged")),
        ] {
            body[key] = value;
        }
        let created = t.client.post(REGISTER).json(&body).send().await;
        created.assert_status(201);
        let id = created.json()["id"].as_i64().expect("id");
        assert_eq!(
            created.json(),
            json!({"id": id, "username": "test_user", "email": "test@kartoza.com", "first_name": "test_name", "last_name": "test_lastname"})
        );
        let user = t.fixture.services.users.get(UserId(id)).await.expect("store").expect("stored");
        assert!(user.is_active && !user.is_admin && !user.is_superuser && user.groups.is_empty());
        assert_eq!(user.attribute("minisass").and_then(|p| p.get("organisation_type")), Some(&json!("NGO")));
        assert_eq!(user.attribute("minisass").and_then(|p| p.get("additional_fields")), Some(&json!("additional_data")));
        assert_eq!(user.attribute("minisass").and_then(|p| p.get("is_admin")), None);
        let login = t.client.post(LOGIN).json(&json!({"email": "test@kartoza.com", "password": "test_password"})).send().await;
        login.assert_status(200);
        assert_eq!(login.json()["is_admin"], false);
        t.client.secret(login.json()["access_token"].as_str().unwrap_or_default());
        t.client.secret(login.json()["refresh_token"].as_str().unwrap_or_default());

        let again = t.client.post(REGISTER).json(&registration()).send().await;
        again.assert_status(400);
        assert_eq!(
            again.json(),
            json!({"username": ["A user with that username already exists."], "error": "username: A user with that username already exists."})
        );
        let mut taken_email = registration();
        taken_email["username"] = json!("someone_else");
        taken_email["email"] = json!("ann@example.org");
        let taken = t.client.post(REGISTER).json(&taken_email).send().await;
        taken.assert_status(400);
        assert_eq!(
            taken.json(),
            json!({"email": ["A user with that email already exists."], "error": "This email is already registered."})
        );
        assert!(t.fixture.services.users.find_by_login("someone_else").await.expect("store").is_none());
    })
    .await;
}

#[tokio::test]
async fn register_field_errors_store_nothing() {
    on_both_adapters(|t| async move {
        let fields = [
            "username",
            "first_name",
            "last_name",
            "email",
            "password",
            "organizationType",
            "organizationName",
            "country",
        ];
        let empty = t.client.post(REGISTER).form(&[]).send().await;
        empty.assert_status(400);
        let expected: serde_json::Map<String, Value> =
            fields.iter().map(|k| ((*k).to_owned(), json!(["This field is required."]))).collect();
        let mut expected = expected;
        expected.insert("error".into(), json!("username: This field is required."));
        assert_eq!(empty.text(), Value::Object(expected).to_string());
        for field in fields {
            let mut body = registration();
            body.as_object_mut().expect("object").remove(field);
            let response = t.client.post(REGISTER).json(&body).send().await;
            response.assert_status(400);
            let error = format!("{field}: This field is required.");
            assert_eq!(response.json(), json!({ field: ["This field is required."], "error": error }));
        }
        let mut bad_email = registration();
        bad_email["email"] = json!("not-an-email");
        let response = t.client.post(REGISTER).json(&bad_email).send().await;
        response.assert_status(400);
        assert_eq!(
            response.json(),
            json!({"email": ["Enter a valid email address."], "error": "email: Enter a valid email address."})
        );
        let mut short = registration();
        short["password"] = json!("short");
        let response = t
            .client
            .post(REGISTER)
            .multipart(&[
                ("username", "test_user"),
                ("first_name", "a"),
                ("last_name", "b"),
                ("email", "test@kartoza.com"),
                ("password", "short"),
                ("organizationType", "NGO"),
                ("organizationName", "x"),
                ("country", "ZA"),
            ])
            .send()
            .await;
        response.assert_status(400);
        assert_eq!(
            response.json(),
            json!({
                "password": ["This password is too short. It must contain at least 8 characters."],
                "error": "password: This password is too short. It must contain at least 8 characters.",
            })
        );
        assert_eq!(t.client.post(REGISTER).json(&short).send().await.json(), response.json());
        assert!(
            t.fixture.services.users.find_by_login("test_user").await.expect("store").is_none(),
            "nothing stored"
        );
    })
    .await;
}

#[tokio::test]
async fn request_reset_answers_alike_and_mails_only_known_addresses() {
    on_both_adapters(|t| async move {
        let send = |email: &'static str| {
            let client = t.client.clone();
            async move {
                client
                    .post(REQUEST_RESET)
                    .json(&json!({ "email": email }))
                    .header("host", "evil.example")
                    .header("x-forwarded-host", "evil.example")
                    .send()
                    .await
            }
        };
        let known = send("ann@example.org").await;
        let unknown = send("nobody@example.org").await;
        let inactive = send("ivan@example.org").await;
        for response in [&known, &unknown, &inactive] {
            response.assert_status(200);
            assert_eq!(response.json(), json!({"message": "Password reset email sent"}));
            assert_eq!(response.header("content-type"), known.header("content-type"));
            assert_eq!(response.has_header("cache-control"), known.has_header("cache-control"));
            assert_eq!(response.body, known.body);
        }
        let mail = t.fixture.outbox.wait_for(2, Duration::from_millis(300)).await;
        assert_eq!(mail.len(), 1, "only the known, active address gets mail");
        assert_eq!(mail[0].to, "ann@example.org");
        assert!(mail[0].text_body.contains(&format!("{MINISASS_RESET_BASE}MQ/")), "{:?}", mail[0]);
        assert!(!mail[0].text_body.contains("evil"));
        let slash = t
            .client
            .post("/authentication/api/request-reset/")
            .json(&json!({"email": "x@example.org"}))
            .send()
            .await;
        slash.assert_status(200);
        let invalid = t.client.post(REQUEST_RESET).json(&json!({"email": "nope"})).send().await;
        invalid.assert_status(400);
        assert_eq!(invalid.json(), json!({"email": ["Enter a valid email address."]}));
    })
    .await;
}

#[tokio::test]
async fn reset_verify_update_single_use_and_sessions_end() {
    on_both_adapters(|t| async move {
        let (access, refresh_token) = pair(&t).await;
        let (uid, token) = reset_link(&t, "ann@example.org").await;
        let verify = format!("/authentication/api/verify-password-reset/{uid}/{token}/");
        let update = format!("/authentication/api/update-password-reset/{uid}/{token}/");
        t.client.get(&verify).send().await.assert_status(200);
        t.client.get(&verify).send().await.assert_status(200);
        let short = t.client.post(&update).json(&json!({"newPassword": "short"})).send().await;
        short.assert_status(400);
        assert_eq!(
            short.json(),
            json!({"newPassword": ["This password is too short. It must contain at least 8 characters."]})
        );
        let done = t.client.post(&update).form(&[("newPassword", "a brand new secret")]).send().await;
        done.assert_status(200);
        assert_eq!(done.json(), json!({"message": "Password updated successfully"}));
        let unauthorized = json!({"error": "Unauthorized"});
        assert_401(
            &t.client.post(&update).json(&json!({"newPassword": "another secret!"})).send().await,
            unauthorized.clone(),
        );
        assert_401(&t.client.get(&verify).send().await, unauthorized);
        assert_401(&status(&t, &access).await, access_not_valid());
        assert_401(&refresh(&t, REFRESH, &refresh_token).await, refresh_refused("Token is blacklisted"));
        let old = t
            .client
            .post(LOGIN)
            .json(&json!({"email": "ann@example.org", "password": PASSWORD}))
            .send()
            .await;
        assert_401(&old, json!({"error": "Invalid credentials"}));
        let new = t
            .client
            .post(LOGIN)
            .json(&json!({"email": "ann@example.org", "password": "a brand new secret"}))
            .send()
            .await;
        new.assert_status(200);
        t.client.secret(new.json()["access_token"].as_str().unwrap_or_default());
        t.client.secret(new.json()["refresh_token"].as_str().unwrap_or_default());
    })
    .await;
}

#[tokio::test]
async fn reset_links_expire_and_bad_links_are_refused() {
    on_both_adapters(|t| async move {
        let (uid, token) = reset_link(&t, "ann@example.org").await;
        let unauthorized = json!({"error": "Unauthorized"});
        for path in [
            format!("/authentication/api/verify-password-reset/Mg/{token}/"),
            format!("/authentication/api/verify-password-reset/{uid}/not-a-token/"),
        ] {
            assert_401(&t.client.get(&path).send().await, unauthorized.clone());
        }
        t.fixture.advance(Duration::from_secs(3600));
        let update = format!("/authentication/api/update-password-reset/{uid}/{token}/");
        assert_401(
            &t.client.post(&update).json(&json!({"newPassword": "a brand new secret"})).send().await,
            unauthorized,
        );
        let login = t
            .client
            .post(LOGIN)
            .json(&json!({"email": "ann@example.org", "password": PASSWORD}))
            .send()
            .await;
        login.assert_status(200);
        t.client.secret(login.json()["access_token"].as_str().unwrap_or_default());
        t.client.secret(login.json()["refresh_token"].as_str().unwrap_or_default());
    })
    .await;
}
