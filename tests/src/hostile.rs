//! Tools for the hostile-input suite (`tests/tests/hostile_*.rs`): forging JWTs, checking that an
//! answer leaks nothing about the server's internals, checking that a refused request stored
//! nothing, and talking raw HTTP/1.1 for requests `reqwest` will not send.
//!
//! ```
//! use authmount_conformance::hostile::{FIXTURE_JWT_SECRET, Jwt};
//! use serde_json::json;
//!
//! let token = Jwt::new(json!({"alg": "HS256", "typ": "JWT"}), json!({"user_id": 1})).signed(FIXTURE_JWT_SECRET);
//! let parsed = Jwt::parse(&token).expect("three segments of base64url JSON");
//! assert_eq!(parsed.payload["user_id"], 1);
//! assert_eq!(parsed.signed(FIXTURE_JWT_SECRET), token);
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::client::Response;
use crate::fixture::Fixture;

/// The HS256 secret the fixture's Meldeschein and miniSASS dialects sign with (kid `k1`). Kept in
/// step with `fixture.rs` by [`Jwt`]'s control cases: a token re-signed with it must be accepted.
pub const FIXTURE_JWT_SECRET: &[u8] = b"conformance-suite-secret-of-32-bytes!";

/// The public half of the core's RSA test key, in PEM: what an attacker would use as an HMAC
/// secret in an HS/RS algorithm-confusion attack.
pub const RSA_PUBLIC_PEM: &[u8] = include_bytes!("../../core/src/token/testdata/rsa_public.pem");

/// Base64url without padding, as JWT segments are written.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// A JWT taken apart: header and payload as JSON, re-assembled with any signature.
#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    /// The JOSE header.
    pub header: Value,
    /// The claims.
    pub payload: Value,
}

impl Jwt {
    /// A token from its header and payload.
    pub fn new(header: Value, payload: Value) -> Self {
        Self { header, payload }
    }

    /// Reads a compact JWT (`header.payload.signature`); `None` unless both first segments are
    /// base64url JSON.
    pub fn parse(token: &str) -> Option<Self> {
        let mut segments = token.split('.');
        let mut json = || -> Option<Value> {
            let bytes = URL_SAFE_NO_PAD.decode(segments.next()?).ok()?;
            serde_json::from_slice(&bytes).ok()
        };
        Some(Self { header: json()?, payload: json()? })
    }

    /// `base64url(header).base64url(payload)`: the signed message.
    pub fn message(&self) -> String {
        format!(
            "{}.{}",
            b64url(self.header.to_string().as_bytes()),
            b64url(self.payload.to_string().as_bytes())
        )
    }

    /// The token with an HS256 signature under `secret` (whatever the header's `alg` says).
    pub fn signed(&self, secret: &[u8]) -> String {
        let message = self.message();
        let signature = hmac_sha256(secret, message.as_bytes());
        format!("{message}.{}", b64url(&signature))
    }

    /// The token with an empty signature segment (`header.payload.`), as `alg: none` tokens are.
    pub fn unsigned(&self) -> String {
        format!("{}.", self.message())
    }

    /// A copy with a header parameter set.
    pub fn with_header(&self, name: &str, value: impl Into<Value>) -> Self {
        let mut copy = self.clone();
        copy.header[name] = value.into();
        copy
    }

    /// A copy with a claim set.
    pub fn with_claim(&self, name: &str, value: impl Into<Value>) -> Self {
        let mut copy = self.clone();
        copy.payload[name] = value.into();
        copy
    }

    /// A copy without a claim.
    pub fn without_claim(&self, name: &str) -> Self {
        let mut copy = self.clone();
        if let Some(map) = copy.payload.as_object_mut() {
            map.remove(name);
        }
        copy
    }
}

/// Fragments that betray internals: panics, Rust type paths, source paths, SQL, stack traces,
/// the contents of local files.
pub const LEAKS: [&str; 20] = [
    "panicked",
    "backtrace",
    "stack backtrace",
    "RUST_BACKTRACE",
    "serde_json",
    "serde::",
    "quick_xml",
    "multer",
    "jsonwebtoken",
    "authmount::",
    "std::",
    "Error {",
    "Error(",
    ".rs:",
    "/src/",
    "/home/",
    "root:x:0:0",
    "SELECT ",
    "sqlx",
    "Traceback",
];

/// Asserts that a response's body names no internals ([`LEAKS`]) and that the server did not fail
/// (no 5xx: client input must never be a server error).
#[track_caller]
pub fn assert_no_leak(response: &Response) {
    let body = response.text();
    assert!(response.status < 500, "a server error for client input: {} {body}", response.status);
    for leak in LEAKS {
        assert!(!body.contains(leak), "the body leaks {leak:?}: {body}");
    }
}

/// Asserts a 401 that leaks nothing and carries a challenge.
#[track_caller]
pub fn assert_refused_401(response: &Response) {
    response.assert_status(401);
    assert!(response.has_header("www-authenticate"), "a 401 without WWW-Authenticate");
    assert_no_leak(response);
}

/// How many users the fixture creates.
pub const FIXTURE_USERS: u64 = 3;

/// How many token-store records (tokens, sessions, reset tokens, revocations) the fixture holds.
///
/// The store cannot be listed, so this moves the fixture's clock past every lifetime the
/// dialects use (400 days) and counts what [`purge_expired`] removes: call it last in a case.
///
/// [`purge_expired`]: authmount::store::TokenStore::purge_expired
pub async fn token_records(fixture: &Fixture) -> u64 {
    fixture.advance(Duration::from_secs(400 * 86_400));
    fixture.services.tokens.purge_expired().await.expect("the memory store purges")
}

/// Asserts that the user store holds exactly the fixture's users, unchanged: no new account
/// (ann, ivan and demo: [`FIXTURE_USERS`]) and ann's record (password, flags, groups) as
/// it was.
pub async fn assert_users_untouched(fixture: &Fixture) {
    let users = &fixture.services.users;
    let all = users.list(&authmount::store::UserQuery::new(0, 100)).await.expect("store");
    assert_eq!(all.total, FIXTURE_USERS, "no user was created");
    let ann = users.get(fixture.ann.id).await.expect("store").expect("ann");
    assert!(ann == fixture.ann, "ann's record changed");
    let ivan = users.get(fixture.ivan.id).await.expect("store").expect("ivan");
    assert!(ivan == fixture.ivan, "ivan's record changed");
}

/// What a raw exchange got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawOutcome {
    /// A status line arrived: the status and everything read (head and as much body as came).
    Answered(u16, String),
    /// The server closed the connection without answering.
    Closed,
    /// Nothing arrived within the wait.
    Silent,
}

/// Writes `first`, waits `pause`, writes `then` (if any), and reads the answer for at most
/// `wait` (counted from the first write) on a fresh connection to `base` (`http://host:port`).
/// Blocking: call it from `tokio::task::spawn_blocking`.
pub fn raw_exchange(
    base: &str,
    first: &[u8],
    pause: Duration,
    then: Option<&[u8]>,
    wait: Duration,
) -> RawOutcome {
    let address = base.trim_start_matches("http://");
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).expect("the server listens");
    stream.set_nodelay(true).expect("nodelay");
    if stream.write_all(first).is_err() {
        return RawOutcome::Closed;
    }
    if let Some(then) = then {
        std::thread::sleep(pause);
        // The server may already have answered and closed: that is an outcome, not a failure.
        let _ = stream.write_all(then);
    }
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = wait.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        stream.set_read_timeout(Some(left)).expect("timeout");
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                received.extend_from_slice(&buffer[..n]);
                if head_and_body_complete(&received) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&received).into_owned();
    match text.strip_prefix("HTTP/1.1 ").and_then(|rest| rest.get(..3)).and_then(|code| code.parse().ok()) {
        Some(status) => RawOutcome::Answered(status, text),
        None if received.is_empty() && started.elapsed() < wait => RawOutcome::Closed,
        None => RawOutcome::Silent,
    }
}

/// Whether `received` holds a whole response head and a body of its `content-length`.
fn head_and_body_complete(received: &[u8]) -> bool {
    let text = String::from_utf8_lossy(received);
    let Some(end) = text.find("\r\n\r\n") else {
        return false;
    };
    let length = text[..end]
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    received.len() >= end + 4 + length
}
