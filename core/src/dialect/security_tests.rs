//! Abuse resistance across the five dialects: no user enumeration, lockouts answered 429 with
//! `Retry-After`, a flooded hasher answered 503 at once, audit events without secrets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::json;

use super::Dialect as _;
use super::testing::{PASSWORD, add_user, call, header, new_user, request, services, text};
use super::{amcr, meldeschein, minisass, oz, tdar};
use crate::api::{Api, ApiResponse, AuthState};
use crate::audit::{AuthEvent, AuthEvents};
use crate::mailer::OutboxMailer;
use crate::password::{
    Argon2Params, Argon2idHasher, PasswordError, PasswordHasher, PasswordService, Verification,
};
use crate::services::Services;
use crate::token::jwt::{JwtKey, JwtService, KeyRing};

const JSON: (&str, &str) = ("content-type", "application/json");
const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const MINISASS_BASE: &str = "https://minisass.example.org/reset/";

/// Counts hash operations; optionally slow.
struct CountingHasher {
    inner: Argon2idHasher,
    operations: AtomicUsize,
    delay: Duration,
}

impl PasswordHasher for CountingHasher {
    fn hash(&self, password: &[u8]) -> Result<String, PasswordError> {
        self.operations.fetch_add(1, Ordering::SeqCst);
        self.inner.hash(password)
    }
    fn verify(&self, password: &[u8], phc: &str) -> Result<Verification, PasswordError> {
        self.operations.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        self.inner.verify(password, phc)
    }
    fn dummy_verify(&self, password: &[u8]) {
        self.operations.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        self.inner.dummy_verify(password);
    }
}

fn counting(delay: Duration) -> Arc<CountingHasher> {
    let inner = Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests()).expect("params");
    Arc::new(CountingHasher { inner, operations: AtomicUsize::new(0), delay })
}

fn jwt(services: &Services) -> JwtService {
    let ring = KeyRing::new("k1", JwtKey::hs256(&[7u8; 32]).expect("key")).expect("ring");
    JwtService::new(ring, services.clock.clone())
}

/// Every dialect's API with its login request for `(login, password)`.
struct Dialect {
    name: &'static str,
    api: Api,
    login: fn(&str, &str) -> http::Request<bytes::Bytes>,
}

fn dialects(services: &Services) -> Vec<Dialect> {
    let tdar = tdar::Tdar::new(services.clone(), tdar::TdarConfig::default()).expect("tdar config");
    let minisass = minisass::Minisass::new(
        services.clone(),
        jwt(services),
        Arc::new(OutboxMailer::new()),
        minisass::MinisassConfig { reset_link_base: MINISASS_BASE.into(), ..Default::default() },
    );
    vec![
        Dialect {
            name: "amcr",
            api: amcr::Amcr::new(services.clone(), amcr::AmcrConfig::default()).api(),
            login: |u, p| {
                request(
                    "POST",
                    amcr::TOKEN_AUTH_PATH,
                    &[JSON],
                    &json!({"username": u, "password": p}).to_string(),
                )
            },
        },
        Dialect {
            name: "meldeschein",
            api: meldeschein::Meldeschein::new(services.clone(), jwt(services), Default::default()).api(),
            login: |u, p| {
                request(
                    "POST",
                    meldeschein::TOKEN_PATH,
                    &[JSON],
                    &json!({"username": u, "password": p}).to_string(),
                )
            },
        },
        Dialect {
            name: "oz",
            api: oz::Oz::new(services.clone(), oz::OzConfig::default()).api(),
            login: |u, p| {
                let body = json!({"credentials": {"email": u, "password": p}}).to_string();
                request("POST", oz::AUTH_PATH, &[JSON], &body)
            },
        },
        Dialect {
            name: "tdar",
            api: tdar.api(),
            login: |u, p| {
                let enc = |s: &str| {
                    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
                };
                let body = format!("userLogin.loginUsername={}&userLogin.loginPassword={}", enc(u), enc(p));
                request("POST", tdar::LOGIN_PATH, &[FORM], &body)
            },
        },
        Dialect {
            name: "minisass/login",
            api: minisass.api(),
            login: |u, p| {
                request(
                    "POST",
                    minisass::LOGIN_PATH,
                    &[JSON],
                    &json!({"email": u, "password": p}).to_string(),
                )
            },
        },
        Dialect {
            name: "minisass/token",
            api: minisass.api(),
            login: |u, p| {
                request(
                    "POST",
                    minisass::TOKEN_PATH,
                    &[JSON],
                    &json!({"username": u, "password": p}).to_string(),
                )
            },
        },
    ]
}

async fn fixture(delay: Duration) -> (Services, Arc<CountingHasher>) {
    let (services, _clock) = services();
    let hasher = counting(delay);
    let services = services.with_passwords(PasswordService::new(hasher.clone()));
    add_user(&services, new_user("ann").with_email("ann@example.org")).await;
    (services, hasher)
}

/// Status, headers and body, in order.
fn transcript(response: &ApiResponse) -> (StatusCode, Vec<(String, String)>, String) {
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != http::header::DATE)
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_owned()))
        .collect();
    (response.status(), headers, text(response))
}

#[tokio::test]
async fn unknown_and_known_accounts_get_identical_answers_at_identical_cost() {
    for index in 0..6 {
        // Fresh counters per dialect: the lockout counts every failure.
        let (services, hasher) = fixture(Duration::ZERO).await;
        let dialect = dialects(&services).swap_remove(index);
        let mut seen = Vec::new();
        for login in ["ann", "nobody"] {
            hasher.operations.store(0, Ordering::SeqCst);
            let response = call(&dialect.api, (dialect.login)(login, "wrong password")).await;
            assert!(response.status().is_client_error(), "{}: {}", dialect.name, text(&response));
            assert_eq!(hasher.operations.load(Ordering::SeqCst), 1, "{}/{login}: one hash", dialect.name);
            seen.push(transcript(&response));
        }
        assert_eq!(seen[0], seen[1], "{}", dialect.name);
    }
}

#[tokio::test]
async fn every_dialect_answers_a_lockout_with_429_and_retry_after() {
    for index in 0..6 {
        // Fresh counters per dialect.
        let (services, hasher) = fixture(Duration::ZERO).await;
        let dialect = dialects(&services).swap_remove(index);
        for login in ["ann", "nobody"] {
            for attempt in 1..=5 {
                let response = call(&dialect.api, (dialect.login)(login, "wrong password")).await;
                let expected = if attempt < 5 { response.status() } else { StatusCode::TOO_MANY_REQUESTS };
                assert_eq!(response.status(), expected, "{} {login} #{attempt}", dialect.name);
                assert_ne!(response.status(), StatusCode::OK);
            }
            hasher.operations.store(0, Ordering::SeqCst);
            let locked = call(&dialect.api, (dialect.login)(login, PASSWORD)).await;
            assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "{}: {}", dialect.name, text(&locked));
            assert_eq!(header(&locked, "retry-after"), "900", "{}", dialect.name);
            assert!(!text(&locked).contains("token\":\""), "{}: no token", dialect.name);
            assert!(
                text(&locked).contains("900"),
                "{}: the body says how long: {}",
                dialect.name,
                text(&locked)
            );
            assert_eq!(
                hasher.operations.load(Ordering::SeqCst),
                0,
                "{}: no hashing while locked",
                dialect.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_hasher_answers_503_at_once_and_the_gate_stays_prompt() {
    let (services, _) = services();
    let hasher = counting(Duration::from_millis(300));
    let passwords =
        PasswordService::builder(hasher.clone()).max_concurrency(1).queue_limit(2).build().expect("service");
    let fast = PasswordService::new(counting(Duration::ZERO));
    add_user(&services.clone().with_passwords(fast), new_user("ann")).await;
    let services = services.with_passwords(passwords);
    let amcr = amcr::Amcr::new(services.clone(), amcr::AmcrConfig::default());
    // A token for the protected route, stored directly.
    let token = crate::token::OpaqueToken::generate().expect("token");
    let ann = services.users.find_by_login("ann").await.expect("lookup").expect("ann");
    let record = crate::store::TokenRecord::new(
        crate::store::TokenKind::Access,
        ann.id,
        amcr::AUDIENCE,
        services.clock.now(),
        Duration::from_secs(3600),
    );
    services.tokens.put(token.hash(), record).await.expect("stored");

    let api = Arc::new(amcr.api());
    let mut logins = Vec::new();
    for n in 0..20 {
        let api = api.clone();
        logins.push(tokio::spawn(async move {
            let started = Instant::now();
            let body = json!({"username": format!("user{n}"), "password": "wrong password"}).to_string();
            let response = call(&api, request("POST", amcr::TOKEN_AUTH_PATH, &[JSON], &body)).await;
            (response, started.elapsed())
        }));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let gate = amcr.gate();
    let (head, ()) = http::Request::get("/app/")
        .header("authorization", format!("Bearer {}", token.as_str()))
        .body(())
        .expect("request")
        .into_parts();
    let started = Instant::now();
    assert!(matches!(gate.check(&head).await, AuthState::Authenticated(_)));
    assert!(started.elapsed() < Duration::from_millis(200), "the gate waited {:?}", started.elapsed());

    let mut busy = 0;
    for login in logins {
        let (response, elapsed) = login.await.expect("joined");
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            busy += 1;
            assert_eq!(header(&response, "retry-after"), "1");
            assert!(elapsed < Duration::from_millis(250), "a busy answer took {elapsed:?}");
        } else {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{}", text(&response));
        }
    }
    assert!(busy >= 17, "only {busy} of 20 were turned away");
}

#[tokio::test]
async fn minisass_reset_requests_are_identical_for_known_and_unknown_addresses() {
    let (services, _) = fixture(Duration::ZERO).await;
    let api = dialects(&services).swap_remove(4).api;
    let mut seen = Vec::new();
    for email in ["ann@example.org", "nobody@example.org"] {
        let body = json!({ "email": email }).to_string();
        seen.push(transcript(
            &call(&api, request("POST", minisass::REQUEST_RESET_PATH, &[JSON], &body)).await,
        ));
    }
    assert_eq!(seen[0].0, StatusCode::OK);
    assert_eq!(seen[0], seen[1]);
}

/// Collects everything logged: each event's target and fields as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut log = self.0.lock().expect("log");
        span.record(&mut Fields(&mut log));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().expect("log")));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut log = self.0.lock().expect("log");
        log.push('\n');
        log.push_str(event.metadata().target());
        event.record(&mut Fields(&mut log));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[derive(Default)]
struct Recorder(Mutex<Vec<AuthEvent>>);

impl AuthEvents for Recorder {
    fn on_event(&self, event: &AuthEvent) {
        self.0.lock().expect("events").push(event.clone());
    }
}

#[tokio::test]
async fn audit_events_are_logged_and_hooked_without_secrets() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let (services, _) = fixture(Duration::ZERO).await;
    let recorder = Arc::new(Recorder::default());
    let services = services.with_events(recorder.clone());
    let outbox = OutboxMailer::new();
    let minisass = minisass::Minisass::new(
        services.clone(),
        jwt(&services),
        Arc::new(outbox.clone()),
        minisass::MinisassConfig { reset_link_base: MINISASS_BASE.into(), ..Default::default() },
    );
    let api = minisass.api();
    let post = |path: &str, body: serde_json::Value| request("POST", path, &[JSON], &body.to_string());

    let wrong =
        call(&api, post(minisass::TOKEN_PATH, json!({"username": "ann", "password": "secret-guess-1"})))
            .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let login =
        call(&api, post(minisass::TOKEN_PATH, json!({"username": "ann", "password": PASSWORD}))).await;
    let tokens: serde_json::Value = serde_json::from_slice(login.body()).expect("json");
    let (access, refresh) =
        (tokens["access"].as_str().expect("access"), tokens["refresh"].as_str().expect("refresh"));
    let logout = request(
        "POST",
        minisass::LOGOUT_PATH,
        &[JSON, ("authorization", &format!("Bearer {access}"))],
        &json!({ "refresh": refresh }).to_string(),
    );
    assert_eq!(call(&api, logout).await.status(), StatusCode::OK);

    let reset = call(&api, post(minisass::REQUEST_RESET_PATH, json!({"email": "ann@example.org"}))).await;
    assert_eq!(reset.status(), StatusCode::OK);
    let mail = outbox.wait_for(1, Duration::from_secs(2)).await;
    let link = mail[0].text_body.lines().find(|l| l.starts_with(MINISASS_BASE)).expect("link").to_owned();
    let (uid, reset_token) = link
        .strip_prefix(MINISASS_BASE)
        .expect("base")
        .trim_end_matches('/')
        .split_once('/')
        .expect("uid/token");
    let new_password = "a brand new secret 42";
    let path = format!("/authentication/api/update-password-reset/{uid}/{reset_token}/");
    let update = call(&api, post(&path, json!({ "newPassword": new_password }))).await;
    assert_eq!(update.status(), StatusCode::OK, "{}", text(&update));

    let log = capture.0.lock().expect("log").clone();
    for secret in [PASSWORD, "secret-guess-1", access, refresh, reset_token, new_password, link.as_str()] {
        assert!(!log.contains(secret), "a secret was logged: {secret}\n{log}");
    }
    for event in ["login_failed", "login_succeeded", "logged_out", "reset_requested", "reset_completed"] {
        assert!(log.contains(&format!("authmount::audit event={event:?}")), "{event} missing:\n{log}");
    }
    let events = recorder.0.lock().expect("events").clone();
    assert!(matches!(events.first(), Some(AuthEvent::LoginFailed { user_id: Some(_), .. })), "{events:?}");
    assert!(events.iter().any(|e| matches!(e, AuthEvent::ResetCompleted { .. })), "{events:?}");
}

#[tokio::test]
async fn a_reset_lifts_the_lockout() {
    let (services, _) = fixture(Duration::ZERO).await;
    let outbox = OutboxMailer::new();
    let minisass = minisass::Minisass::new(
        services.clone(),
        jwt(&services),
        Arc::new(outbox.clone()),
        minisass::MinisassConfig { reset_link_base: MINISASS_BASE.into(), ..Default::default() },
    );
    let api = minisass.api();
    let post = |path: &str, body: serde_json::Value| request("POST", path, &[JSON], &body.to_string());
    for _ in 0..5 {
        call(&api, post(minisass::TOKEN_PATH, json!({"username": "ann", "password": "wrong"}))).await;
    }
    let locked =
        call(&api, post(minisass::TOKEN_PATH, json!({"username": "ann", "password": PASSWORD}))).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    // The reset endpoints do not consult the lockout.
    call(&api, post(minisass::REQUEST_RESET_PATH, json!({"email": "ann@example.org"}))).await;
    let mail = outbox.wait_for(1, Duration::from_secs(2)).await;
    let link = mail[0].text_body.lines().find(|l| l.starts_with(MINISASS_BASE)).expect("link").to_owned();
    let rest = link.strip_prefix(MINISASS_BASE).expect("base").trim_end_matches('/').to_owned();
    let path = format!("/authentication/api/update-password-reset/{rest}/");
    let common = call(&api, post(&path, json!({ "newPassword": "password123" }))).await;
    assert_eq!(common.status(), StatusCode::BAD_REQUEST);
    assert_eq!(text(&common), r#"{"newPassword":["This password is too common."]}"#);
    let update = call(&api, post(&path, json!({ "newPassword": "a brand new secret" }))).await;
    assert_eq!(update.status(), StatusCode::OK, "{}", text(&update));
    let login =
        call(&api, post(minisass::TOKEN_PATH, json!({"username": "ann", "password": "a brand new secret"})))
            .await;
    assert_eq!(login.status(), StatusCode::OK, "{}", text(&login));
}
