//! Carriers: where a token travels in a request.
//!
//! The documented APIs put their tokens in different places: `Authorization: Bearer <t>` (AMCR,
//! miniSASS), `Authorization: JWT <t>` (Meldeschein), a named header (Oz's
//! `X-Forensic-Access-Token`), a query parameter (tDAR's `?session.tokenkey=`, Meldeschein's
//! optional `?jwt=`) or a cookie (tDAR's session). A [`Carrier`] finds the token in one of them and
//! tells "no token here" ([`Found::Absent`]: try the next carrier) from "a token is here but the
//! header is broken" ([`Found::Malformed`]: refuse).

use std::borrow::Cow;
use std::fmt;

use cookie::Cookie;
use http::header::{AUTHORIZATION, COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderName};
use percent_encoding::percent_decode_str;

/// The longest token a carrier hands on. Longer values are refused before any parsing or
/// hashing: no token this library issues is near it, and it bounds the work a request can cause.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Where a token travels. Built once at start-up and shared.
///
/// ```
/// use authmount::carrier::{Carrier, Found};
/// let request = http::Request::get("/").header("authorization", "bearer abc").body(()).unwrap();
/// let (parts, ()) = request.into_parts();
/// assert_eq!(Carrier::bearer().find(&parts), Found::Token("abc".into()));
/// assert_eq!(Carrier::authorization("JWT", false).find(&parts), Found::Absent);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carrier {
    /// `Authorization: <scheme> <token>`.
    Authorization {
        /// The scheme keyword, e.g. `Bearer` or `JWT`.
        scheme: Cow<'static, str>,
        /// Whether the keyword must match in case (SimpleJWT: yes; DRF's TokenAuthentication and
        /// djangorestframework-jwt: no).
        case_sensitive: bool,
    },
    /// A header of its own holding only the token, e.g. `X-Forensic-Access-Token`.
    Header(HeaderName),
    /// A query-string parameter. Opt-in: URLs end up in logs and `Referer` headers.
    Query(Cow<'static, str>),
    /// A cookie.
    Cookie(Cow<'static, str>),
}

/// Which kind of carrier a token came in, recorded on the identity (cookie-borne credentials get
/// cross-site request checks that header-borne ones do not need).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CarrierKind {
    /// The `Authorization` header.
    Authorization,
    /// A named header.
    Header,
    /// A query parameter.
    Query,
    /// A cookie.
    Cookie,
}

/// What a carrier found in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<'r> {
    /// No token in this carrier: the next carrier may have one.
    Absent,
    /// A token, as presented.
    Token(Cow<'r, str>),
    /// This carrier is in use but broken: the request must be refused as invalid.
    Malformed(MalformedCredentials),
}

/// Why a present credential could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedCredentials {
    /// `Authorization: <scheme>` with nothing after the scheme.
    #[error("Invalid token header. No credentials provided.")]
    MissingToken,
    /// `Authorization: <scheme> a b`: more than one value after the scheme.
    #[error("Invalid token header. Token string should not contain spaces.")]
    ContainsSpaces,
    /// Bytes outside visible ASCII, or a query value that does not decode to UTF-8.
    #[error("Invalid token header. Token string should not contain invalid characters.")]
    InvalidCharacters,
    /// The same header, parameter or cookie more than once: ambiguous, so refused.
    #[error("Invalid token header. The credential is given more than once.")]
    Repeated,
    /// Longer than [`MAX_TOKEN_BYTES`].
    #[error("Invalid token header. Token string is too long.")]
    TooLong,
}

impl Carrier {
    /// `Authorization: Bearer <token>`, keyword in any case (as DRF's token authentication).
    pub fn bearer() -> Self {
        Self::authorization("Bearer", false)
    }

    /// `Authorization: <scheme> <token>`.
    pub fn authorization(scheme: impl Into<Cow<'static, str>>, case_sensitive: bool) -> Self {
        Self::Authorization { scheme: scheme.into(), case_sensitive }
    }

    /// A header of its own. The name must be a valid header name.
    ///
    /// ```
    /// let carrier = authmount::carrier::Carrier::header(http::HeaderName::from_static("x-forensic-access-token"));
    /// # let _ = carrier;
    /// ```
    pub fn header(name: HeaderName) -> Self {
        Self::Header(name)
    }

    /// A query parameter.
    pub fn query(name: impl Into<Cow<'static, str>>) -> Self {
        Self::Query(name.into())
    }

    /// A cookie.
    pub fn cookie(name: impl Into<Cow<'static, str>>) -> Self {
        Self::Cookie(name.into())
    }

    /// The kind of this carrier.
    pub fn kind(&self) -> CarrierKind {
        match self {
            Self::Authorization { .. } => CarrierKind::Authorization,
            Self::Header(_) => CarrierKind::Header,
            Self::Query(_) => CarrierKind::Query,
            Self::Cookie(_) => CarrierKind::Cookie,
        }
    }

    /// Looks for the token in a request's head.
    pub fn find<'r>(&self, parts: &'r Parts) -> Found<'r> {
        match self {
            Self::Authorization { scheme, case_sensitive } => {
                find_in_authorization(&parts.headers, scheme, *case_sensitive)
            }
            Self::Header(name) => find_in_header(&parts.headers, name),
            Self::Query(name) => find_in_query(parts.uri.query(), name),
            Self::Cookie(name) => find_in_cookies(&parts.headers, name),
        }
    }
}

impl fmt::Display for Carrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Authorization { scheme, .. } => write!(f, "Authorization: {scheme}"),
            Self::Header(name) => write!(f, "header {name}"),
            Self::Query(name) => write!(f, "query parameter {name}"),
            Self::Cookie(name) => write!(f, "cookie {name}"),
        }
    }
}

/// Visible ASCII only: what every token this library issues is made of.
fn is_token_text(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_graphic())
}

fn checked(token: Cow<'_, str>) -> Found<'_> {
    if token.len() > MAX_TOKEN_BYTES {
        Found::Malformed(MalformedCredentials::TooLong)
    } else if !is_token_text(&token) {
        Found::Malformed(MalformedCredentials::InvalidCharacters)
    } else {
        Found::Token(token)
    }
}

/// The one value of a header, `Err` when it is repeated.
fn single<'r>(headers: &'r HeaderMap, name: &HeaderName) -> Result<Option<&'r [u8]>, MalformedCredentials> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(MalformedCredentials::Repeated);
    }
    Ok(first.map(|v| v.as_bytes()))
}

fn find_in_authorization<'r>(headers: &'r HeaderMap, scheme: &str, case_sensitive: bool) -> Found<'r> {
    let value = match single(headers, &AUTHORIZATION) {
        Ok(Some(value)) => value,
        Ok(None) => return Found::Absent,
        Err(repeated) => return Found::Malformed(repeated),
    };
    let mut words = value.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty());
    let Some(keyword) = words.next() else {
        return Found::Absent;
    };
    let matches = if case_sensitive {
        keyword == scheme.as_bytes()
    } else {
        keyword.eq_ignore_ascii_case(scheme.as_bytes())
    };
    if !matches {
        return Found::Absent;
    }
    let Some(token) = words.next() else {
        return Found::Malformed(MalformedCredentials::MissingToken);
    };
    if words.next().is_some() {
        return Found::Malformed(MalformedCredentials::ContainsSpaces);
    }
    match std::str::from_utf8(token) {
        Ok(token) => checked(Cow::Borrowed(token)),
        Err(_) => Found::Malformed(MalformedCredentials::InvalidCharacters),
    }
}

fn find_in_header<'r>(headers: &'r HeaderMap, name: &HeaderName) -> Found<'r> {
    match single(headers, name) {
        Ok(None) => Found::Absent,
        Ok(Some(value)) if value.iter().all(u8::is_ascii_whitespace) => Found::Absent,
        Ok(Some(value)) => match std::str::from_utf8(value) {
            Ok(token) => checked(Cow::Borrowed(token.trim_matches(|c: char| c.is_ascii_whitespace()))),
            Err(_) => Found::Malformed(MalformedCredentials::InvalidCharacters),
        },
        Err(repeated) => Found::Malformed(repeated),
    }
}

fn find_in_query<'r>(query: Option<&'r str>, name: &str) -> Found<'r> {
    let mut found: Option<&'r str> = None;
    for pair in query.unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if decode_query_component(key).as_deref() != Some(name) {
            continue;
        }
        if found.is_some() {
            return Found::Malformed(MalformedCredentials::Repeated);
        }
        found = Some(value);
    }
    match found {
        None | Some("") => Found::Absent,
        Some(raw) => match decode_query_component(raw) {
            Some(token) => checked(token),
            None => Found::Malformed(MalformedCredentials::InvalidCharacters),
        },
    }
}

/// Decodes `+` and percent escapes; `None` when the result is not UTF-8.
fn decode_query_component(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.contains(['+', '%']) {
        return Some(Cow::Borrowed(raw));
    }
    let spaced = raw.replace('+', " ");
    let decoded = percent_decode_str(&spaced).decode_utf8().ok()?;
    Some(Cow::Owned(decoded.into_owned()))
}

fn find_in_cookies<'r>(headers: &'r HeaderMap, name: &str) -> Found<'r> {
    let mut found: Option<&'r str> = None;
    for header in headers.get_all(COOKIE) {
        let Ok(header) = header.to_str() else {
            continue;
        };
        // Pairs without a name or without `=` are skipped. Parsed from a borrowed string and not
        // percent-decoded, a cookie's raw value is a slice of the header (no copy).
        for cookie in Cookie::split_parse(header).flatten() {
            if cookie.name() != name {
                continue;
            }
            if found.is_some() {
                return Found::Malformed(MalformedCredentials::Repeated);
            }
            found = Some(cookie.value_raw().unwrap_or_default().trim_matches('"'));
        }
    }
    match found {
        None | Some("") => Found::Absent,
        Some(token) => checked(Cow::Borrowed(token)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(build: impl FnOnce(http::request::Builder) -> http::request::Builder) -> Parts {
        build(http::Request::get("/")).body(()).expect("valid request").into_parts().0
    }

    fn with_auth(values: &[&[u8]]) -> Parts {
        parts(|mut b| {
            for v in values {
                b = b.header(AUTHORIZATION, http::HeaderValue::from_bytes(v).expect("valid header"));
            }
            b
        })
    }

    fn token(s: &str) -> Found<'_> {
        Found::Token(Cow::Borrowed(s))
    }

    #[test]
    fn bearer_keyword_is_case_insensitive_and_whitespace_tolerant() {
        for header in [&b"Bearer abc"[..], b"bearer abc", b"BEARER  abc", b"Bearer\tabc "] {
            assert_eq!(Carrier::bearer().find(&with_auth(&[header])), token("abc"), "{header:?}");
        }
    }

    #[test]
    fn case_sensitive_scheme_ignores_other_casings() {
        let carrier = Carrier::authorization("Bearer", true);
        assert_eq!(carrier.find(&with_auth(&[b"bearer abc"])), Found::Absent);
        assert_eq!(carrier.find(&with_auth(&[b"Bearer abc"])), token("abc"));
    }

    #[test]
    fn other_or_empty_schemes_are_absent_not_invalid() {
        let jwt = Carrier::authorization("JWT", false);
        for header in [&b"Bearer abc"[..], b"Basic YTpi", b"", b"   ", b"JWTabc"] {
            assert_eq!(jwt.find(&with_auth(&[header])), Found::Absent, "{header:?}");
        }
        assert_eq!(jwt.find(&parts(|b| b)), Found::Absent);
    }

    #[test]
    fn broken_authorization_headers_are_malformed() {
        let jwt = Carrier::authorization("JWT", false);
        let cases: [(&[u8], MalformedCredentials); 4] = [
            (b"JWT", MalformedCredentials::MissingToken),
            (b"JWT   ", MalformedCredentials::MissingToken),
            (b"JWT a b", MalformedCredentials::ContainsSpaces),
            (b"JWT a\xffb", MalformedCredentials::InvalidCharacters),
        ];
        for (header, expected) in cases {
            assert_eq!(jwt.find(&with_auth(&[header])), Found::Malformed(expected), "{header:?}");
        }
    }

    #[test]
    fn two_authorization_headers_are_refused() {
        let request = with_auth(&[b"Bearer a", b"Bearer b"]);
        assert_eq!(Carrier::bearer().find(&request), Found::Malformed(MalformedCredentials::Repeated));
    }

    #[test]
    fn oversized_tokens_are_refused_before_use() {
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        let request = with_auth(&[long.as_bytes()]);
        assert_eq!(Carrier::bearer().find(&request), Found::Malformed(MalformedCredentials::TooLong));
        let exact = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES));
        assert!(matches!(Carrier::bearer().find(&with_auth(&[exact.as_bytes()])), Found::Token(_)));
    }

    #[test]
    fn named_header() {
        let carrier = Carrier::header(HeaderName::from_static("x-forensic-access-token"));
        let request = parts(|b| b.header("X-Forensic-Access-Token", " tok "));
        assert_eq!(carrier.find(&request), token("tok"));
        assert_eq!(carrier.find(&parts(|b| b.header("x-forensic-access-token", ""))), Found::Absent);
        let twice =
            parts(|b| b.header("x-forensic-access-token", "a").header("x-forensic-access-token", "b"));
        assert_eq!(carrier.find(&twice), Found::Malformed(MalformedCredentials::Repeated));
        let spaced = parts(|b| b.header("x-forensic-access-token", "a b"));
        assert_eq!(carrier.find(&spaced), Found::Malformed(MalformedCredentials::InvalidCharacters));
    }

    #[test]
    fn query_parameter() {
        let carrier = Carrier::query("session.tokenkey");
        let at = |uri: &str| http::Request::get(uri).body(()).expect("valid uri").into_parts().0;
        assert_eq!(carrier.find(&at("/x?a=1&session.tokenkey=abc")), token("abc"));
        assert_eq!(carrier.find(&at("/x?session%2Etokenkey=a%2Db")), Found::Token(Cow::Owned("a-b".into())));
        assert_eq!(carrier.find(&at("/x?session.tokenkeyx=abc")), Found::Absent);
        assert_eq!(carrier.find(&at("/x?session.tokenkey=")), Found::Absent);
        assert_eq!(carrier.find(&at("/x")), Found::Absent);
        assert_eq!(
            carrier.find(&at("/x?session.tokenkey=a&session.tokenkey=b")),
            Found::Malformed(MalformedCredentials::Repeated)
        );
        assert_eq!(
            carrier.find(&at("/x?session.tokenkey=%FF")),
            Found::Malformed(MalformedCredentials::InvalidCharacters)
        );
        assert_eq!(
            carrier.find(&at("/x?session.tokenkey=a+b")),
            Found::Malformed(MalformedCredentials::InvalidCharacters)
        );
    }

    #[test]
    fn cookie() {
        let carrier = Carrier::cookie("crowd.token_key");
        let with = |v: &'static str| parts(|b| b.header(COOKIE, v));
        assert_eq!(carrier.find(&with("a=1; crowd.token_key=tok; b=2")), token("tok"));
        assert_eq!(carrier.find(&with("crowd.token_key=\"tok\"")), token("tok"));
        assert_eq!(carrier.find(&with("other=tok")), Found::Absent);
        assert_eq!(
            carrier.find(&with("crowd.token_key=a; crowd.token_key=b")),
            Found::Malformed(MalformedCredentials::Repeated)
        );
        let split = parts(|b| b.header(COOKIE, "crowd.token_key=a").header(COOKIE, "crowd.token_key=b"));
        assert_eq!(carrier.find(&split), Found::Malformed(MalformedCredentials::Repeated));
    }

    // Hostile-input properties: arbitrary header values, cookies and query strings for every
    // carrier, and arbitrary strings through a guard with each verifier.

    use std::sync::{Arc, OnceLock};
    use std::time::Duration;

    use proptest::prelude::*;

    use crate::clock::ManualClock;
    use crate::guard::{Guard, JwtVerifier, OpaqueVerifier};
    use crate::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
    use crate::token::TokenHash;
    use crate::token::jwt::{JwtKey, JwtService, KeyRing, TokenType};
    use crate::user::UserId;

    fn every_carrier() -> [Carrier; 7] {
        [
            Carrier::bearer(),
            Carrier::authorization("Bearer", true),
            Carrier::authorization("JWT", false),
            Carrier::header(HeaderName::from_static("x-forensic-access-token")),
            Carrier::query("session.tokenkey"),
            Carrier::query("jwt"),
            Carrier::cookie("session.tokenkey"),
        ]
    }

    /// What a carrier may hand on: visible ASCII, at most [`MAX_TOKEN_BYTES`], never empty.
    fn assert_sane(found: &Found<'_>) -> Result<(), TestCaseError> {
        if let Found::Token(token) = found {
            prop_assert!(!token.is_empty());
            prop_assert!(token.len() <= MAX_TOKEN_BYTES);
            prop_assert!(token.bytes().all(|b| b.is_ascii_graphic()), "{token:?}");
        }
        Ok(())
    }

    /// Header bytes as a server may receive them: anything but CR, LF and NUL, biased to the
    /// carriers' syntax.
    fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            any::<u8>()
                .prop_filter("not a line end", |b| !matches!(b, b'\r' | b'\n' | 0))
                .prop_map(|b| vec![b]),
            proptest::sample::select(vec![
                &b"Bearer "[..],
                b"bearer",
                b"JWT ",
                b"jwt",
                b" ",
                b"\t",
                b";",
                b"=",
                b"\"",
                b"session.tokenkey=",
                b"%",
                b"+",
                b"\xff",
                b"\xc3\xa9",
                b"eyJhbGciOiJub25lIn0.",
            ])
            .prop_map(<[u8]>::to_vec),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_header_values_never_panic_in_any_carrier(
            values in proptest::collection::vec(header_bytes(), 1..3),
            name in proptest::sample::select(vec!["authorization", "x-forensic-access-token", "cookie"]),
        ) {
            let mut builder = http::Request::get("/");
            for value in &values {
                if let Ok(value) = http::HeaderValue::from_bytes(value) {
                    builder = builder.header(name, value);
                }
            }
            let (head, ()) = builder.body(()).expect("valid request").into_parts();
            for carrier in every_carrier() {
                assert_sane(&carrier.find(&head))?;
            }
        }

        #[test]
        fn arbitrary_query_strings_never_panic_in_any_carrier(query in "[ -~]{0,120}") {
            let Ok(uri) = format!("/x?{query}").parse::<http::Uri>() else {
                return Ok(());
            };
            let (head, ()) = http::Request::get(uri).body(()).expect("valid request").into_parts();
            for carrier in every_carrier() {
                assert_sane(&carrier.find(&head))?;
            }
        }

        #[test]
        fn oversized_values_are_never_handed_on(extra in 1usize..64, carrier in 0..7usize) {
            let long = "a".repeat(MAX_TOKEN_BYTES + extra);
            let (head, ()) = http::Request::get(format!("/x?session.tokenkey={long}&jwt={long}"))
                .header(AUTHORIZATION, format!("Bearer {long}"))
                .header("x-forensic-access-token", long.as_str())
                .header(COOKIE, format!("session.tokenkey={long}"))
                .body(())
                .expect("valid request")
                .into_parts();
            let carriers = every_carrier();
            let found = carriers[carrier].find(&head);
            let refused = found == Found::Malformed(MalformedCredentials::TooLong)
                || (carrier == 2 && found == Found::Absent);
            prop_assert!(refused, "{found:?}");
        }
    }

    /// A guard over an opaque store holding one live token, and one over a JWT service, with
    /// the real token of each; built once.
    struct Guards {
        runtime: tokio::runtime::Runtime,
        opaque: Guard,
        jwt: Guard,
        opaque_token: &'static str,
        jwt_token: String,
    }

    fn guards() -> &'static Guards {
        static GUARDS: OnceLock<Guards> = OnceLock::new();
        GUARDS.get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
            let clock = ManualClock::at_unix(1_750_000_000);
            let store = Arc::new(MemoryTokenStore::with_clock(Arc::new(clock.clone())));
            let opaque_token = "the-one-real-opaque-token-0123456789abcdef";
            let record = TokenRecord::new(
                TokenKind::Access,
                UserId(1),
                "amcr",
                crate::clock::from_unix_seconds(1_750_000_000),
                Duration::from_secs(86_400),
            );
            runtime.block_on(store.put(TokenHash::of(opaque_token), record)).expect("stored");
            let opaque = Guard::new()
                .with(Carrier::bearer(), OpaqueVerifier::new(store.clone(), TokenKind::Access, "amcr"))
                .with(Carrier::cookie("sid"), OpaqueVerifier::new(store.clone(), TokenKind::Access, "amcr"));
            let ring = KeyRing::new("k1", JwtKey::hs256(&[42u8; 32]).expect("key")).expect("ring");
            let service = JwtService::new(ring, Arc::new(clock)).with_audience("api");
            let claims =
                service.new_claims(UserId(1), TokenType::Access, Duration::from_secs(300)).expect("claims");
            let jwt_token = service.sign(&claims).expect("signed");
            let verifier = JwtVerifier::new(service, TokenType::Access).with_revocations(store);
            let jwt = Guard::new().with(Carrier::authorization("JWT", false), verifier);
            Guards { runtime, opaque, jwt, opaque_token, jwt_token }
        })
    }

    fn authenticates(guard: &Guard, header: (&str, &str)) -> bool {
        let Ok(value) = http::HeaderValue::from_str(header.1) else {
            return false;
        };
        let (head, ()) =
            http::Request::get("/").header(header.0, value).body(()).expect("valid").into_parts();
        guards().runtime.block_on(guard.authenticate(&head)).is_ok()
    }

    #[test]
    fn the_real_tokens_authenticate() {
        let g = guards();
        assert!(authenticates(&g.opaque, ("authorization", &format!("Bearer {}", g.opaque_token))));
        assert!(authenticates(&g.opaque, ("cookie", &format!("sid={}", g.opaque_token))));
        assert!(authenticates(&g.jwt, ("authorization", &format!("JWT {}", g.jwt_token))));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_strings_never_authenticate(token in "[!-~]{1,200}|\\PC{1,64}") {
            let g = guards();
            prop_assume!(token != g.opaque_token && token != g.jwt_token);
            let (bearer, cookie, jwt) = (format!("Bearer {token}"), format!("sid={token}"), format!("JWT {token}"));
            prop_assert!(!authenticates(&g.opaque, ("authorization", &bearer)));
            prop_assert!(!authenticates(&g.opaque, ("cookie", &cookie)));
            prop_assert!(!authenticates(&g.jwt, ("authorization", &jwt)));
        }

        #[test]
        fn jwt_shaped_strings_never_authenticate(
            header in "[A-Za-z0-9_-]{0,60}",
            payload in "[A-Za-z0-9_-]{0,120}",
            signature in "[A-Za-z0-9_-]{0,60}",
        ) {
            let g = guards();
            let token = format!("{header}.{payload}.{signature}");
            prop_assume!(token != g.jwt_token);
            let value = format!("JWT {token}");
            prop_assert!(!authenticates(&g.jwt, ("authorization", &value)));
        }

        #[test]
        fn one_changed_character_of_a_real_token_never_authenticates(
            index in 0usize..4096,
            replacement in proptest::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.".to_vec()),
        ) {
            let g = guards();
            for (guard, scheme, real) in [(&g.opaque, "Bearer", g.opaque_token), (&g.jwt, "JWT", g.jwt_token.as_str())] {
                let mut bytes = real.as_bytes().to_vec();
                let at = index % bytes.len();
                prop_assume!(bytes[at] != replacement);
                bytes[at] = replacement;
                let forged = String::from_utf8(bytes).expect("ascii");
                let value = format!("{scheme} {forged}");
                prop_assert!(!authenticates(guard, ("authorization", &value)), "{}", forged);
            }
        }
    }
}
