//! An app adds a carrier of its own ([`CustomCarrier`]): its tokens authenticate through a
//! guard and a gate like any carrier's, "absent" passes on to the next carrier, "malformed" is
//! refused, an ambient (cookie-like) one gets the cross-site check, and a multi-dialect guard
//! merges it like the built-in ones.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use authmount::api::{ApiError, ApiResponse, AuthState, ErrorRenderer, Gate, Origin, Reply};
use authmount::carrier::{Carrier, CarrierKind, CustomCarrier, Found, MalformedCredentials};
use authmount::guard::{Guard, OpaqueVerifier, Rejection, TokenVerifier};
use authmount::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
use authmount::token::TokenHash;
use authmount::user::UserId;
use http::request::Parts;

/// `Authorization: Signature keyId="<token>"`: a header syntax none of the built-in carriers reads.
#[derive(Debug)]
struct SignatureKeyId {
    ambient: bool,
}

impl std::fmt::Display for SignatureKeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authorization: Signature keyId")
    }
}

impl CustomCarrier for SignatureKeyId {
    fn find<'r>(&self, head: &'r Parts) -> Found<'r> {
        let Some(value) = head.headers.get(http::header::AUTHORIZATION) else { return Found::Absent };
        let Ok(value) = value.to_str() else {
            return Found::Malformed(MalformedCredentials::InvalidCharacters);
        };
        let Some(rest) = value.strip_prefix("Signature ") else { return Found::Absent };
        match rest.strip_prefix("keyId=\"").and_then(|rest| rest.strip_suffix('"')) {
            Some(token) => Found::token(token),
            None => Found::Malformed(MalformedCredentials::MissingToken),
        }
    }

    fn kind(&self) -> CarrierKind {
        if self.ambient { CarrierKind::Cookie } else { CarrierKind::Authorization }
    }
}

struct StatusOnly;

impl ErrorRenderer for StatusOnly {
    fn render(&self, error: &ApiError, _head: &Parts) -> ApiResponse {
        Reply::empty(error.status()).into_response()
    }
}

async fn verifier() -> Arc<dyn TokenVerifier> {
    let tokens = Arc::new(MemoryTokenStore::new());
    let record =
        TokenRecord::new(TokenKind::Access, UserId(7), "app", SystemTime::now(), Duration::from_secs(60));
    tokens.put(TokenHash::of("key-7"), record).await.expect("stored");
    Arc::new(OpaqueVerifier::new(tokens, TokenKind::Access, "app"))
}

fn head(method: &str, headers: &[(&str, &str)]) -> Parts {
    let mut request = http::Request::builder().method(method).uri("/app/thing");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(()).expect("request").into_parts().0
}

#[tokio::test]
async fn an_app_carrier_authenticates_and_passes_on_when_absent() {
    let verifier = verifier().await;
    let guard = Guard::new()
        .with_shared(Carrier::custom(SignatureKeyId { ambient: false }), verifier.clone())
        .with_shared(Carrier::bearer(), verifier);
    assert_eq!(format!("{guard:?}"), r#"["Authorization: Signature keyId", "Authorization: Bearer"]"#);

    let signed = head("GET", &[("authorization", r#"Signature keyId="key-7""#)]);
    let identity = guard.authenticate(&signed).await.expect("authenticated");
    assert_eq!((identity.user_id, identity.carrier), (UserId(7), CarrierKind::Authorization));

    let bearer = head("GET", &[("authorization", "Bearer key-7")]);
    assert_eq!(guard.authenticate(&bearer).await.expect("the next carrier").user_id, UserId(7));

    let broken = head("GET", &[("authorization", "Signature algorithm=hs2019")]);
    assert!(matches!(
        guard.authenticate(&broken).await,
        Err(Rejection::Malformed(MalformedCredentials::MissingToken))
    ));
    let spaced = head("GET", &[("authorization", r#"Signature keyId="key 7""#)]);
    assert!(matches!(
        guard.authenticate(&spaced).await,
        Err(Rejection::Malformed(MalformedCredentials::InvalidCharacters))
    ));
    let unknown = head("GET", &[("authorization", r#"Signature keyId="nope""#)]);
    assert!(matches!(guard.authenticate(&unknown).await, Err(Rejection::Invalid(_))));
    assert!(matches!(guard.authenticate(&head("GET", &[])).await, Err(Rejection::NotProvided)));
}

#[tokio::test]
async fn an_ambient_app_carrier_gets_the_cross_site_check() {
    let guard = Guard::new().with_shared(Carrier::custom(SignatureKeyId { ambient: true }), verifier().await);
    let trusted: Origin = "https://partner.example.org".parse().expect("origin");
    let gate = Gate::new(guard, Arc::new(StatusOnly)).with_cross_site_protection([trusted]);
    let credential = ("authorization", r#"Signature keyId="key-7""#);
    let from = |origin| head("POST", &[credential, ("host", "example.org"), ("origin", origin)]);
    assert!(matches!(gate.check(&from("https://example.org")).await, AuthState::Authenticated(_)));
    assert!(matches!(gate.check(&from("https://partner.example.org")).await, AuthState::Authenticated(_)));
    let AuthState::Denied(denial) = gate.check(&from("https://evil.example")).await else { panic!("passed") };
    assert_eq!(denial.status(), 403);
}

#[tokio::test]
async fn a_merged_guard_keeps_one_place_per_app_carrier() {
    let verifier = verifier().await;
    let carrier = Carrier::custom(SignatureKeyId { ambient: false });
    assert_eq!(carrier, carrier.clone(), "the same carrier");
    assert_ne!(carrier, Carrier::custom(SignatureKeyId { ambient: false }), "another value");
    let guard = Guard::merged([
        (carrier.clone(), verifier.clone()),
        (Carrier::bearer(), verifier.clone()),
        (carrier, verifier),
    ]);
    assert_eq!(guard.carriers().count(), 2);
    let signed = head("GET", &[("authorization", r#"Signature keyId="key-7""#)]);
    assert_eq!(guard.authenticate(&signed).await.expect("authenticated").user_id, UserId(7));
}
