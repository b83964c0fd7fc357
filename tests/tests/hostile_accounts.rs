//! Hostile account operations, on both adapters: look-alike usernames, mass assignment on
//! registration, cross-site requests on cookie sessions, session fixation, reset-link host
//! poisoning and reset-token reuse and expiry.

use std::time::Duration;

use authmount::user::UserId;
use authmount_conformance::fixture::MINISASS_RESET_BASE;
use authmount_conformance::hostile::{assert_no_leak, assert_refused_401};
use authmount_conformance::{Case, PASSWORD, Response, on_both_adapters};
use serde_json::{Value, json};

const REGISTER: &str = "/authentication/api/register/";
const MINISASS_LOGIN: &str = "/authentication/api/login/";
const REQUEST_RESET: &str = "/authentication/api/request-reset";
const MINISASS_STATUS: &str = "/authentication/api/check-auth-status/";
const TDAR_LOGIN: &str = "/api/login";
const TDAR_LOGOUT: &str = "/api/logout";
const TDAR_WHOAMI: &str = "/app/tdar/whoami";

fn registration(username: &str, email: &str) -> Value {
    json!({
        "username": username, "first_name": "Ad", "last_name": "Min", "email": email,
        "password": "a long enough password", "organizationType": "NGO",
        "organizationName": "x", "country": "ZA",
    })
}

async fn register(t: &Case, body: &Value) -> Response {
    t.client.post(REGISTER).json(body).send().await
}

/// Logs in to miniSASS and returns the answer's body (tokens masked).
async fn minisass_login(t: &Case, login: &str, password: &str) -> Response {
    let response =
        t.client.post(MINISASS_LOGIN).json(&json!({"email": login, "password": password})).send().await;
    if response.status == 200 {
        t.client.secret(response.json()["access_token"].as_str().unwrap_or_default());
        t.client.secret(response.json()["refresh_token"].as_str().unwrap_or_default());
    }
    response
}

#[tokio::test]
async fn look_alike_usernames_and_emails_conflict_with_the_existing_account() {
    on_both_adapters(|t| async move {
        register(&t, &registration("admin", "admin@example.org")).await.assert_status(201);
        let taken = json!({
            "username": ["A user with that username already exists."],
            "error": "username: A user with that username already exists.",
        });
        // Fullwidth letters (NFKC) and other casings (case folding) are the same login name.
        for username in ["ａｄｍｉｎ", "Admin", "ADMIN", "ａＤＭＩＮ"] {
            let response = register(&t, &registration(username, "other@example.org")).await;
            response.assert_status(400);
            assert_eq!(response.json(), taken, "{username}");
        }
        for email in ["ADMIN@EXAMPLE.ORG", "Admin@Example.Org"] {
            let response = register(&t, &registration("someone", email)).await;
            response.assert_status(400);
            assert_eq!(
                response.json(),
                json!({"email": ["A user with that email already exists."], "error": "This email is already registered."}),
                "{email}"
            );
        }
        // Fullwidth letters are not valid in an address at all.
        let fullwidth = register(&t, &registration("someone", "ａｄｍｉｎ@example.org")).await;
        fullwidth.assert_status(400);
        assert_eq!(
            fullwidth.json(),
            json!({"email": ["Enter a valid email address."], "error": "email: Enter a valid email address."})
        );
        assert!(t.fixture.services.users.get(UserId(5)).await.expect("store").is_none(), "no second admin");
        // The same normalisation lets the fullwidth spelling log in as admin (one identity).
        let fullwidth = minisass_login(&t, "ａｄｍｉｎ", "a long enough password").await;
        fullwidth.assert_status(200);
        assert_eq!(fullwidth.json()["username"], "admin");
        // Cyrillic "а" (U+0430) is another letter, not a compatibility form: NFKC keeps it, so
        // "аdmin" is a different name. Confusable (skeleton) matching is not done; apps that
        // need it can refuse mixed-script names in their own validation.
        let cyrillic = register(&t, &registration("\u{0430}dmin", "cyrillic@example.org")).await;
        cyrillic.assert_status(201);
        let id = cyrillic.json()["id"].as_i64().expect("id");
        assert_eq!(id, 5);
        let stored = t.fixture.services.users.get(UserId(id)).await.expect("store").expect("stored");
        assert_eq!(stored.username, "\u{0430}dmin");
        // Its owner cannot log in to admin's account with it, nor admin to it.
        let cross = minisass_login(&t, "\u{0430}dmin", "a long enough password").await;
        cross.assert_status(200);
        assert_eq!(cross.json()["user_id"], 5);
        let wrong = minisass_login(&t, "admin", PASSWORD).await;
        assert_refused_401(&wrong);
    })
    .await;
}

#[tokio::test]
async fn privileged_fields_in_a_registration_are_ignored_in_every_format() {
    on_both_adapters(|t| async move {
        let mut json_body = registration("mallory", "mallory@example.org");
        for (key, value) in [
            ("is_admin", json!(true)),
            ("is_superuser", json!(true)),
            ("is_staff", json!(true)),
            ("is_active", json!(false)),
            ("id", json!(1)),
            ("user_id", json!(1)),
            ("groups", json!(["Badatel", "admins"])),
            ("password_hash", json!("$argon2id$forged")),
            ("created_at", json!("1970-01-01T00:00:00Z")),
        ] {
            json_body[key] = value;
        }
        let created = register(&t, &json_body).await;
        created.assert_status(201);
        assert_eq!(created.json()["id"], 4, "the store's next id, not the body's");
        let privileged = [
            ("is_admin", "true"),
            ("is_superuser", "true"),
            ("id", "1"),
            ("groups", "Badatel"),
            ("is_active", "false"),
        ];
        let mut form: Vec<(&str, &str)> = vec![
            ("username", "trudy"),
            ("first_name", "T"),
            ("last_name", "R"),
            ("email", "trudy@example.org"),
            ("password", "a long enough password"),
            ("organizationType", "NGO"),
            ("organizationName", "x"),
            ("country", "ZA"),
        ];
        form.extend(privileged);
        t.client.post(REGISTER).form(&form).send().await.assert_status(201);
        let mut multipart = form.clone();
        for (key, value) in [("username", "eve"), ("email", "eve@example.org")] {
            if let Some(field) = multipart.iter_mut().find(|(k, _)| *k == key) {
                field.1 = value;
            }
        }
        t.client.post(REGISTER).multipart(&multipart).send().await.assert_status(201);
        let now = t.fixture.now();
        for (id, name) in [(4, "mallory"), (5, "trudy"), (6, "eve")] {
            let user = t.fixture.services.users.get(UserId(id)).await.expect("store").expect("created");
            assert_eq!(user.username, name);
            assert!(user.is_active && !user.is_admin && !user.is_superuser, "{name}: flags from the body");
            assert!(user.groups.is_empty(), "{name}: groups from the body");
            assert_eq!(user.created_at, now, "{name}: created now");
            assert!(
                user.password_hash
                    .as_deref()
                    .is_some_and(|h| h != "$argon2id$forged" && h.starts_with("$argon2id$"))
            );
            let login = minisass_login(&t, name, "a long enough password").await;
            login.assert_status(200);
            assert_eq!(login.json()["is_admin"], false);
        }
        // The account the body tried to name (id 1) is untouched.
        let ann = t.fixture.services.users.get(t.fixture.ann.id).await.expect("store").expect("ann");
        assert!(ann == t.fixture.ann, "ann's record changed");
    })
    .await;
}

async fn tdar_login(t: &Case, cookie: Option<&str>) -> (Response, String) {
    let mut request = t.client.post(TDAR_LOGIN);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request
        .form(&[("userLogin.loginUsername", "ann"), ("userLogin.loginPassword", PASSWORD)])
        .send()
        .await;
    response.assert_status(200);
    let body = response.text();
    let start = body.find("apiToken=\"").expect("apiToken") + "apiToken=\"".len();
    let key = body[start..].split('"').next().unwrap_or_default().to_owned();
    t.client.secret(&key);
    (response, key)
}

#[tokio::test]
async fn cross_site_requests_cannot_log_a_cookie_session_out() {
    on_both_adapters(|t| async move {
        let (_, key) = tdar_login(&t, None).await;
        let cookie = format!("session.tokenkey={key}");
        let own = t.client.base().to_owned();
        let other_port = format!("{}1", own);
        let refusals: [&[(&str, &str)]; 7] = [
            &[("origin", "https://evil.example")],
            &[("origin", "null")],
            &[("sec-fetch-site", "cross-site")],
            &[("sec-fetch-site", "same-site")],
            &[("origin", own.as_str()), ("sec-fetch-site", "cross-site")],
            &[("origin", own.as_str()), ("origin", "https://evil.example")],
            &[("origin", other_port.as_str())],
        ];
        for headers in refusals {
            let mut request = t.client.post(TDAR_LOGOUT).header("cookie", cookie.clone());
            for (name, value) in headers {
                request = request.header(name, *value);
            }
            let response = request.send().await;
            response.assert_status(403);
            assert_no_leak(&response);
            assert!(
                response.text().contains("Cross-site request refused"),
                "{headers:?}: {}",
                response.text()
            );
            assert!(!response.has_header("set-cookie"), "the cookie is not cleared: {headers:?}");
            t.client.get(TDAR_WHOAMI).header("cookie", cookie.clone()).send().await.assert_status(200);
        }
        // A same-origin logout works.
        let logout =
            t.client.post(TDAR_LOGOUT).header("cookie", cookie.clone()).header("origin", own).send().await;
        logout.assert_status(200);
        t.client.get(TDAR_WHOAMI).header("cookie", cookie).send().await.assert_status(403);
    })
    .await;
}

#[tokio::test]
async fn a_session_key_planted_before_login_is_never_the_session() {
    on_both_adapters(|t| async move {
        let planted = "attacker-chosen-session-key-0123456789abcdefgh";
        let (response, key) = tdar_login(&t, Some(&format!("session.tokenkey={planted}"))).await;
        assert_ne!(key, planted);
        let set_cookie = response.header("set-cookie");
        assert!(set_cookie.starts_with(&format!("session.tokenkey={key}")), "{set_cookie}");
        for probe in [
            t.client.get(TDAR_WHOAMI).header("cookie", format!("session.tokenkey={planted}")).send().await,
            t.client.get(&format!("{TDAR_WHOAMI}?session.tokenkey={planted}")).send().await,
        ] {
            probe.assert_status(403);
            assert_no_leak(&probe);
        }
        // Planted in the query of the login request: the same.
        let response = t
            .client
            .post(&format!("{TDAR_LOGIN}?session.tokenkey={planted}"))
            .form(&[("userLogin.loginUsername", "ann"), ("userLogin.loginPassword", PASSWORD)])
            .send()
            .await;
        response.assert_status(200);
        assert!(!response.text().contains(planted));
        let body = response.text();
        let start = body.find("apiToken=\"").expect("apiToken") + "apiToken=\"".len();
        t.client.secret(body[start..].split('"').next().unwrap_or_default());
        t.client
            .get(TDAR_WHOAMI)
            .header("cookie", format!("session.tokenkey={planted}"))
            .send()
            .await
            .assert_status(403);
        t.client
            .get(TDAR_WHOAMI)
            .header("cookie", format!("session.tokenkey={key}"))
            .send()
            .await
            .assert_status(200);
    })
    .await;
}

#[tokio::test]
async fn reset_links_ignore_every_host_header_and_go_to_the_stored_address() {
    on_both_adapters(|t| async move {
        let poisoned: [(&str, &str); 8] = [
            ("host", "evil.example"),
            ("x-forwarded-host", "evil.example"),
            ("forwarded", "host=evil.example;proto=http"),
            ("x-forwarded-proto", "http"),
            ("x-forwarded-server", "evil.example"),
            ("x-host", "evil.example"),
            ("x-original-url", "https://evil.example/reset"),
            ("referer", "https://evil.example/"),
        ];
        let mut request = t.client.post(REQUEST_RESET).json(&json!({"email": "ANN@Example.org"}));
        for (name, value) in poisoned {
            request = request.header(name, value);
        }
        let response = request.send().await;
        response.assert_status(200);
        assert_eq!(response.json(), json!({"message": "Password reset email sent"}));
        let mail = t.fixture.outbox.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].to, "ann@example.org", "to the stored address, not the typed one");
        assert!(!mail[0].text_body.contains("evil"), "{}", mail[0].text_body);
        assert!(!mail[0].text_body.contains("http://"), "{}", mail[0].text_body);
        assert!(mail[0].text_body.lines().any(|l| l.starts_with(MINISASS_RESET_BASE)));
        // Header injection and a second recipient in the address: refused, nothing mailed.
        for email in [
            "ann@example.org\r\nBcc: eve@evil.example",
            "ann@example.org,eve@evil.example",
            "ann@example.org\neve@evil.example",
        ] {
            let response = t.client.post(REQUEST_RESET).json(&json!({ "email": email })).send().await;
            response.assert_status(400);
            assert_eq!(response.json(), json!({"email": ["Enter a valid email address."]}));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(t.fixture.outbox.messages().len(), 1, "no more mail");
        // Let every reset token expire (for a stable transcript of nothing).
        t.fixture.advance(Duration::from_secs(3600));
    })
    .await;
}

/// Asks for a reset link for ann and returns (uid, token).
async fn reset_link(t: &Case) -> (String, String) {
    // Counted before asking: the mail is sent from a spawned task, so it may not be in the outbox
    // yet when the answer arrives (and a second link would then find the first one's mail).
    let before = t.fixture.outbox.messages().len();
    t.client.post(REQUEST_RESET).json(&json!({"email": "ann@example.org"})).send().await.assert_status(200);
    let mail = t.fixture.outbox.wait_for(before + 1, Duration::from_secs(5)).await;
    let link = mail
        .last()
        .and_then(|m| m.text_body.lines().find(|l| l.starts_with(MINISASS_RESET_BASE)).map(str::to_owned))
        .expect("a link");
    let rest = link.strip_prefix(MINISASS_RESET_BASE).unwrap_or_default().trim_end_matches('/');
    let (uid, token) = rest.split_once('/').expect("uid/token");
    t.client.secret(token);
    (uid.to_owned(), token.to_owned())
}

#[tokio::test]
async fn reset_tokens_are_single_use_bound_to_their_user_and_expire() {
    on_both_adapters(|t| async move {
        let unauthorized = json!({"error": "Unauthorized"});
        let hash_before = t.fixture.ann.password_hash.clone();
        let (uid, token) = reset_link(&t).await;
        t.client.secret(&token[..token.len() - 1]);
        let update =
            |uid: &str, token: &str| format!("/authentication/api/update-password-reset/{uid}/{token}/");
        // Another user's uid with ann's token, a truncated token, the token as a bearer token.
        for path in [update("Mg", &token), update("Mw", &token), update(&uid, &token[..token.len() - 1])] {
            let response =
                t.client.post(&path).json(&json!({"newPassword": "the attacker's password"})).send().await;
            assert_refused_401(&response);
            assert_eq!(response.json(), unauthorized);
        }
        let as_bearer =
            t.client.get(MINISASS_STATUS).header("authorization", format!("Bearer {token}")).send().await;
        assert_refused_401(&as_bearer);
        let ann = t.fixture.services.users.get(t.fixture.ann.id).await.expect("store").expect("ann");
        assert_eq!(ann.password_hash, hash_before, "refused updates change nothing");
        // Used once, then never again.
        let done = t
            .client
            .post(&update(&uid, &token))
            .json(&json!({"newPassword": "a brand new secret"}))
            .send()
            .await;
        done.assert_status(200);
        let replay = t
            .client
            .post(&update(&uid, &token))
            .json(&json!({"newPassword": "the attacker's password"}))
            .send()
            .await;
        assert_refused_401(&replay);
        assert_eq!(replay.json(), unauthorized);
        minisass_login(&t, "ann", "a brand new secret").await.assert_status(200);
        // A second link expires unused.
        let (uid, token) = reset_link(&t).await;
        let after_first =
            t.fixture.services.users.get(t.fixture.ann.id).await.expect("store").expect("ann").password_hash;
        t.fixture.advance(Duration::from_secs(3600));
        let late = t
            .client
            .post(&update(&uid, &token))
            .json(&json!({"newPassword": "the attacker's password"}))
            .send()
            .await;
        assert_refused_401(&late);
        assert_eq!(late.json(), unauthorized);
        let ann = t.fixture.services.users.get(t.fixture.ann.id).await.expect("store").expect("ann");
        assert_eq!(ann.password_hash, after_first, "an expired link changes nothing");
        minisass_login(&t, "ann", "the attacker's password").await.assert_status(401);
    })
    .await;
}
