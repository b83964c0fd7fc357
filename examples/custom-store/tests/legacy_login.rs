//! Legacy Django PBKDF2 hashes: verified against Django's own test vectors, never a panic on a
//! malformed one, and upgraded to argon2id in the file by the first successful login.

mod common;

use std::sync::Arc;
use std::time::SystemTime;

use authmount::api::{Api, ApiResponse, RequestBody};
use authmount::dialect::Dialect;
use authmount::dialect::amcr::{Amcr, AmcrConfig, TOKEN_AUTH_PATH};
use authmount::login::{Authenticator, LoginError};
use authmount::password::{PasswordHasher, PasswordService, Verification};
use authmount::services::Services;
use authmount::store::{MemoryCounterStore, MemoryTokenStore, UserStore};
use authmount::user::NewUser;
use bytes::Bytes;
use common::{TempDir, fast_hasher, file_users};
use custom_store::{JsonUserStore, LegacyAwareHasher};

/// Django's test vectors (`tests/auth_tests/test_hashers.py`, Django 1.4 and 1.5:
/// `make_password(password, "seasalt", "pbkdf2_sha256")` at 10,000 iterations). The same values
/// come from Python's standard library:
///
/// ```text
/// >>> import base64, hashlib
/// >>> base64.b64encode(hashlib.pbkdf2_hmac("sha256", "lètmein".encode(), b"seasalt", 10000)).decode()
/// 'CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY='
/// >>> base64.b64encode(hashlib.pbkdf2_hmac("sha256", b"letmein", b"seasalt", 10000)).decode()
/// 'FQCNpiZpTb0zub+HBsH6TOwyRxJ19FwvjbweatNmK/Y='
/// ```
const DJANGO_VECTORS: [(&str, &str); 2] = [
    ("lètmein", "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY="),
    ("letmein", "pbkdf2_sha256$10000$seasalt$FQCNpiZpTb0zub+HBsH6TOwyRxJ19FwvjbweatNmK/Y="),
];

/// `hashlib.pbkdf2_hmac("sha256", b"correct horse battery", b"Xk3vLqP9sT2mWn8r", 1000)`, base64:
/// a cheap legacy hash for the login tests.
const ANN_LEGACY: &str = "pbkdf2_sha256$1000$Xk3vLqP9sT2mWn8r$xNY+2+QlWJ1dNb3+Jqqqbq9isNErQAANXnjZ+/jIxoc=";
const ANN_PASSWORD: &str = "correct horse battery";

#[test]
fn django_test_vectors_match_and_ask_for_a_rehash() {
    let hasher = fast_hasher();
    for (password, encoded) in DJANGO_VECTORS {
        assert_eq!(
            hasher.verify(password.as_bytes(), encoded).expect("verifies"),
            Verification::Match { needs_rehash: true },
            "{password}"
        );
        for wrong in ["letmeinz", "lètmeinz", "LETMEIN", "", " letmein"] {
            assert_eq!(hasher.verify(wrong.as_bytes(), encoded).expect("verifies"), Verification::Mismatch);
        }
    }
}

#[test]
fn argon2_hashes_are_delegated_and_new_hashes_are_argon2id() {
    let hasher = fast_hasher();
    let fresh = hasher.hash(b"a new password").expect("hashes");
    assert!(fresh.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{fresh}");
    assert_eq!(
        hasher.verify(b"a new password", &fresh).expect("verifies"),
        Verification::Match { needs_rehash: false }
    );
    assert_eq!(hasher.verify(b"another", &fresh).expect("verifies"), Verification::Mismatch);
}

#[test]
fn malformed_or_foreign_hashes_are_mismatches_never_panics() {
    let hasher = fast_hasher().with_max_pbkdf2_iterations(5_000);
    let (password, good) = DJANGO_VECTORS[0];
    let mut stored: Vec<String> = [
        "",
        "!",
        "!q9YmFv3Uu3UAdsTMrXkK4k3d8JaJRiF4zGk1mSwz",
        "pbkdf2_sha256",
        "pbkdf2_sha256$",
        "pbkdf2_sha256$$$",
        "pbkdf2_sha256$10000$seasalt",
        "pbkdf2_sha256$10000$seasalt$",
        "pbkdf2_sha256$abc$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "pbkdf2_sha256$0$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "pbkdf2_sha256$4294967296$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "pbkdf2_sha256$10000$$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY",
        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVYAAAA",
        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=$extra",
        "pbkdf2_sha256$１０000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "pbkdf2_sha1$10000$seasalt$oAfF6vgs95ncksAhGXOWf4Okq7o=",
        "bcrypt_sha256$$2b$12$LqZBmtVMdNFxNchyJ0zdAuf4vy9Ui6xmFcqp1VpI0gcBd8PVTg4lG",
        "md5$seasalt$f5531bef9f3687d0ccf0f617f0e25573",
        "$2b$12$LqZBmtVMdNFxNchyJ0zdAuf4vy9Ui6xmFcqp1VpI0gcBd8PVTg4lG",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        "\u{0}\u{ffff}$$$",
    ]
    .map(str::to_owned)
    .into();
    stored.push(format!("pbkdf2_sha256${}", "$".repeat(10_000)));
    stored.push(format!(
        "pbkdf2_sha256$10000${}$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "s".repeat(100_000)
    ));
    // 10,000 iterations, above the cap of 5,000: refused even with the right password.
    stored.push(good.to_owned());
    for encoded in &stored {
        let outcome = hasher.verify(password.as_bytes(), encoded).expect("no error for a bad stored hash");
        assert_eq!(outcome, Verification::Mismatch, "{:?}", encoded.chars().take(80).collect::<String>());
    }
    // Within the cap the same hash verifies.
    let capped = fast_hasher().with_max_pbkdf2_iterations(10_000);
    assert!(capped.verify(password.as_bytes(), good).expect("verifies").is_match());
    assert_eq!(LegacyAwareHasher::DEFAULT_MAX_PBKDF2_ITERATIONS, fast_hasher().max_pbkdf2_iterations());
}

/// A store in a temporary file holding Ann with her legacy hash, and an authenticator over it.
async fn legacy_fixture() -> (TempDir, Arc<JsonUserStore>, Authenticator) {
    let dir = TempDir::new();
    let store = Arc::new(JsonUserStore::open_or_init(dir.file("users.json")).expect("store"));
    let ann =
        NewUser::new("Ann", SystemTime::now()).with_email("ann@example.org").with_password_hash(ANN_LEGACY);
    store.create(ann).await.expect("created");
    let passwords = PasswordService::new(Arc::new(fast_hasher()));
    let login = Authenticator::new(store.clone(), passwords);
    (dir, store, login)
}

fn ann_hash_in_file(dir: &TempDir) -> String {
    let users = file_users(&dir.file("users.json"));
    users[0]["password_hash"].as_str().expect("a hash").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_legacy_user_logs_in_and_the_file_then_holds_argon2id() {
    let (dir, store, login) = legacy_fixture().await;

    // A wrong password changes nothing.
    assert!(matches!(login.authenticate("ann", "wrong password").await, Err(LoginError::InvalidCredentials)));
    assert_eq!(ann_hash_in_file(&dir), ANN_LEGACY);

    let user = login.authenticate("ANN@example.org", ANN_PASSWORD).await.expect("logs in");
    let upgraded = ann_hash_in_file(&dir);
    assert!(upgraded.starts_with("$argon2id$v=19$"), "{upgraded}");
    assert_eq!(user.password_hash.as_deref(), Some(upgraded.as_str()));
    let reopened = JsonUserStore::open(dir.file("users.json")).expect("reopens");
    let stored = reopened.find_by_login("ann").await.expect("lookup").expect("ann");
    assert_eq!(stored.password_hash.as_deref(), Some(upgraded.as_str()));

    // The old password still works (now against argon2id, with no further rehash); a wrong one
    // does not, and neither rewrites the file.
    login.authenticate("ann", ANN_PASSWORD).await.expect("logs in again");
    assert_eq!(ann_hash_in_file(&dir), upgraded);
    assert!(matches!(
        login.authenticate("ann", "correct horse batter").await,
        Err(LoginError::InvalidCredentials)
    ));
    assert_eq!(ann_hash_in_file(&dir), upgraded);
    drop(store);
}

/// Calls the route of `api` that matches the request's path, as an adapter does.
async fn call(api: &Api, request: http::Request<Bytes>) -> ApiResponse {
    let (head, body) = request.into_parts();
    let index = api
        .routes()
        .iter()
        .position(|route| route.match_path(head.uri.path()).is_some())
        .expect("a route for the path");
    api.call(index, head, RequestBody::Complete(body)).await
}

fn token_request(username: &str, password: &str) -> http::Request<Bytes> {
    let body = serde_json::json!({"username": username, "password": password}).to_string();
    http::Request::post(TOKEN_AUTH_PATH)
        .header("content-type", "application/json")
        .body(Bytes::from(body))
        .expect("request")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_amcr_login_upgrades_a_legacy_hash() {
    let (dir, store, _) = legacy_fixture().await;
    let services =
        Services::new(store, Arc::new(MemoryTokenStore::new()), Arc::new(MemoryCounterStore::new()))
            .expect("services")
            .with_passwords(PasswordService::new(Arc::new(fast_hasher())));
    let api = Amcr::new(services, AmcrConfig::default()).api();

    let refused = call(&api, token_request("ann", "wrong password")).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(ann_hash_in_file(&dir), ANN_LEGACY);

    let accepted = call(&api, token_request("ann", ANN_PASSWORD)).await;
    assert_eq!(accepted.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(accepted.body()).expect("JSON");
    assert!(body["token"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    assert!(ann_hash_in_file(&dir).starts_with("$argon2id$"));
    assert_eq!(call(&api, token_request("ann", ANN_PASSWORD)).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sample_users_log_in_with_their_documented_passwords() {
    // The sample file is copied: logging in rewrites the file.
    let dir = TempDir::new();
    let path = dir.file("users.json");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/users.json"), &path).expect("copy");
    let store = Arc::new(JsonUserStore::open(&path).expect("sample"));
    let login = Authenticator::new(store, PasswordService::new(Arc::new(fast_hasher())));
    for (name, password) in [("ann", "correct horse battery"), ("bob", "battery staple horse")] {
        login.authenticate(name, password).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(login.authenticate(name, "wrong password").await.is_err(), "{name}");
    }
    let hashes: Vec<_> =
        file_users(&path).iter().map(|u| u["password_hash"].as_str().map(str::to_owned)).collect();
    assert!(hashes.iter().all(|h| h.as_deref().is_some_and(|h| h.starts_with("$argon2id$"))), "{hashes:?}");
}
