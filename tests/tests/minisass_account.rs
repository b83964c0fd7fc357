//! miniSASS's additions for the real clients, with their bad inputs, on both adapters: the
//! `sessionid` cookie session, `user/update/`, `user/password/update/`, the privacy policy
//! consent, activation links, and the endpoints deliberately not served. Every refusal is a
//! clear 4xx and changes nothing.

use std::time::Duration;

use authmount::dialect::minisass::{MinisassConfig, PrivacyPolicy};
use authmount::user::{ProfileUpdate, User};
use authmount_conformance::fixture::minisass_config;
use authmount_conformance::{Case, PASSWORD, Response, on_both_adapters, on_both_adapters_with_minisass};
use serde_json::{Value, json};

const LOGIN: &str = "/authentication/api/login/";
const TOKEN: &str = "/authentication/api/token/";
const STATUS: &str = "/authentication/api/check-auth-status/";
const LOGOUT: &str = "/authentication/api/logout/";
const REGISTER: &str = "/authentication/api/register/";
const USER_UPDATE: &str = "/authentication/api/user/update/";
const PASSWORD_UPDATE: &str = "/authentication/api/user/password/update/";
const PRIVACY_CHECK: &str = "/privacy-policy/check/";
const PRIVACY_CONSENT: &str = "/privacy-policy/consent/";
const ACTIVATION_BASE: &str = "https://minisass.example.org/authentication/api/activate/";

fn not_provided() -> Value {
    json!({"detail": "Authentication credentials were not provided."})
}

fn access_not_valid() -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}],
    })
}

fn assert_status_body(response: &Response, status: u16, body: Value) {
    response.assert_status(status);
    assert_eq!(response.json(), body);
}

/// `login/` for ann: (the answer, the `sessionid` cookie as a `Cookie` header value).
async fn login(t: &Case) -> (Value, String) {
    let response =
        t.client.post(LOGIN).json(&json!({"email": "ann@example.org", "password": PASSWORD})).send().await;
    response.assert_status(200);
    let set_cookie = response.header("set-cookie").to_owned();
    assert!(set_cookie.ends_with("; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=86400"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
    (response.json(), cookie)
}

fn bearer(answer: &Value) -> String {
    format!("Bearer {}", answer["access_token"].as_str().expect("an access token"))
}

async fn ann(t: &Case) -> User {
    t.fixture.services.users.get(t.fixture.ann.id).await.expect("store").expect("ann")
}

#[tokio::test]
async fn the_cookie_session_is_new_at_each_login_and_refused_when_unknown_inactive_or_cross_site() {
    on_both_adapters(|t| async move {
        let (_, first) = login(&t).await;
        // The plain-HTTP test servers still get a Secure cookie: Secure is the default.
        let (_, second) = login(&t).await;
        assert_ne!(first, second, "a new session id at every login");
        let with = |cookie: &str| t.client.get(STATUS).header("cookie", cookie.to_owned());
        with(&second).send().await.assert_status(200);
        // Each login's session is its own: the first stays until it is logged out.
        with(&first).send().await.assert_status(200);

        // `token/` (SimpleJWT's view) opens no cookie session.
        let pair = t.client.post(TOKEN).json(&json!({"username": "ann", "password": PASSWORD})).send().await;
        pair.assert_status(200);
        assert!(!pair.has_header("set-cookie"));
        for key in ["access", "refresh"] {
            t.client.secret(pair.json()[key].as_str().unwrap_or_default());
        }

        // Unknown, empty or malformed cookies are no credentials.
        for cookie in ["sessionid=made-up", "sessionid=", "other=1"] {
            assert_status_body(&with(cookie).send().await, 401, not_provided());
        }
        // A bad bearer token and a bad cookie: the token's refusal.
        let both = with("sessionid=made-up").header("authorization", "Bearer dummy-token").send().await;
        assert_status_body(&both, 401, access_not_valid());

        // Another site, whatever the method: 403, and the session is untouched.
        let cross = with(&second).header("origin", "https://evil.example").send().await;
        cross.assert_status(403);
        let logout =
            t.client.post(LOGOUT).header("cookie", second.clone()).header("origin", "null").send().await;
        logout.assert_status(403);
        with(&second).send().await.assert_status(200);

        // A deactivated account's cookie gets the inactive answer; reactivated, it works again.
        let off = ProfileUpdate { is_active: Some(false), ..Default::default() };
        t.fixture.services.users.update_profile(t.fixture.ann.id, off).await.expect("deactivated");
        assert_status_body(
            &with(&second).send().await,
            401,
            json!({"detail": "User is inactive", "code": "user_inactive"}),
        );
        let on = ProfileUpdate { is_active: Some(true), ..Default::default() };
        t.fixture.services.users.update_profile(t.fixture.ann.id, on).await.expect("reactivated");

        // Logout with the cookie alone, same site: ends that session only, clears the cookie.
        let out = t.client.post(LOGOUT).header("cookie", second.clone()).send().await;
        out.assert_status(200);
        assert_eq!(out.header("set-cookie"), "sessionid=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0");
        assert_status_body(&with(&second).send().await, 401, not_provided());
        with(&first).send().await.assert_status(200);

        // The cookie session ends with its refresh family: an admin's revoke of the user.
        t.fixture.services.tokens.revoke_user(t.fixture.ann.id).await.expect("revoked");
        assert_status_body(&with(&first).send().await, 401, not_provided());
    })
    .await;
}

#[tokio::test]
async fn user_update_refusals_change_nothing_and_flags_are_not_assignable() {
    on_both_adapters(|t| async move {
        let (answer, _) = login(&t).await;
        let authorization = bearer(&answer);
        assert_status_body(&t.client.get(USER_UPDATE).send().await, 401, not_provided());
        assert_status_body(&t.client.post(USER_UPDATE).json(&json!({})).send().await, 401, not_provided());
        let dummy = t.client.get(USER_UPDATE).header("authorization", "Bearer dummy-token").send().await;
        assert_status_body(&dummy, 401, access_not_valid());
        t.client.request("PUT", USER_UPDATE).header("authorization", authorization.clone()).send().await.assert_status(405);

        let before = ann(&t).await;
        let good = json!({"email": "ann@example.org", "name": "Ann", "surname": "Novák"});
        let with = |changes: Value| {
            let mut body = good.clone();
            for (key, value) in changes.as_object().expect("object") {
                match value {
                    Value::Null => drop(body.as_object_mut().expect("object").remove(key)),
                    value => body[key] = value.clone(),
                }
            }
            body
        };
        let cases = [
            (with(json!({"name": ""})), json!({"name": ["This field may not be blank."]})),
            (with(json!({"surname": "  "})), json!({"surname": ["This field may not be blank."]})),
            (with(json!({"name": null, "surname": null})), json!({"name": ["This field is required."], "surname": ["This field is required."]})),
            (with(json!({"email": null})), json!({"email": ["This field is required."]})),
            (with(json!({"email": "not-an-email"})), json!({"email": ["Enter a valid email address."]})),
            (with(json!({"email": "ivan@example.org"})), json!({"email": ["A user with that email already exists."]})),
            (with(json!({"country": 7})), json!({"country": ["Not a valid string."]})),
            (with(json!({"organisation_name": "x".repeat(151)})), json!({"organisation_name": ["Ensure this field has no more than 150 characters."]})),
        ];
        for (body, errors) in cases {
            let response =
                t.client.post(USER_UPDATE).header("authorization", authorization.clone()).json(&body).send().await;
            assert_status_body(&response, 400, errors);
        }
        assert_eq!(ann(&t).await, before, "nothing stored");

        // Flags and identifiers in the body are ignored.
        let sneaky = with(json!({"is_admin": true, "is_superuser": true, "is_active": false, "is_expert": true,
            "user_id": "99", "username": "root", "country": "ZA"}));
        let saved =
            t.client.post(USER_UPDATE).header("authorization", authorization.clone()).json(&sneaky).send().await;
        saved.assert_status(200);
        assert_eq!(
            saved.json(),
            json!({"user_id": t.fixture.ann.id.0.to_string(), "username": "ann", "email": "ann@example.org", "name": "Ann",
                "surname": "Novák", "organisation_type": null, "organisation_name": null, "country": "ZA",
                "is_expert": false, "upload_preference": "wifi"})
        );
        let after = ann(&t).await;
        assert!(after.is_active && !after.is_admin && !after.is_superuser && after.username == "ann");
        assert_eq!(after.attributes.get("ident_cely"), before.attributes.get("ident_cely"), "other attributes kept");
    })
    .await;
}

#[tokio::test]
async fn password_update_refusals_change_nothing_and_a_change_ends_the_other_sessions() {
    on_both_adapters(|t| async move {
        let (answer, cookie) = login(&t).await;
        let authorization = bearer(&answer);
        let (other, other_cookie) = login(&t).await;
        let post = |body: Value| {
            t.client.post(PASSWORD_UPDATE).header("authorization", authorization.clone()).json(&body).send()
        };
        assert_status_body(&t.client.post(PASSWORD_UPDATE).json(&json!({})).send().await, 401, not_provided());
        // The cookie alone does not change a password: the original requires the token.
        let by_cookie = t.client.post(PASSWORD_UPDATE).header("cookie", cookie.clone()).json(&json!({})).send().await;
        assert_status_body(&by_cookie, 401, not_provided());
        let required = json!(["This field is required."]);
        assert_status_body(
            &post(json!({})).await,
            400,
            json!({"old_password": required, "password": required, "confirm_password": required}),
        );
        let new = "Another-good-one-7";
        assert_status_body(
            &post(json!({"old_password": "wrong", "password": new, "confirm_password": new})).await,
            400,
            json!({"old_password": ["Wrong old password"]}),
        );
        assert_status_body(
            &post(json!({"old_password": PASSWORD, "password": new, "confirm_password": "different"})).await,
            400,
            json!({"confirm_password": ["Confirmed password is not same as new password."]}),
        );
        let weak = post(json!({"old_password": "wrong", "password": "short", "confirm_password": "short"})).await;
        assert_status_body(
            &weak,
            400,
            json!({"password": ["This password is too short. It must contain at least 8 characters."], "old_password": ["Wrong old password"]}),
        );
        // Nothing changed: the old password still logs in.
        login(&t).await;

        let changed = post(json!({"old_password": PASSWORD, "password": new, "confirm_password": new})).await;
        assert_status_body(&changed, 200, json!({"status": "OK"}));
        // This session goes on; the others (token and cookie) are over.
        t.client.get(STATUS).header("authorization", authorization.clone()).send().await.assert_status(200);
        t.client.get(STATUS).header("cookie", cookie.clone()).send().await.assert_status(200);
        let other_token = t.client.get(STATUS).header("authorization", bearer(&other)).send().await;
        assert_status_body(&other_token, 401, access_not_valid());
        assert_status_body(&t.client.get(STATUS).header("cookie", other_cookie).send().await, 401, not_provided());
        let old = t.client.post(LOGIN).json(&json!({"email": "ann@example.org", "password": PASSWORD})).send().await;
        assert_status_body(&old, 401, json!({"error": "Invalid credentials"}));
        t.client.post(LOGIN).json(&json!({"email": "ann@example.org", "password": new})).send().await.assert_status(200);
    })
    .await;
}

#[tokio::test]
async fn privacy_endpoints_need_a_token_and_a_configured_policy() {
    on_both_adapters(|t| async move {
        assert_status_body(&t.client.get(PRIVACY_CHECK).send().await, 401, not_provided());
        assert_status_body(
            &t.client.post(PRIVACY_CONSENT).json(&json!({"agree": true})).send().await,
            401,
            not_provided(),
        );
        let (answer, cookie) = login(&t).await;
        // No policy configured: everyone counts as agreeing, and there is nothing to check.
        assert_eq!(answer["is_agreed_to_privacy_policy"], true);
        let authorization = bearer(&answer);
        let check = t.client.get(PRIVACY_CHECK).header("authorization", authorization.clone()).send().await;
        assert_status_body(&check, 404, json!({"detail": "No privacy policy available."}));
        let consent = |body: Value| {
            t.client.post(PRIVACY_CONSENT).header("authorization", authorization.clone()).json(&body).send()
        };
        assert_status_body(
            &consent(json!({"agree": true})).await,
            404,
            json!({"detail": "Privacy policy not found."}),
        );
        assert_status_body(
            &consent(json!({"agree": "maybe"})).await,
            400,
            json!({"agree": ["Must be a valid boolean."]}),
        );
        assert_status_body(
            &consent(json!({"agree": [true]})).await,
            400,
            json!({"agree": ["Must be a valid boolean."]}),
        );
        let by_cookie = t.client.get(PRIVACY_CHECK).header("cookie", cookie).send().await;
        assert_status_body(&by_cookie, 401, not_provided());
        assert_eq!(ann(&t).await.attributes.get("minisass"), None, "nothing stored");
    })
    .await;
}

fn with_policy() -> MinisassConfig {
    MinisassConfig {
        privacy_policy: Some(PrivacyPolicy {
            id: 4,
            version: "2".into(),
            link: "https://minisass.org/#/privacy-policy".into(),
            published_at: None,
        }),
        require_activation: true,
        activation_link_base: ACTIVATION_BASE.into(),
        ..minisass_config()
    }
}

#[tokio::test]
async fn consent_counts_for_the_configured_version_only_and_registration_cannot_forge_it() {
    on_both_adapters_with_minisass(with_policy(), |t| async move {
        // A consent recorded for another version does not count.
        let profile = json!({"accepted_privacy_policy_version": "1"});
        let mut attributes = serde_json::Map::new();
        attributes.insert("minisass".into(), profile);
        let update = ProfileUpdate { attributes, ..Default::default() };
        t.fixture.services.users.update_profile(t.fixture.ann.id, update).await.expect("updated");
        let (answer, _) = login(&t).await;
        assert_eq!(answer["is_agreed_to_privacy_policy"], false);
        assert_eq!(answer["accepted_privacy_policy_version"], "2");
        let authorization = bearer(&answer);
        let consent = t
            .client
            .post(PRIVACY_CONSENT)
            .header("authorization", authorization.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("agree=true")
            .send()
            .await;
        consent.assert_status(201);
        assert_eq!(
            consent.json(),
            json!({"user": t.fixture.ann.id.0, "policy": 4, "consent_given": true,
                "consent_date": "2025-06-15T15:06:40Z", "ip_address": "127.0.0.1"})
        );
        let check = t.client.get(PRIVACY_CHECK).header("authorization", authorization).send().await;
        assert_eq!(check.json()["is_agreed_to_privacy_policy"], true);

        // A registration without `agree` has not consented, whatever its free fields say.
        let body = json!({"username": "forger", "first_name": "F", "last_name": "G", "email": "forger@example.org",
            "password": PASSWORD, "organizationType": "NGO", "organizationName": "x", "country": "ZA",
            "accepted_privacy_policy_version": "2", "is_agreed_to_privacy_policy": true, "is_expert": true,
            "confirmPassword": PASSWORD});
        t.client.post(REGISTER).json(&body).send().await.assert_status(201);
        let forger = t.fixture.services.users.find_by_login("forger").await.expect("store").expect("stored");
        assert!(!forger.is_active, "activation is required");
        assert_eq!(
            forger.attributes.get("minisass"),
            Some(&json!({"organisation_type": "NGO", "organisation_name": "x", "country": "ZA"})),
            "neither flags nor the password confirmation are stored"
        );
    })
    .await;
}

#[tokio::test]
async fn activation_links_work_once_for_their_own_account_until_they_expire() {
    on_both_adapters_with_minisass(with_policy(), |t| async move {
        let register = |username: &str| {
            let body = json!({"username": username, "first_name": "A", "last_name": "B",
                "email": format!("{username}@example.org"), "password": PASSWORD,
                "organizationType": "NGO", "organizationName": "x", "country": "ZA"});
            t.client.post(REGISTER).json(&body).send()
        };
        register("first").await.assert_status(201);
        register("second").await.assert_status(201);
        let mail = t.fixture.outbox.wait_for(2, Duration::from_secs(5)).await;
        let mut links = Vec::new();
        for message in &mail {
            let link = message.text_body.lines().find(|l| l.starts_with(ACTIVATION_BASE)).expect("a link");
            let rest = link.strip_prefix(ACTIVATION_BASE).unwrap_or_default().trim_end_matches('/');
            let (uid, token) = rest.split_once('/').expect("uid/token");
            t.client.secret(token);
            links.push((message.to.clone(), uid.to_owned(), token.to_owned()));
        }
        links.sort();
        let [(_, first_uid, first_token), (_, second_uid, second_token)] = &links[..] else {
            panic!("two links: {links:?}")
        };
        let invalid = json!({"error": "Invalid token or expired"});
        let open = |uid: &str, token: &str| {
            t.client.get(&format!("/authentication/api/activate/{uid}/{token}/")).send()
        };
        // Another account's token, garbage, and a uid that is not base64.
        assert_status_body(&open(first_uid, second_token).await, 400, invalid.clone());
        assert_status_body(&open(first_uid, "not-a-token").await, 400, invalid.clone());
        assert_status_body(&open("!!", first_token).await, 400, invalid.clone());
        let login = |username: &str| {
            t.client
                .post(LOGIN)
                .json(&json!({"email": format!("{username}@example.org"), "password": PASSWORD}))
                .send()
        };
        assert_status_body(&login("first").await, 401, json!({"error": "Invalid credentials"}));
        // Without a frontend URL, a working link answers in JSON; then it is used up.
        assert_status_body(&open(first_uid, first_token).await, 200, json!({"message": "Account activated"}));
        assert_status_body(&open(first_uid, first_token).await, 400, invalid.clone());
        login("first").await.assert_status(200);
        // Links expire (3 days by default).
        t.fixture.advance(Duration::from_secs(3 * 24 * 3600));
        assert_status_body(&open(second_uid, second_token).await, 400, invalid);
        assert_status_body(&login("second").await, 401, json!({"error": "Invalid credentials"}));
    })
    .await;
}

#[tokio::test]
async fn a_web_form_registration_needs_an_address_that_makes_a_username() {
    on_both_adapters(|t| async move {
        let form = |email: &str| {
            json!({"username": "", "name": "A", "surname": "B", "email": email, "password": PASSWORD,
                "confirmPassword": PASSWORD, "organizationType": "NGO", "organizationName": "x",
                "country": "ZA", "agree": true})
        };
        let message = "This email address cannot be used as a username: use at most 150 letters, numbers and @/./+/-/_ characters.";
        for email in [format!("{}@example.org", "a".repeat(140)), "o'brien@example.org".to_owned()] {
            let response = t.client.post(REGISTER).json(&form(&email)).send().await;
            assert_status_body(&response, 400, json!({"email": [message], "error": format!("email: {message}")}));
            let stored = t.fixture.services.users.find_by_login(&email).await.expect("store");
            assert!(stored.is_none(), "nothing stored");
        }
        let fine = t.client.post(REGISTER).json(&form("river.keeper+1@example.org")).send().await;
        fine.assert_status(201);
        assert_eq!(fine.json()["username"], "river.keeper+1@example.org");
    })
    .await;
}

#[tokio::test]
async fn endpoints_that_tell_who_is_registered_are_not_served() {
    on_both_adapters(|t| async move {
        for path in [
            "/authentication/api/retrieve-email-by-username/ann/",
            "/authentication/api/check-registration-status/ann@example.org/",
        ] {
            t.client.get(path).send().await.assert_status(404);
        }
        // Without activation configured, any activation link is refused.
        let response = t.client.get("/authentication/api/activate/MQ/abc/").send().await;
        assert_status_body(&response, 400, json!({"error": "Invalid token or expired"}));
    })
    .await;
}
